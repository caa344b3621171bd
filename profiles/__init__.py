"""ML profiles (MLOE-05): the current and target profile of each endpoint, maturity, files."""
