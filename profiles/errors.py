"""The error of a profile file that cannot be read (its one-line message: ground.validation)."""

from __future__ import annotations

from ground.errors import ExitCode, SagetopError


class ProfileError(SagetopError):
    """A profile file that cannot be read: the user must fix the file (usage error)."""

    exit_code = ExitCode.USAGE
