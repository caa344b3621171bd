"""The error of a profile file that cannot be read, and its lines (the one vocabulary of
ground.validation, plus the target's cross-field rules, whose messages name their fields)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import ValidationError

from ground.errors import ExitCode, SagetopError
from ground.validation import describe_validation

# The error type of `MLProfile`'s cross-field rules (profiles.shape.target_problems).
PROFILE_RULE = "profile_rule"


class ProfileError(SagetopError):
    """A profile file that cannot be read: the user must fix the file (usage error).

    Its message is one line; `lines` has one line per problem when a target breaks several of
    the cross-field rules (`sagetop profile validate` prints each, naming file and field)."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, lines: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.lines: tuple[str, ...] = tuple(lines) or (message,)


def describe_profile_validation(exc: ValidationError, origin: str,
                                collapse: Iterable[str] = ()) -> str:
    """One line: the broken rules joined (each names its field), or ground.validation's."""
    first = exc.errors()[0]
    if first["type"] == PROFILE_RULE:
        return f"{origin}: {first['msg']}"
    return describe_validation(exc, origin, collapse=collapse)


def validation_lines(exc: ValidationError, origin: str, collapse: Iterable[str] = ()
                     ) -> list[str]:
    """One line per broken cross-field rule (`<origin>: <field>: <rule>`); any other mistake
    as the single line of `describe_profile_validation`."""
    first = exc.errors()[0]
    if first["type"] == PROFILE_RULE:
        each = (first.get("ctx") or {}).get("each") or ()
        if each:
            return [f"{origin}: {problem}" for problem in each]
    return [describe_profile_validation(exc, origin, collapse=collapse)]
