"""The key reference (`?`), k9s style: one screen, every key, Esc or q to leave."""

from __future__ import annotations

from typing import ClassVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str, str], ...] = (
    ("Everywhere", "?", "this help"),
    ("Everywhere", ": or ctrl+p", "command palette (sort, group, summary, export, refresh)"),
    ("Everywhere", "r", "refresh the whole fleet now"),
    ("Everywhere", "E", "export every profile and the fleet summary"),
    ("Everywhere", "q / Esc", "back (quit from the fleet)"),
    ("Fleet", "↑ ↓ j k", "move"),
    ("Fleet", "Enter", "open the endpoint"),
    ("Fleet", "space", "show or hide the endpoint's variants"),
    ("Fleet", "/", "filter by name, tag (key=value), region or finding kind"),
    ("Fleet", "s / S", "sort by the next column / reverse (or click a header)"),
    ("Fleet", "g", "group by region, by worst finding, or not at all"),
    ("Fleet", "e", "export the selected endpoint's profiles"),
    ("Fleet", "t", "fleet summary: totals, savings, maturity, provisioning"),
    ("Endpoint", "1-7", "metrics, variants, monitor, findings, profile, maturity, tests"),
    ("Endpoint", "a / x / Enter", "accept / reject / toggle the selected change"),
    ("Endpoint", "e", "export this endpoint's profiles"),
)


def help_table() -> Table:
    table = Table(title="sagetop keys", show_edge=False, header_style="bold", box=box.SIMPLE_HEAD)
    for header in ("Where", "Key", "Does"):
        table.add_column(header)
    for where, key, does in KEYS:
        table.add_row(where, Text(key, style="bold"), does)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("q", "app.pop_screen", "Close", show=False),
        Binding("question_mark", "app.pop_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(help_table())
