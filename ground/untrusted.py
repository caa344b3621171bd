"""Text from outside (the account, an endpoint URL's server, a hand-edited file) made inert.

Every string that did not come from sagetop itself passes `inert` before a terminal, a file or a
log sees it. What it neutralises:
* control characters (C0, C1, DEL): an escape sequence could move the cursor, clear the screen,
  recolour the terminal, plant a hyperlink (OSC 8) or overwrite the clipboard (OSC 52);
* invisible format characters: bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) that
  make text read backwards, zero-width characters (U+200B-U+200D, U+2060, U+FEFF), Unicode tag
  characters, line and paragraph separators, lone surrogates;
* in one-line text (error messages, table cells): line breaks and HTML pages (a proxy's or load
  balancer's error page in place of an AWS answer), and anything past a length bound.
Each of these becomes `?` (line breaks a space), so a reader sees that something was there.
Markup and Markdown escaping are each renderer's own business; this is the part they all share.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

# Cc, Cf, Zl, Zp and Cs of Unicode 15, except tab and line feed (multi-line text keeps those).
_INVISIBLE = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
UNSAFE = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
# One-line text: every kind of line break or tab becomes a space first.
_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")
_HTML_START = re.compile(r"<\s*(?:!doctype|html|head|body)\b", re.IGNORECASE)
_HTML_END = re.compile(r"</\s*html\s*>", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title[^>]{0,100}>(.{0,200}?)</title", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]{0,200}>")

# How much of a value an error message repeats: enough to recognise it, never a flood.
SHOWN_VALUE_CHARACTERS = 40
_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 2
_SHORT_REPR.maxdict = _SHORT_REPR.maxlist = _SHORT_REPR.maxtuple = _SHORT_REPR.maxset = 4
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = SHOWN_VALUE_CHARACTERS


def inert(untrusted: str, *, one_line: bool = False, limit: int | None = None) -> str:
    """`untrusted` safe to show: unsafe characters become `?`.

    With `one_line`, line breaks and tabs become single spaces and an HTML page is replaced by
    its title; with `limit`, text longer than `limit` characters is cut and ends in `…`.
    """
    text = untrusted if isinstance(untrusted, str) else str(untrusted)
    if limit is not None and len(text) > 4 * limit + 4096:
        text = text[:4 * limit + 4096]  # nothing past this can survive the cut: work on less
    if one_line:
        text = _without_html(text)
        text = _SPACES.sub(" ", _BREAKS.sub(" ", text)).strip()
    else:
        text = text.replace("\r\n", "\n")
    if not (text.isascii() and text.isprintable()):
        text = UNSAFE.sub("?", text)
    if limit is not None and len(text) > limit:
        text = text[:max(0, limit - 1)].rstrip() + "…"
    return text


def _without_html(text: str) -> str:
    start = _HTML_START.search(text)
    if start is None:
        return text
    title = _HTML_TITLE.search(text, start.start())
    page = "an HTML page"
    if title is not None:
        words = " ".join(_TAG.sub(" ", title.group(1)).split())
        if words:
            page += f" titled '{words[:80]}'"
    end = _HTML_END.search(text, start.start())
    rest = text[end.end():] if end is not None else ""
    return f"{text[:start.start()]}{page}{rest}"


def shown(value: Any, limit: int = SHOWN_VALUE_CHARACTERS) -> str:
    """A value quoted in an error message: recognisable, inert, and a few dozen characters at most.

    Bounded by construction (reprlib), so a value built by a hostile file (a billion-laughs
    structure, an integer of a million digits) costs nothing to describe.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, str) and len(value) > limit:
        return repr(inert(value[:limit], one_line=True)) + f"… ({len(value):,} characters)"
    try:
        text = _SHORT_REPR.repr(value)
    except ValueError:  # an integer past Python's digit limit somewhere inside
        text = f"a {type(value).__name__} too large to show"
    return inert(text, one_line=True, limit=limit + 20)
