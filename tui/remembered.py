"""What the dashboard remembers between runs, as k9s and htop do: sort, filter, grouping, theme
and column choices, in `ground.locations.view_state_file()` (XDG state).

A file that cannot be read or holds something unexpected is set aside with one line saying why:
a remembered view is a convenience, never a reason not to start. Unknown column names (from a
newer or older sagetop) are dropped, not refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ground.atomic import write_atomic
from ground.errors import SagetopError
from ground.validation import describe_validation
from tui.rows import COLUMN_KEYS
from tui.table_model import DEFAULT_SORT, GroupBy, TableView


class RememberedView(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Literal[1] = 1
    sort_column: str = DEFAULT_SORT
    descending: bool = True
    query: str = ""
    group: GroupBy = GroupBy.NONE
    hidden: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()
    theme: str | None = None

    @field_validator("sort_column")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        return value if value in COLUMN_KEYS else DEFAULT_SORT

    @field_validator("hidden", "pinned")
    @classmethod
    def _known_columns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(k for k in dict.fromkeys(value) if k in COLUMN_KEYS and k != "endpoint")

    @classmethod
    def of(cls, view: TableView, theme: str | None) -> RememberedView:
        return cls(sort_column=view.sort_column, descending=view.descending, query=view.query,
                   group=view.group, hidden=tuple(sorted(view.hidden)), pinned=view.pinned,
                   theme=theme)

    def table_view(self) -> TableView:
        return TableView(sort_column=self.sort_column, descending=self.descending,
                         query=self.query, group=self.group, hidden=frozenset(self.hidden),
                         pinned=self.pinned)


def load_view(path: Path) -> tuple[RememberedView, str | None]:
    """The remembered view (defaults when there is none), and a one-line problem, if any."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return RememberedView(), None
    except OSError as exc:
        return RememberedView(), f"{path}: cannot read: {exc.strerror or exc}; view not restored"
    try:
        return RememberedView.model_validate_json(text), None
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            return RememberedView(), f"{path}: not valid JSON; view not restored"
        return RememberedView(), describe_validation(exc, str(path)) + "; view not restored"


def save_view(path: Path, view: RememberedView) -> str | None:
    """Write the view atomically; a one-line problem when that fails (the session goes on)."""
    try:
        write_atomic(path, view.model_dump_json(indent=2) + "\n")  # creates the directory
    except SagetopError as exc:
        return f"{exc}; view not remembered"
    return None
