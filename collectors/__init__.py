"""Collectors: async pollers that ask AWS (read-only) and produce typed fleet snapshots."""
