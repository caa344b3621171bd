"""Text from the account (endpoint names, tags, failure reasons) made inert for display.

Control characters (C0, C1 and DEL) become `?`: an escape sequence in a tag could otherwise move
the cursor, recolour the terminal or plant a hyperlink (OSC 8) wherever the text is shown, in
the dashboard, the report table or a Markdown file read in a terminal. Markup and Markdown
escaping are each renderer's own business; this is the part they all share.
"""

from __future__ import annotations

import re

# Tabs and line breaks are kept: multi-line text (a failure reason) may be shown as lines.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CONTROL_AND_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def inert(untrusted: str, *, one_line: bool = False) -> str:
    """`untrusted` with control characters replaced by `?` (tabs and breaks too if `one_line`)."""
    pattern = CONTROL_AND_BREAKS if one_line else CONTROL_CHARACTERS
    return pattern.sub("?", untrusted)
