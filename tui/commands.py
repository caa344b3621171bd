"""The command palette's fleet commands, found by the words people use for them.

"Sort by saving" answers to "saving", "waste", "money" and "cost" as well as its own name; each
column can be shown or hidden; each theme chosen. The palette (`:` or ctrl+p) lists them with the
app's own commands (summary, export, refresh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.look import THEME_CHOICES
from tui.rows import COLUMNS, column_label
from tui.table_model import GroupBy, TableView


@runtime_checkable
class FleetControls(Protocol):
    """What the commands need of the fleet screen (which imports this module's users)."""

    view: TableView

    @property
    def lookback_days(self) -> int: ...

    def shown_column_keys(self) -> set[str]: ...

    def set_view(self, view: TableView) -> None: ...

    def action_toggle_column(self, column: str, shown: bool) -> None: ...

# What else people call each column (the palette matches these as well as the title).
SORT_WORDS: dict[str, tuple[str, ...]] = {
    "endpoint": ("name", "alphabetical"),
    "status": ("state", "failed", "health"),
    "option": ("deployment", "serverless", "async", "real-time"),
    "shape": ("instances", "instance type", "size", "capacity"),
    "rpm": ("requests", "traffic", "load", "invocations", "rpm"),
    "trend": ("trend", "daily traffic", "requests per hour"),
    "p99": ("latency", "slow", "response time"),
    "busiest": ("utilisation", "utilization", "cpu", "memory", "gpu", "idle"),
    "errors": ("5xx", "failures", "faults"),
    "drift": ("model monitor", "violations", "quality"),
    "cost": ("cost", "price", "spend", "money", "bill", "expensive", "dollars"),
    "savings": ("saving", "savings", "save", "waste", "wasteful", "money", "cost", "cheaper",
                "right-size", "dollars"),
    "finding": ("severity", "problem", "worst", "advice", "critical"),
    "carbon": ("carbon", "co2", "co2e", "emissions", "energy", "green", "sustainability",
               "footprint", "kwh"),
    "region": ("location", "aws region"),
}
# How the palette names each column.
NAMES: dict[str, str] = {
    "endpoint": "name", "status": "status", "option": "deployment option",
    "shape": "instances", "rpm": "requests per minute", "trend": "traffic over 24 hours",
    "p99": "p99 latency", "busiest": "busiest resource", "errors": "5XX errors",
    "drift": "drift", "cost": "monthly cost", "savings": "saving", "finding": "worst finding",
    "carbon": "estimated carbon", "region": "region",
}
THEME_WORDS = ("theme", "colour", "color", "contrast", "palette", "appearance")


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    run: Callable[[], object]
    words: tuple[str, ...] = ()
    discover: bool = False  # listed before anything is typed


def fleet_commands(screen: FleetControls) -> Iterator[Command]:
    days = screen.lookback_days
    shown = screen.shown_column_keys()
    # The account column exists only with several accounts (`g` groups by it): no command.
    columns = [c for c in COLUMNS if c.key != "account"]
    for column in columns:
        label = column_label(column, days)
        order = "largest first" if column.numeric else "A to Z"
        yield Command(f"Sort by {NAMES[column.key]} ({label})", f"Order the fleet, {order}",
                      partial(screen.set_view, replace(
                          screen.view, sort_column=column.key, descending=column.numeric)),
                      (label.lower(), *SORT_WORDS.get(column.key, ())),
                      discover=column.key in ("savings", "cost"))
    for column in columns[1:]:
        label = column_label(column, days)
        if column.key in shown:
            yield Command(f"Hide column {label}", f"Remove {column.about} from the table",
                          partial(screen.action_toggle_column, column.key, False),
                          ("columns", *SORT_WORDS.get(column.key, ())))
        else:
            yield Command(f"Show column {label}", f"Add {column.about}, even on a narrow "
                          "screen (other columns make room)",
                          partial(screen.action_toggle_column, column.key, True),
                          ("columns", *SORT_WORDS.get(column.key, ())))
    for group in GroupBy:
        yield Command(f"Group by {group.value}", "Group the fleet table",
                      partial(screen.set_view, replace(screen.view, group=group)))


def theme_commands(provider: Provider) -> Iterator[Command]:
    app = provider.app
    for name, theme in THEME_CHOICES:

        def choose(theme: str = theme) -> None:
            app.theme = theme

        yield Command(f"Theme: {name}", "Colours of the dashboard (remembered)", choose,
                      (name, *THEME_WORDS), discover=True)


class FleetCommands(Provider):
    """Sorting, columns, grouping and themes."""

    def _commands(self) -> list[Command]:
        found = list(theme_commands(self))
        fleet = next((s for s in self.app.screen_stack if isinstance(s, FleetControls)), None)
        if fleet is not None:
            found = [*fleet_commands(fleet), *found]
        return found

    async def discover(self) -> Hits:
        for command in self._commands():
            if command.discover:
                yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = max(matcher.match(text) for text in (command.title, *command.words))
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run,
                          help=command.help)
