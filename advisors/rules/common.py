"""Small helpers every rule uses to word and cost its findings the same way."""

from __future__ import annotations

from typing import Any

import pandas as pd

from advisors.cost import CostEstimate
from advisors.features import RESOURCES, measured
from advisors.finding import CostedOption, OptionKind, ProfileChange, Severity
from advisors.limits import MICROSECONDS_PER_MS
from ground.energy import Footprint, difference, quantity


def resource_name(column: Any) -> str:
    """A utilisation column as people say it ("GPU memory")."""
    return RESOURCES[str(column)][0] if str(column) in RESOURCES else str(column)


def sentence(text: str) -> str:
    """First letter upper-cased, the rest untouched (str.capitalize lowers "5XX")."""
    return text[:1].upper() + text[1:]


def usd(amount: float | None) -> str:
    if amount is None:
        return "price unknown"
    # Pennies matter when the point is that something costs almost nothing (serverless).
    return f"${amount:,.2f}/month" if abs(amount) < 10 else f"${amount:,.0f}/month"


def savings(current: CostEstimate, proposed_usd: float | None) -> float | None:
    """Current minus proposed; None as soon as either price is unknown."""
    if current.usd is None or proposed_usd is None:
        return None
    return round(current.usd - proposed_usd, 2)


def option(label: str, cost: CostEstimate, fits: bool, note: str = "", *, kind: OptionKind,
           changes: tuple[ProfileChange, ...] | list[ProfileChange] = (),
           group: str | None = None, carbon: Footprint | None = None,
           command: str | None = None) -> CostedOption:
    """A priced option; `carbon` its estimated month of energy and emissions over the same
    scope as the price (None: unknown); `command` what the team runs for it."""
    return CostedOption(kind=kind, label=label, monthly_cost_usd=cost.usd,
                        price_source=cost.source, fits=fits, note=note, changes=tuple(changes),
                        group=group, monthly_kgco2e=kgco2e(carbon), command=command)


def keep(label: str, cost: CostEstimate, fits: bool, note: str = "",
         carbon: Footprint | None = None) -> CostedOption:
    """Today's configuration: what every other option of the finding is measured against."""
    return option(label, cost, fits, note, kind=OptionKind.KEEP, carbon=carbon)


def unpriced(kind: OptionKind, label: str, fits: bool, note: str,
             changes: tuple[ProfileChange, ...] | list[ProfileChange] = ()) -> CostedOption:
    """An option whose effect on the bill is not known (a setting, a policy); nor is its
    effect on energy (None)."""
    return CostedOption(kind=kind, label=label, monthly_cost_usd=None,
                        price_source="effect on the bill not priced", fits=fits, note=note,
                        changes=tuple(changes))


def kgco2e(footprint: Footprint | None) -> float | None:
    """An option's estimated kgCO2e a month, as options and findings carry it."""
    return None if footprint is None else round(footprint.kgco2e, 3)


def carbon_saved(before: Footprint | None, after: Footprint | None) -> float | None:
    """kgCO2e a month the change saves (negative: emits more); None as soon as one is unknown."""
    return difference(before, after)


def carbon_clause(before: Footprint | None, after: Footprint | None) -> str:
    """" It saves ~X kgCO2e/month (estimate, Y-Z today)." for rationales; "" when unknown."""
    saved = difference(before, after)
    if saved is None or before is None or after is None:
        return ""
    verb = "saves" if saved >= 0 else "adds"
    return (f" In energy and carbon it {verb} ~{quantity(abs(saved))} kgCO2e/month "
            f"(estimate: today {before.text}, after {after.text}; {method_short()}).")


def method_short() -> str:
    return "Cloud Carbon Footprint coefficients, see the README"


def opportunity_severity(saved: float | None, current: CostEstimate) -> Severity:
    """A change that halves the bill deserves attention; smaller ones are information."""
    if saved is not None and current.usd and saved >= current.usd / 2:
        return Severity.WARNING
    return Severity.INFO


def number(value: Any) -> float | None:
    """A frame cell as evidence: None for NaN (evidence must not carry NaN)."""
    return measured(value)


def ms(latency_us: float | None) -> str:
    return "no data" if latency_us is None else f"{latency_us / MICROSECONDS_PER_MS:,.0f} ms"


def rows(frame: pd.DataFrame, mask: pd.Series[bool]) -> list[tuple[Any, dict[str, Any]]]:
    """The rows a vectorised filter kept, as (index label, {column: value}) pairs.

    Plain dicts, not Series: building a Series per row would cost more than the rule itself.
    """
    selected = frame[mask.fillna(False).astype(bool).to_numpy()]
    names = [str(column) for column in selected.columns]
    columns = [selected[column].tolist() for column in selected.columns]
    return [(label, dict(zip(names, values, strict=True)))
            for label, values in zip(selected.index, zip(*columns, strict=True), strict=True)]
