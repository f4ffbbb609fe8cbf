"""marketplaces."""
