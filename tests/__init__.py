"""sagetop tests."""
