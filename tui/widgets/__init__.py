"""Widgets grouped by what they show; they render state, they never fetch."""
