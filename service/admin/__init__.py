"""Admin reports."""
