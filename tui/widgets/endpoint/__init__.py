"""Widgets of the endpoint pane."""
