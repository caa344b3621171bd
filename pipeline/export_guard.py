"""When a collection may not replace an export: it failed, or it came back empty over a fleet.

An export directory is one consistent picture of a fleet (`fleet-summary.*` and one set of files
per endpoint). A collection without credentials, one whose inventory could not be read, or one
that met a failure that passes by itself (throttling, a timeout, an outage) does not describe the
fleet: writing it would replace good files with unknowns, or write an empty summary beside the
endpoint files of the last good run. An empty collection is only believed over an empty
directory, or when asked for (`--allow-empty`). Missing permissions do not block an export: they
stay missing until someone changes the policy, and the profiles say what they could not read.
"""

from __future__ import annotations

from pathlib import Path

from collectors.failures import is_transient
from ground.domain import CollectorError, FleetSnapshot
from ground.errors import SagetopError


class ExportRefused(SagetopError):
    """The export would not describe the fleet; nothing was written."""


def _blocks(error: CollectorError) -> bool:
    if error.permission:
        return False
    return error.source == "credentials" or error.operation == "ListEndpoints" or (
        is_transient(error))


def collection_failure(fleet: FleetSnapshot) -> str | None:
    """Why `fleet` cannot stand for the account, in one line; None when it can."""
    blocking = [e for e in fleet.errors if _blocks(e)]
    if not blocking:
        return None
    first = blocking[0]
    where = "" if first.source == "credentials" else f"{first.region}: "
    more = len({(e.region, e.message) for e in blocking}) - 1
    suffix = f" (and {more} more failure{'s' if more > 1 else ''})" if more else ""
    return f"collection failed ({where}{first.message}){suffix}"


def endpoints_in_export(out_dir: Path) -> int:
    """How many endpoints an earlier export in `out_dir` holds (0 when none)."""
    try:
        return sum(1 for _ in out_dir.glob("*/*.current.yaml"))
    except OSError:
        return 0


def refuse_export(fleet: FleetSnapshot, out_dir: Path, *, whole_fleet: bool,
                  allow_empty: bool = False) -> None:
    """Raise `ExportRefused` when writing `fleet` to `out_dir` would misdescribe the fleet."""
    failure = collection_failure(fleet)
    if failure is not None:
        raise ExportRefused(f"{failure}; nothing written to {out_dir}")
    if whole_fleet and not fleet.endpoints and not allow_empty:
        held = endpoints_in_export(out_dir)
        if held:
            raise ExportRefused(
                f"the collection found no endpoints in {', '.join(fleet.regions)} but {out_dir} "
                f"holds an export of {held} endpoint{'s' if held > 1 else ''}; nothing written "
                "(--allow-empty writes an empty fleet over it)")
