"""Widgets grouped by the area they serve; they render state, they never fetch.

`chrome` (header, status and problem lines) and `tables` (the keyboard-driven table) serve every
screen; `fleet/` the fleet screen, `endpoint/` the endpoint pane.
"""
