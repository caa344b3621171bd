"""The table every screen drives from the keyboard: DataTable with the vim keys k9s users know."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

Cell = str | Text


class VimTable(DataTable[Cell]):
    """A DataTable that also moves with vim keys, as k9s users expect; Home and End go to the
    first and last row (DataTable's own scroll sideways, which a row cursor never needs)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("G", "scroll_bottom", "Last", show=False),
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]
