"""Advisors: small pure rules over the fleet snapshot that say what is wasteful or risky."""
