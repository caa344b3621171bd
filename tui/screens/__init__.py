"""One module per view: fleet, endpoint, summary, help."""
