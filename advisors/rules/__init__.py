"""One module per advisor rule; `advisors.registry` lists them in the order they run."""
