"""The key reference (`?`), k9s style: one screen, every key, Esc or q to leave."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.look import UNICODE, Glyphs, look_of

KEYS: tuple[tuple[str, str, str], ...] = (
    ("Everywhere", "?", "this help"),
    ("Everywhere", ": or ctrl+p", "command palette: sort, columns, group, theme, summary, "
                                  "export, refresh"),
    ("Everywhere", "r", "refresh the whole fleet now"),
    ("Everywhere", "E", "export every profile and the fleet summary"),
    ("Everywhere", "PgUp PgDn Home End", "page through the table or pane"),
    ("Everywhere", "q / Esc", "back (quit from the fleet)"),
    ("Fleet", "up down j k", "move"),
    ("Fleet", "Enter", "open the endpoint"),
    ("Fleet", "$", "sort by saving, largest first (the order on first open)"),
    ("Fleet", "s / S", "sort by the next column / reverse (or click a header)"),
    ("Fleet", "/", "filter by name, tag (key=value), region or finding kind"),
    ("Fleet", "g", "group by region, by worst finding, or not at all"),
    ("Fleet", "space", "show or hide the variants and inference components (\"+1\" in "
                       "Instances: one more)"),
    ("Fleet", "e", "export the selected endpoint's profiles"),
    ("Fleet", "t", "fleet summary: totals, savings, maturity, provisioning"),
    ("Endpoint", "1-7", "metrics, variants, monitor, findings, profile, maturity, tests"),
    ("Endpoint", "a / x", "accept / reject the worst finding's changes (in Profile: the "
                          "selected change)"),
    ("Endpoint", "Enter", "in Profile: toggle the selected change"),
    ("Endpoint", "Tab", "in Profile: tabs, changes, profile in turn"),
    ("Endpoint", "p", "price sources in full or in short"),
    ("Endpoint", "e", "export this endpoint's profiles"),
)
# What the cells say when they have no figure to show.
MARKS: tuple[tuple[str, str], ...] = (
    ("… (or ...)", "not measured yet: the row has not been fetched"),
    ("52 5m", "the last reading, 5 minutes old: the row refreshes while on screen"),
    ("-", "no data, or nothing to show"),
    ("?", "price unknown"),
)


def help_table(glyphs: Glyphs = UNICODE) -> Table:
    table = Table(title="sagetop keys", show_edge=False, header_style="bold", box=glyphs.box)
    for header in ("Where", "Key", "Does"):
        table.add_column(header)
    for where, key, does in KEYS:
        table.add_row(where, Text(key, style="bold"), does)
    table.add_section()
    for mark, means in MARKS:
        table.add_row("Cells", Text(mark, style="bold"), means)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("q", "app.pop_screen", "Close", show=False),
        Binding("question_mark", "app.pop_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(help_table(look_of(self.app).glyphs))
