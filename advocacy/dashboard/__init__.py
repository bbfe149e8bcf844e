"""The campaign dashboard: figures from counters, charts, the hex map and CSV exports."""
