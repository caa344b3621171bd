"""How the fleet table is arranged: filter, sort, group and expanded rows, no widgets here.

`arrange` turns the endpoint rows and the user's view settings into the ordered rows the table
must show; the table widget then applies the difference to what it already shows. An endpoint
row may open onto child rows (its variants); `children_of` supplies them, whatever their kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from rich.text import Text

from tui.rows import COLUMN_BY_KEY, COLUMN_KEYS, CellSignature, RowData, matches

GROUP_PREFIX = "group:"
VARIANT_SEPARATOR = "::"
# First open: the endpoints that waste the most money on top.
DEFAULT_SORT = "savings"


class GroupBy(StrEnum):
    NONE = "none"
    REGION = "region"
    FINDING = "finding"
    ACCOUNT = "account"  # only offered while several accounts are watched

    def next(self, accounts: bool = False) -> GroupBy:
        members = [m for m in GroupBy if accounts or m is not GroupBy.ACCOUNT]
        position = members.index(self) if self in members else -1
        return members[(position + 1) % len(members)]


@dataclass(frozen=True)
class TableView:
    """What the user chose: sort, filter, grouping, open rows, and columns hidden or pinned."""

    sort_column: str = DEFAULT_SORT
    descending: bool = True
    query: str = ""
    group: GroupBy = GroupBy.NONE
    expanded: frozenset[str] = field(default_factory=frozenset)
    hidden: frozenset[str] = field(default_factory=frozenset)  # columns never shown
    pinned: tuple[str, ...] = ()  # columns kept first after the name, whatever the width

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

    def showing(self, column: str) -> TableView:
        """Pin `column`: it stays on screen, right after the name, as long as it fits."""
        return replace(self, hidden=self.hidden - {column},
                       pinned=(*(k for k in self.pinned if k != column), column))

    def hiding(self, column: str) -> TableView:
        return replace(self, hidden=self.hidden | {column},
                       pinned=tuple(k for k in self.pinned if k != column))


@dataclass(frozen=True)
class DisplayRow:
    """One line of the table: an endpoint, one of its child rows, or a group heading."""

    key: str
    endpoint_key: str | None  # None for group headings
    cells: dict[str, str | Text]
    signatures: dict[str, CellSignature] | None = None  # precomputed for endpoint rows


def variant_row_key(endpoint_key: str, variant: str) -> str:
    return f"{endpoint_key}{VARIANT_SEPARATOR}{variant}"


# endpoint key -> [(child row name, cells)], the rows shown under it while it is expanded
# (its variants today; any other kind of child row goes through the same callable).
ChildRows = Callable[[str], list[tuple[str, dict[str, str | Text]]]]
VariantCells = ChildRows  # the earlier name


def arrange(rows: Sequence[RowData], view: TableView, children_of: ChildRows
            ) -> list[DisplayRow]:
    """The rows to show, in order: filtered, grouped, sorted, with expanded children below."""
    shown = [row for row in rows if matches(row, view.query)] if view.query.strip() else list(rows)
    # Ties keep the names' order whichever way the column sorts: the sort is stable.
    shown.sort(key=lambda row: (row.sort_values.get("endpoint", ""), row.key))
    shown.sort(key=lambda row: row.sort_values.get(view.sort_column, ""),
               reverse=view.descending)
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
            ordered.append(DisplayRow(row.key, row.key, row.cells, row.signatures))
            if row.key in view.expanded:
                for child, child_cells in children_of(row.key):
                    ordered.append(DisplayRow(variant_row_key(row.key, child), row.key,
                                              child_cells))
    return ordered


def _group_of(row: RowData, group: GroupBy) -> str:
    if group is GroupBy.REGION:
        return row.region
    if group is GroupBy.FINDING:
        return row.worst_kind
    if group is GroupBy.ACCOUNT:
        return row.account
    return ""
