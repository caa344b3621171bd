"""How the dashboard looks, in one place: themes, the styles taken from them, and the glyphs.

Rows and renderables are computed off the event loop from plain data, so they cannot read CSS
variables; they take a `Look` instead: Rich styles resolved from the active Textual theme (dark,
light, colour-blind safe, or any other), attribute-only styles under NO_COLOR (Textual turns
colours into greys there, and a dark red becomes dark grey on black), and ASCII glyphs when the
terminal does not speak UTF-8.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from rich.box import SIMPLE_HEAD, Box
from textual.theme import Theme

# Okabe and Ito's palette ("Color Universal Design", 2008): hues that stay apart for the common
# colour-vision deficiencies. Bad news is vermillion, good news sky blue, warnings yellow.
COLOUR_BLIND = Theme(
    name="sagetop-colour-blind",
    primary="#56B4E9",
    secondary="#0072B2",
    accent="#E69F00",
    warning="#F0E442",
    error="#D55E00",
    success="#56B4E9",
    foreground="#E8E8E8",
    background="#121212",
    surface="#1E1E1E",
    panel="#1F2A33",
    dark=True,
)
SAGETOP_THEMES = (COLOUR_BLIND,)
# What the palette offers by name; any Textual theme can be chosen with Textual's own picker.
THEME_CHOICES: tuple[tuple[str, str], ...] = (
    ("dark", "textual-dark"), ("light", "textual-light"),
    ("colour-blind safe", COLOUR_BLIND.name),
)
DEFAULT_THEME = "textual-dark"


# Rich's SIMPLE_HEAD (a rule under the header, nothing else) drawn with "-".
ASCII_SIMPLE_HEAD = Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


@dataclass(frozen=True)
class Glyphs:
    """Characters beyond ASCII, each with the ASCII stand-in a C-locale terminal gets."""

    spark: str  # eight levels, lowest first
    up: str
    down: str
    branch: str  # before a child row (a variant under its endpoint)
    separator: str  # between parts of the header and status lines
    busy: str  # a refresh is under way
    ellipsis: str  # not measured yet / text cut short
    bar: str
    at_least: str
    at_most: str
    arrow: str
    minus: str
    box: Box  # the rule under a table's header
    stored: str = "◷"  # shown from the state store, not confirmed by AWS yet (with its age)


UNICODE = Glyphs(spark="▁▂▃▄▅▆▇█", up="▲", down="▼", branch="└ ", separator=" │ ", busy="⟳",
                 ellipsis="…", bar="█", at_least="≥", at_most="≤", arrow="→", minus="−",
                 box=SIMPLE_HEAD)
ASCII = Glyphs(spark="_.-=+*#@", up="^", down="v", branch="`-", separator=" | ", busy="*",
               ellipsis="...", bar="#", at_least=">=", at_most="<=", arrow="->", minus="-",
               box=ASCII_SIMPLE_HEAD)


def utf8_terminal(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the terminal's locale is UTF-8 (POSIX: LC_ALL, then LC_CTYPE, then LANG).

    `SAGETOP_ASCII=1` forces ASCII. With no locale variable at all the POSIX locale applies,
    which is ASCII; Python would still write UTF-8, and such a terminal would show mojibake.
    """
    env = os.environ if environ is None else environ
    if env.get("SAGETOP_ASCII", "") not in ("", "0"):
        return False
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(name, "")
        if value:
            charset = value.partition(".")[2].partition("@")[0].lower().replace("-", "")
            return charset == "utf8"
    return False


@dataclass(frozen=True)
class Palette:
    """Rich styles by meaning. `mono`: NO_COLOR, where attributes carry what colour would."""

    critical: str
    warning: str
    info: str
    good: str
    bad: str
    muted: str
    strong: str
    selected: str  # where the keys are (the focused part of a hint line, the app's mark)
    demo: str  # the DEMO mark in the header: it must never be missed
    mono: bool = False


def palette_for(variables: Mapping[str, str], mono: bool = False) -> Palette:
    """The styles of a theme's CSS variables (`App.theme_variables`)."""
    if mono:
        return Palette(critical="bold reverse", warning="bold", info="", good="bold",
                       bad="bold underline", muted="", strong="bold", selected="bold reverse",
                       demo="bold reverse",
                       mono=True)

    def colour(name: str, fallback: str) -> str:
        return variables.get(name) or fallback

    return Palette(
        critical=f"bold {colour('text-error', 'red')}",
        warning=colour("text-warning", "yellow"),
        info=colour("text-primary", "cyan"),
        good=colour("text-success", "green"),
        bad=colour("text-error", "red"),
        muted="dim",
        strong="bold",
        selected="bold reverse",  # the theme's own foreground and background, swapped
        demo=f"bold {colour('background', 'black')} on {colour('warning', 'yellow')}",
    )


def _default_variables() -> dict[str, str]:
    from textual.theme import BUILTIN_THEMES

    return dict(BUILTIN_THEMES[DEFAULT_THEME].to_color_system().generate())


@dataclass(frozen=True)
class Look:
    palette: Palette
    glyphs: Glyphs


DEFAULT_LOOK = Look(palette_for(_default_variables()), UNICODE)


def look_of(app: object) -> Look:
    """The app's current look (widgets ask; the app owns it and replaces it on theme change)."""
    look = getattr(app, "look", None)
    return look if isinstance(look, Look) else DEFAULT_LOOK
