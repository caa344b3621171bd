"""How the fleet table is arranged: filter, sort, group and expanded variants, no widgets here.

`arrange` turns the endpoint rows and the user's view settings into the ordered rows the table
must show; the table widget then applies the difference to what it already shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from rich.text import Text

from tui.rows import COLUMN_BY_KEY, COLUMN_KEYS, CellSignature, RowData, matches

GROUP_PREFIX = "group:"
VARIANT_SEPARATOR = "::"


class GroupBy(StrEnum):
    NONE = "none"
    REGION = "region"
    FINDING = "finding"

    def next(self) -> GroupBy:
        members = list(GroupBy)
        return members[(members.index(self) + 1) % len(members)]


@dataclass(frozen=True)
class TableView:
    """What the user chose: sort column and direction, filter text, grouping, open variants."""

    sort_column: str = "endpoint"
    descending: bool = False
    query: str = ""
    group: GroupBy = GroupBy.NONE
    expanded: frozenset[str] = field(default_factory=frozenset)

    def sorted_by(self, column: str) -> TableView:
        """Sort by `column`; choosing the current column again flips the direction."""
        if column == self.sort_column:
            return replace(self, descending=not self.descending)
        # Numbers read best largest first (cost, savings, traffic); names alphabetically.
        return replace(self, sort_column=column, descending=COLUMN_BY_KEY[column].numeric)

    def next_sort(self, visible: Sequence[str]) -> TableView:
        """`s`: the next visible column, in table order."""
        keys = [k for k in COLUMN_KEYS if k in visible and k != "trend"] or ["endpoint"]
        index = keys.index(self.sort_column) if self.sort_column in keys else -1
        column = keys[(index + 1) % len(keys)]
        return replace(self, sort_column=column, descending=COLUMN_BY_KEY[column].numeric)

    def toggled(self, endpoint_key: str) -> TableView:
        return replace(self, expanded=self.expanded ^ {endpoint_key})


@dataclass(frozen=True)
class DisplayRow:
    """One line of the table: an endpoint, one of its variants, or a group heading."""

    key: str
    endpoint_key: str | None  # None for group headings
    cells: dict[str, str | Text]
    signatures: dict[str, CellSignature] | None = None  # precomputed for endpoint rows


def variant_row_key(endpoint_key: str, variant: str) -> str:
    return f"{endpoint_key}{VARIANT_SEPARATOR}{variant}"


VariantCells = Callable[[str], list[tuple[str, dict[str, str | Text]]]]


def arrange(rows: Sequence[RowData], view: TableView, variants_of: VariantCells
            ) -> list[DisplayRow]:
    """The rows to show, in order: filtered, grouped, sorted, with expanded variants below."""
    shown = [row for row in rows if matches(row, view.query)] if view.query.strip() else list(rows)

    def value(row: RowData) -> tuple[float | str, str]:
        # The key breaks ties so equal values keep a stable order across refreshes.
        return row.sort_values.get(view.sort_column, ""), row.key

    shown.sort(key=value, reverse=view.descending)
    groups: dict[str, list[RowData]] = {}
    for row in shown:
        groups.setdefault(_group_of(row, view.group), []).append(row)
    ordered: list[DisplayRow] = []
    for name in sorted(groups, key=lambda g: (g == "", g)):
        members = groups[name]
        if view.group is not GroupBy.NONE:
            heading = Text(f"{name or 'no findings'} ({len(members)})", style="bold")
            ordered.append(DisplayRow(GROUP_PREFIX + name, None, {"endpoint": heading}))
        for row in members:
            cells = _expanded_marker(row, view)
            signatures = row.signatures if cells is row.cells else None
            ordered.append(DisplayRow(row.key, row.key, cells, signatures))
            if row.key in view.expanded:
                for variant, variant_cells in variants_of(row.key):
                    ordered.append(DisplayRow(variant_row_key(row.key, variant), row.key,
                                              variant_cells))
    return ordered


def _group_of(row: RowData, group: GroupBy) -> str:
    if group is GroupBy.REGION:
        return row.region
    if group is GroupBy.FINDING:
        return row.worst_kind
    return ""


def _expanded_marker(row: RowData, view: TableView) -> dict[str, str | Text]:
    """Turn the ▸ of an expandable endpoint into ▾ while its variants are shown."""
    name = row.cells.get("endpoint")
    if row.key not in view.expanded or not isinstance(name, Text) or not name.plain.startswith("▸"):
        return row.cells
    opened = name.copy()
    opened.plain = "▾" + name.plain[1:]
    return {**row.cells, "endpoint": opened}
