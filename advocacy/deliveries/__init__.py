"""Staff screens for campaigns with fixed targets: targets, schedule and bundles."""
