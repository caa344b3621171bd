"""The fleet table: a DataTable that applies each refresh as a difference, keyed by endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets.data_table import ColumnKey

from tui.rows import CELL_PADDING, SCROLLBAR_WIDTH, CellSignature, Column, cell_signature
from tui.table_model import DisplayRow
from tui.widgets.tables import Cell, VimTable


class RowLabel(Text):
    """The first cell of a row; it carries the row's place so `sort` can restore any order.

    DataTable.sort hands the key function cell values, not row keys: the label knows its row.
    """

    def __init__(self, text: Text, row_key: str) -> None:
        super().__init__(text.plain, style=text.style, spans=list(text.spans))
        self.row_key = row_key


class FleetTable(VimTable):
    """Rows are added, updated cell by cell and removed by key; never cleared on refresh."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open"),  # DataTable's own is not in the footer
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.shown_columns: tuple[Column, ...] = ()
        self._signatures: dict[str, tuple[CellSignature, ...]] = {}  # what each row shows
        # Until the user moves the cursor, it stays on the first row whatever the order (the
        # first analysis reorders the table); after, it follows the row the user chose.
        self.chosen = False

    def action_cursor_down(self) -> None:
        self.chosen = True
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self.chosen = True
        super().action_cursor_up()

    def action_page_down(self) -> None:
        self.chosen = True
        super().action_page_down()

    def action_page_up(self) -> None:
        self.chosen = True
        super().action_page_up()

    def action_scroll_top(self) -> None:
        self.chosen = True
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        self.chosen = True
        super().action_scroll_bottom()

    def on_click(self) -> None:
        self.chosen = True

    def set_columns(self, columns: Sequence[Column], labels: dict[str, Text]) -> bool:
        """Show `columns`; True when the set changed and the rows must be laid out again.

        Changing the columns (the terminal was resized) is the one case that rebuilds the table.
        """
        if tuple(columns) == self.shown_columns:
            for column in columns:
                self.columns[ColumnKey(column.key)].label = labels[column.key]
            self.refresh()
            return False
        self.clear(columns=True)
        self._signatures.clear()
        self.shown_columns = tuple(columns)
        for column in columns:
            self.add_column(labels[column.key], key=column.key, width=column.width)
        return True

    def fit_first_column(self, total_width: int) -> None:
        """Give the endpoint name whatever width the other columns leave."""
        if not self.shown_columns:
            return
        others = sum(c.width + CELL_PADDING for c in self.shown_columns[1:])
        first = self.columns[ColumnKey(self.shown_columns[0].key)]
        wanted = max(self.shown_columns[0].width,
                     total_width - others - CELL_PADDING - SCROLLBAR_WIDTH)
        if first.width != wanted:
            first.width = wanted
            self.refresh()

    def show(self, rows: Sequence[DisplayRow]) -> None:
        """Make the table show exactly `rows`, in order, touching only what changed.

        Each row's cells are compared by signature (text and style) with what the table shows,
        so a refresh of a large fleet where little moved costs little on the event loop.
        """
        keys = [c.key for c in self.shown_columns]
        wanted = {row.key: row for row in rows}
        for row_key in list(self.rows):
            if row_key.value not in wanted:
                self.remove_row(row_key)
                self._signatures.pop(str(row_key.value), None)
        for row in rows:
            known = row.signatures
            signature = tuple(known[k] if known is not None and k in known
                              else cell_signature(row.cells.get(k, "")) for k in keys)
            shown = self._signatures.get(row.key)
            if shown == signature:
                continue
            cells = self._cells(row, keys)
            if shown is not None:
                for column, value, old, new in zip(keys, cells, shown, signature, strict=True):
                    if old != new:
                        self.update_cell(row.key, column, value)
            else:
                self.add_row(*cells, key=row.key)
            self._signatures[row.key] = signature
        order = [row.key for row in rows]
        if keys and [r.key.value for r in self.ordered_rows] != order:
            # The cursor follows its row, not its position: a refresh that reorders the table
            # must not put another endpoint under the user's Enter.
            selected = self.selected_key if self.chosen else None
            rank = {key: index for index, key in enumerate(order)}
            self.sort(keys[0], key=lambda label: rank[label.row_key])
            if selected is not None and selected in rank:
                self.move_cursor(row=rank[selected])
            elif not self.chosen:
                self.move_cursor(row=0)

    @staticmethod
    def _cells(row: DisplayRow, keys: Sequence[str]) -> list[Cell]:
        first = row.cells.get(keys[0], "") if keys else ""
        label = RowLabel(first if isinstance(first, Text) else Text(first), row.key)
        return [label, *(row.cells.get(k, "") for k in keys[1:])]

    @property
    def selected_key(self) -> str | None:
        """The row key under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:  # the cursor may sit past the last row while rows are removed
            return None
        return row_key.value

    def keys_on_screen(self) -> list[str]:
        """Row keys in the visible part of the table (for the live refresh tier)."""
        first, last = self.rows_on_screen()
        return [r.key.value for r in self.ordered_rows[first:last] if r.key.value is not None]

    def rows_on_screen(self) -> tuple[int, int]:
        """The first row on screen and the one after the last, as indices of `ordered_rows`."""
        first = int(self.scroll_y)
        visible = max(1, self.size.height - 1)  # minus the header
        return first, min(self.row_count, first + visible)

