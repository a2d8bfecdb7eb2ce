"""nfbst package."""
