"""Errors that end a command with one clear line, and the exit codes they map to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # anything else: AWS unreachable, no credentials, an export that failed
    USAGE = 2  # bad arguments, bad configuration, bad input files


class SagetopError(Exception):
    """An expected failure: its message is the one line the user sees."""

    exit_code: ExitCode = ExitCode.FAILURE


class ConfigError(SagetopError):
    exit_code = ExitCode.USAGE


class UsageError(SagetopError):
    exit_code = ExitCode.USAGE


class ReadOnlyViolation(SagetopError):
    """An operation that could change the account was about to leave the process."""
