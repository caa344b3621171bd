"""One-line messages for bad profile files and bad `[maturity]` settings.

A person fixing a hand-edited file needs three things on one line: which file, which field (as a
path: `variants[0].instance_count`), and what was expected versus what was found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ground.errors import ExitCode, SagetopError
from ground.untrusted import shown


class ProfileError(SagetopError):
    """A profile file that cannot be read: the user must fix the file (usage error).

    Its message is one line; `lines` has one line per problem when a target breaks several of
    the cross-field rules (`sagetop profile validate` prints each, naming file and field)."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, lines: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.lines: tuple[str, ...] = tuple(lines) or (message,)


_EXPECTED_BY_TYPE = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
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
}


def expected_text(error: ErrorDetails) -> str:
    """What the field wanted, in words."""
    kind = error["type"]
    context: dict[str, Any] = dict(error.get("ctx") or {})
    if kind in _EXPECTED_BY_TYPE:
        return _EXPECTED_BY_TYPE[kind]
    if kind == "greater_than":
        return f"a number greater than {context['gt']}"
    if kind == "greater_than_equal":
        return f"a number of at least {context['ge']}"
    if kind == "less_than":
        return f"a number less than {context['lt']}"
    if kind == "less_than_equal":
        return f"a number of at most {context['le']}"
    if kind in ("enum", "literal_error"):
        return f"one of {context.get('expected', '?')}"
    return str(error["msg"]).lower()


def field_path(location: Sequence[int | str], collapse: Iterable[str] = ()) -> str:
    """`('variants', 0, 'instance_count', 'value')` → `variants[0].instance_count`.

    A characteristic's `value` is dropped after the names in `collapse`: in the file the person
    thinks of `instance_count` as the thing that is wrong, not its inner `value` key.
    """
    collapsible = set(collapse)
    parts: list[str] = []
    previous: int | str | None = None
    for position, item in enumerate(location):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item == "value" and isinstance(previous, str) and previous in collapsible and (
                position == len(location) - 1 or isinstance(location[position + 1], int)):
            pass
        else:
            parts.append(("." if parts else "") + str(item))
        previous = item
    return "".join(parts) or "(top level)"


def describe_validation(exc: ValidationError, origin: str, prefix: str | None = None,
                        collapse: Iterable[str] = ()) -> str:
    """`<origin>: <field path>: expected <what>, got <input>` (+ how many more problems)."""
    errors = exc.errors()
    first = errors[0]
    location: list[int | str] = [prefix] if prefix else []
    location += list(first["loc"])
    path = field_path(location, collapse)
    kind = first["type"]
    if kind == "profile_rule":
        # Rules across fields (profiles.shape): their messages name the fields themselves.
        return f"{origin}: {first['msg']}"
    if kind == "extra_forbidden":
        what = "unknown field"
    elif kind == "missing":
        what = "missing required field"
    else:
        what = f"expected {expected_text(first)}, got {shown(first.get('input'))}"
    more = len(errors) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{origin}: {path}: {what}{suffix}"


def validation_lines(exc: ValidationError, origin: str, collapse: Iterable[str] = ()
                     ) -> list[str]:
    """One line per problem of a target's cross-field rules (`<origin>: <field>: <rule>`);
    any other mistake as `describe_validation`'s single line."""
    first = exc.errors()[0]
    if first["type"] == "profile_rule":
        each = (first.get("ctx") or {}).get("each") or ()
        if each:
            return [f"{origin}: {problem}" for problem in each]
    return [describe_validation(exc, origin, collapse=collapse)]
