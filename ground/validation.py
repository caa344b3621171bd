"""One-line messages for pydantic validation errors, in one vocabulary for every file sagetop reads.

config.toml, its `[advisors]`, `[maturity]` and `[requirements]` sections, hand-edited profile
files and the price cache all say the same thing the same way: which file, which key (as a path:
`requirements.rules[2].min_instances`), and what was expected versus what was found. What was
found is quoted through `ground.untrusted.shown`: a few dozen inert characters, whatever the file
held.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ground.untrusted import inert, shown

_EXPECTED_BY_TYPE = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "datetime_parsing": "a date-time such as 2026-01-31T12:00:00Z",
    "datetime_type": "a date-time such as 2026-01-31T12:00:00Z",
    "datetime_from_date_parsing": "a date-time such as 2026-01-31T12:00:00Z",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
}


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def expected_text(error: ErrorDetails) -> str:
    """What the key wanted, in words."""
    kind = error["type"]
    context: dict[str, Any] = dict(error.get("ctx") or {})
    if kind in _EXPECTED_BY_TYPE:
        return _EXPECTED_BY_TYPE[kind]
    if kind == "greater_than":
        return f"a number greater than {_number(context['gt'])}"
    if kind == "greater_than_equal":
        return f"a number of at least {_number(context['ge'])}"
    if kind == "less_than":
        return f"a number less than {_number(context['lt'])}"
    if kind == "less_than_equal":
        return f"a number of at most {_number(context['le'])}"
    if kind in ("enum", "literal_error"):
        choices = str(context.get("expected", "?"))
        return f"one of {choices}" if " or " in choices else choices
    if kind == "string_too_short" and context.get("min_length") == 1:
        return "non-empty text"
    return str(error["msg"]).lower()


def field_path(location: Sequence[int | str], collapse: Iterable[str] = ()) -> str:
    """`('variants', 0, 'instance_count', 'value')` -> `variants[0].instance_count`.

    A profile characteristic's `value` is dropped after the names in `collapse`: in the file the
    person thinks of `instance_count` as the thing that is wrong, not its inner `value` key. The
    `[key]` marker pydantic adds for a bad mapping key is dropped too: the key itself is named.
    """
    collapsible = set(collapse)
    parts: list[str] = []
    previous: int | str | None = None
    for position, item in enumerate(location):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item == "[key]" or (
                item == "value" and isinstance(previous, str) and previous in collapsible and (
                    position == len(location) - 1 or isinstance(location[position + 1], int))):
            pass
        else:
            parts.append(("." if parts else "") + str(item))
        previous = item
    return "".join(parts) or "(top level)"


def describe_validation(exc: ValidationError, origin: str, section: str | None = None,
                        collapse: Iterable[str] = ()) -> str:
    """`<origin>: <key path>: expected <what>, got <input>` (+ how many more problems).

    `section` is where the validated model sits in the file (`advisors` for the `[advisors]`
    table), so the path names the key as the person wrote it.
    """
    errors = exc.errors()
    first = errors[0]
    location: list[int | str] = [section] if section else []
    location += list(first["loc"])
    path = field_path(location, collapse)
    kind = first["type"]
    if kind == "extra_forbidden":
        what = "unknown key"
    elif kind == "missing":
        what = "missing required key"
    elif kind == "value_error":
        # A validator's own words ("expected [[requirements.rules]] entries ..."): kept as said.
        # The value follows for a key's own check, unless the words quote it already; a whole
        # table's check (no key) would repeat the table, so it does not.
        reason = inert(str((first.get("ctx") or {}).get("error", first["msg"])),
                       one_line=True, limit=120)
        found = shown(first.get("input"))
        what = reason if not first["loc"] or found in reason else f"{reason}, got {found}"
    else:
        what = f"expected {expected_text(first)}, got {shown(first.get('input'))}"
    more = len(errors) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{origin}: {path}: {what}{suffix}"
