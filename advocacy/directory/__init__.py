"""The MP directory and the postcode lookup service built on postcode_lookup."""
