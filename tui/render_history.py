"""The history's text on screen: pure functions of a `pipeline.history.History` and the look.

The words are the history's own (`EndpointChange.phrases`, `FleetChange.phrases`: the report
says the same); here they get their colours: a cost that rose or a finding that appeared in the
warning style, a saving taken or a finding resolved in the good one, "no data" muted, never a
zero. Endpoint keys come from the account: through `outside`.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from pipeline.history import EndpointChange, History, Period, usd
from tui.look import DEFAULT_LOOK, Look
from tui.rows import outside

NO_DATA = "no data (no record that old)"
# Endpoints listed by name in each period of the summary (created, deleted, savings taken).
LISTED_ENDPOINTS = 5


def _style(phrase: str, look: Look) -> str:
    palette = look.palette
    if phrase.startswith("saving taken") or phrase.endswith("resolved"):
        return palette.good
    if phrase.endswith("appeared") or phrase.startswith("+$"):
        return palette.warning
    if phrase.startswith("-$"):
        return palette.good
    return ""


def _phrases(text: Text, phrases: list[str], look: Look) -> None:
    for index, phrase in enumerate(phrases):
        if index:
            text.append(", ")
        text.append(outside(phrase), style=_style(phrase, look))


def endpoint_history_view(history: History | None, key: str,
                          look: Look = DEFAULT_LOOK) -> Text:
    """One line per period: 'since yesterday: +$120/month, finding idle appeared'."""
    text = Text(no_wrap=True, overflow="ellipsis" if look.glyphs.ellipsis == "…" else "crop")
    if history is None:
        return text
    for index, (period, change) in enumerate(history.endpoint(key)):
        if index:
            text.append("\n")
        text.append(f"{period.heading}: ", style=look.palette.muted)
        if period.baseline is None:
            text.append(NO_DATA, style=look.palette.muted)
        elif change is None:
            text.append("no change", style=look.palette.muted)
        else:
            _phrases(text, change.phrases(), look)
    return text


def _named(label: str, keys: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(outside(k) for k in keys[:LISTED_ENDPOINTS])
    more = f" and {len(keys) - LISTED_ENDPOINTS} more" if len(keys) > LISTED_ENDPOINTS else ""
    return f"{label}: {shown}{more}"


def _period_lines(period: Period, look: Look) -> list[Text]:
    head = Text(period.heading, style="bold")
    fleet = period.fleet
    if fleet is None:
        head.append(f": {NO_DATA}", style=look.palette.muted)
        return [head]
    line = Text("  ")
    _phrases(line, fleet.phrases(), look)
    lines = [head, line]
    if fleet.created:
        lines.append(Text("  " + _named("created", fleet.created)))
    if fleet.deleted:
        lines.append(Text("  " + _named("deleted", fleet.deleted)))
    if fleet.taken:
        taken = [f"{t.endpoint} {t.finding.kind} ({usd(t.finding.monthly_savings_usd)})"
                 for t in fleet.taken]
        lines.append(Text("  " + _named("savings taken", taken), style=look.palette.good))
    return lines


def _moved(change: EndpointChange) -> float:
    return abs(change.cost.delta or change.cost.before or change.cost.after or 0.0)


def fleet_history_view(history: History | None, look: Look = DEFAULT_LOOK) -> RenderableType:
    """The summary's history: per period the fleet's moves, then the endpoints that moved most."""
    if history is None:
        return Text("")
    parts: list[RenderableType] = [Text(
        f"History ({history.days_stored} day record{'s' if history.days_stored != 1 else ''} "
        f"from {history.first_day})", style="bold")]
    for period in history.periods:
        parts += _period_lines(period, look)
    for note in history.notes:
        parts.append(Text(f"note: {outside(note)}", style=look.palette.warning))
    yesterday = next((p for p in history.periods if p.fleet is not None), None)
    if yesterday is not None and yesterday.endpoints:
        table = Table(title=f"Endpoints that moved most {yesterday.heading}", title_justify="left",
                      title_style="bold", show_edge=False, pad_edge=False, header_style="bold",
                      box=look.glyphs.box)
        table.add_column("Endpoint")
        table.add_column("What moved")
        ranked = sorted(yesterday.endpoints.values(), key=lambda c: (-_moved(c), c.key))
        for change in ranked[:LISTED_ENDPOINTS * 2]:
            words = Text()
            _phrases(words, change.phrases(), look)
            table.add_row(Text(outside(change.key)), words)
        parts += [Text(""), table]
    parts.append(Text(""))
    return Group(*parts)
