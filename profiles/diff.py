"""What differs between two ML profiles (`sagetop profile diff A B`).

Characteristics are compared by value; variants are matched by name, not position, so a reordered
file shows no difference. When only the origin of a value changed (observed → required), that is
a difference too: it changes how far the value can be trusted.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel

from ground.untrusted import inert
from profiles.model import (
    Characteristic,
    ComponentProfile,
    MLProfile,
    NetworkSecurity,
    VariantProfile,
    characteristic_fields,
)


class ProfileDifference(BaseModel):
    path: str  # e.g. "variants[AllTraffic].instance_type", "network_security.vpc"
    before: Any = None
    after: Any = None
    before_origin: str | None = None
    after_origin: str | None = None
    rationale: str | None = None  # finding kind that set the value in B, if any
    note: str = ""  # "variant added", "origin changed"


def _plain(value: Any) -> Any:
    """Enums as their text, so a profile read from YAML and one built in memory compare equal."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _compare_characteristics(prefix: str, model_type: type[BaseModel], a: BaseModel,
                             b: BaseModel) -> list[ProfileDifference]:
    differences = []
    for name in characteristic_fields(model_type):
        left: Characteristic[Any] = getattr(a, name)
        right: Characteristic[Any] = getattr(b, name)
        before, after = _plain(left.value), _plain(right.value)
        if before != after:
            differences.append(ProfileDifference(
                path=f"{prefix}{name}", before=before, after=after,
                before_origin=str(left.origin), after_origin=str(right.origin),
                rationale=right.rationale))
        elif left.origin != right.origin:
            differences.append(ProfileDifference(
                path=f"{prefix}{name}", before=before, after=after,
                before_origin=str(left.origin), after_origin=str(right.origin),
                rationale=right.rationale, note="origin changed"))
    return differences


def diff_profiles(a: MLProfile, b: MLProfile) -> list[ProfileDifference]:
    """Differences from `a` to `b`, in the profile's field order."""
    differences: list[ProfileDifference] = []
    for field in ("endpoint", "region", "kind"):
        before, after = str(getattr(a, field)), str(getattr(b, field))
        if before != after:
            differences.append(ProfileDifference(path=field, before=before, after=after))
    differences += _compare_characteristics("", MLProfile, a, b)
    left_variants = {v.name: v for v in a.variants}
    right_variants = {v.name: v for v in b.variants}
    for name, left in left_variants.items():
        right = right_variants.get(name)
        if right is None:
            differences.append(ProfileDifference(path=f"variants[{name}]", before=name,
                                                 note="variant removed"))
            continue
        if left.shadow != right.shadow:
            differences.append(ProfileDifference(path=f"variants[{name}].shadow",
                                                 before=left.shadow, after=right.shadow))
        differences += _compare_characteristics(f"variants[{name}].", VariantProfile, left, right)
    for name in right_variants.keys() - left_variants.keys():
        differences.append(ProfileDifference(path=f"variants[{name}]", after=name,
                                             note="variant added"))
    left_components = {c.name: c for c in a.inference_components}
    right_components = {c.name: c for c in b.inference_components}
    for name, left_component in left_components.items():
        right_component = right_components.get(name)
        if right_component is None:
            differences.append(ProfileDifference(path=f"inference_components[{name}]",
                                                 before=name, note="component removed"))
            continue
        differences += _compare_characteristics(f"inference_components[{name}].",
                                                ComponentProfile, left_component,
                                                right_component)
    for name in right_components.keys() - left_components.keys():
        differences.append(ProfileDifference(path=f"inference_components[{name}]", after=name,
                                             note="component added"))
    differences += _compare_characteristics("network_security.", NetworkSecurity,
                                            a.network_security, b.network_security)
    if a.requirements != b.requirements:
        for field in type(a.requirements).model_fields:
            before, after = getattr(a.requirements, field), getattr(b.requirements, field)
            if before != after:
                differences.append(ProfileDifference(path=f"requirements.{field}",
                                                     before=_plain(before), after=_plain(after)))
    if a.tags != b.tags:
        for key in sorted(a.tags.keys() | b.tags.keys()):
            if a.tags.get(key) != b.tags.get(key):
                differences.append(ProfileDifference(path=f"tags[{key!r}]",
                                                     before=a.tags.get(key),
                                                     after=b.tags.get(key)))
    return differences


# A value longer than this is cut in the diff: a line per difference stays a line.
SHOWN_CHARACTERS = 200


def _shown(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, str):
        # Untrusted text on a terminal: shown escaped (repr) when it holds anything that is not
        # printable, and through the sanitiser either way.
        text = repr(value) if not value.isprintable() else value
    else:
        text = repr(value) if not isinstance(value, int | float | bool) else str(value)
    return inert(text, limit=SHOWN_CHARACTERS)


def render_diff(a_name: str, b_name: str, differences: list[ProfileDifference]) -> str:
    """Plain text, one line per difference; names the two files first."""
    lines = [f"--- {_shown(a_name)}", f"+++ {_shown(b_name)}"]
    if not differences:
        lines.append("no differences")
    for difference in differences:
        if difference.note in ("variant added", "variant removed", "component added",
                               "component removed"):
            lines.append(f"{_shown(difference.path)}: {difference.note}")
            continue
        text = (f"{_shown(difference.path)}: {_shown(difference.before)} → "
                f"{_shown(difference.after)}")
        if difference.note == "origin changed" or (
                difference.before_origin != difference.after_origin
                and difference.before_origin is not None):
            text += f" (origin {difference.before_origin} → {difference.after_origin})"
        if difference.rationale:
            text += f" [{_shown(difference.rationale)}]"
        lines.append(text)
    return "\n".join(lines) + "\n"
