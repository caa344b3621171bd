"""A fast path for GetMetricData answers, through botocore's own `before-parse` hook.

botocore parses every element of `Timestamps` and `Values` through its generic shape walker,
~5 us apiece: a first load of 1,000 endpoints carries ~1,500,000 datapoints, so seconds of one
core. The answer's shape is fixed and simple, so this handler decodes `MetricDataResults` itself
(C `json`) and hands botocore the rest of the body to parse as usual. Anything unexpected (an
error answer, a body that is not JSON) is left to botocore untouched.

So every GetMetricData answer sagetop reads carries, in each result, `Timestamps` as a numpy
array of epoch seconds and `Values` as a numpy array of floats (float64 both), not botocore's
lists of datetimes and floats: the series are folded into arrays of epoch seconds anyway, and a
datetime per datapoint made and read back cost a second of a 1,000-endpoint cold start.

The request has its fast path too. botocore serializes each query by walking the model's shapes,
~60 us a query (30 ms for a call of 500); GetMetricData's queries have no member that the JSON
protocol renames or converts, so they are written by `json` itself (a millisecond) into the body
botocore built for the rest (the times, the token). Queries with a None, or a type `json` cannot
write, are left to botocore's walker.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import numpy.typing as npt

from collectors.failures import UnreadableAnswer
from ground.untrusted import shown


def parse_metric_data(response_dict: dict[str, Any], customized_response_dict: dict[str, Any],
                      **_: Any) -> None:
    if response_dict.get("status_code", 500) >= 300:
        return
    body = response_dict.get("body")
    if not isinstance(body, bytes | str) or not body:
        return
    raw = body.encode() if isinstance(body, str) else body
    document, arrays = _arrays_first(raw) or (None, [])
    if document is None:
        try:
            document = json.loads(raw)
        except ValueError:
            return  # not the JSON protocol: botocore parses it
    if not isinstance(document, dict) or not isinstance(document.get("MetricDataResults"), list):
        return
    results = []
    for item in document.pop("MetricDataResults"):
        if not isinstance(item, dict):
            return  # unexpected: leave the whole answer to botocore
        stamps = _numbers(item.get("Timestamps"), arrays)
        values = _numbers(item.get("Values"), arrays)
        if stamps is None or values is None:
            # One field that is not its type fails this call (and its part), not the run.
            raise UnreadableAnswer(
                detail=f"GetMetricData result {shown(item.get('Id'))} has a timestamp or "
                       "value that is not a number")
        results.append({**item, "Timestamps": stamps, "Values": values})
    customized_response_dict["MetricDataResults"] = results
    response_dict["body"] = json.dumps(document).encode()


# Where the queries wait, in botocore's per-call context, between parameters and request.
_HELD_QUERIES = "sagetop-fast-metric-data-queries"


def hold_plain_queries(params: dict[str, Any], model: Any, context: dict[str, Any],
                       **_: Any) -> None:
    """`before-parameter-build`: plain queries, written as JSON here, kept out of botocore's
    serializer. A `null` in them is a None botocore would leave out (or, as well, a text
    "null"): those are botocore's to write, as are the queries of a protocol not JSON."""
    queries = params.get("MetricDataQueries")
    service = getattr(model, "service_model", None)
    protocol = getattr(service, "resolved_protocol", getattr(service, "protocol", None))
    if not isinstance(queries, list) or protocol != "json":
        return
    try:
        written = json.dumps(queries, allow_nan=False).encode()
    except (TypeError, ValueError):
        return  # a datetime, a NaN or other type botocore converts or refuses
    if b"null" not in written:
        del params["MetricDataQueries"]
        context[_HELD_QUERIES] = written


def write_held_queries(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """`before-call`: the held queries spliced into the JSON object botocore serialized for the
    rest of the call (`params` is the request dict here)."""
    written = context.pop(_HELD_QUERIES, None)
    if written is None:
        return
    body = params.get("body") or b"{}"
    rest = (body.encode() if isinstance(body, str) else body).strip()
    # The JSON protocol's body is an object: anything else is a botocore this was not made for.
    if not rest.startswith(b"{"):
        raise RuntimeError("GetMetricData's request body is not a JSON object")
    params["body"] = (b'{"MetricDataQueries":' + written
                      + (b"}" if rest[1:].strip() == b"}" else b"," + rest[1:]))


# A result's list of numbers, as AWS writes it: no bracket can come inside one.
_NUMBER_LIST = re.compile(rb'"(Timestamps|Values)"\s*:\s*\[([^\[\]]*)\]')


class _Parsed(int):
    """Where a number list stood in the body: an index into the arrays parsed from it (an int
    of its own type, so that a number the answer itself holds is never taken for one)."""


def _arrays_first(body: bytes) -> tuple[dict[str, Any], list[npt.NDArray[np.float64]]] | None:
    """The answer with each result's `Timestamps` and `Values` parsed straight into float64
    (numpy's C reader), not into a Python float per datapoint then an array: a third less CPU,
    and a 500-result answer no longer holds ~60 MB of float objects while it is read. None
    when the body is anything but the plain shape (the general path then reads it)."""
    arrays: list[npt.NDArray[np.float64]] = []

    def parsed(match: re.Match[bytes]) -> bytes:
        listed = match.group(2)
        numbers = (np.fromstring(listed, dtype=np.float64, sep=",") if listed.strip()
                   else np.zeros(0, dtype=np.float64))
        if numbers.size and numbers.size != listed.count(b",") + 1:
            raise ValueError("a number list with an empty item")  # "1,2," reads as [1, 2]
        arrays.append(numbers)
        return b'"%s":{"sagetop-parsed":%d}' % (match.group(1), len(arrays) - 1)

    try:
        document = json.loads(_NUMBER_LIST.sub(parsed, body))
    except ValueError:
        return None
    results = document.get("MetricDataResults") if isinstance(document, dict) else None
    if not isinstance(results, list):
        return None
    # Every parsed list is a result's, once: the marks are ours, not something in the answer.
    seen: list[int] = []
    for item in results:
        if not isinstance(item, dict):
            return None
        for key in ("Timestamps", "Values"):
            mark = item.get(key)
            if isinstance(mark, dict) and set(mark) == {"sagetop-parsed"}:
                index = mark["sagetop-parsed"]
                if not isinstance(index, int) or not 0 <= index < len(arrays):
                    return None
                seen.append(index)
                item[key] = _Parsed(index)
    if sorted(seen) != list(range(len(arrays))):
        return None
    return document, arrays


def _numbers(listed: Any, arrays: list[npt.NDArray[np.float64]]
             ) -> npt.NDArray[np.float64] | None:
    """A result's numbers as float64 (parsed already, or a JSON list), or None if they are
    anything else (a string, a null, a boolean, a non-finite number)."""
    if isinstance(listed, _Parsed):
        parsed = arrays[listed]
        return parsed if bool(np.isfinite(parsed).all()) else None
    if not listed:
        return np.zeros(0, dtype=np.float64)
    if not isinstance(listed, list) or any(isinstance(x, bool) for x in listed):
        return None  # numpy would read true as 1
    array = np.asarray(listed)
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        return None
    floats = array.astype(np.float64, copy=False)
    return floats if bool(np.isfinite(floats).all()) else None


def epoch_seconds(stamps: Any) -> npt.NDArray[np.float64]:
    """A result's `Timestamps` as epoch seconds: this fast path's array as it is, botocore's
    datetimes (an answer it parsed itself) converted."""
    if isinstance(stamps, np.ndarray):
        return stamps.astype(np.float64, copy=False)
    listed = list(stamps or ())
    return np.fromiter((t.timestamp() for t in listed), dtype=np.float64, count=len(listed))


def install(session: Any) -> None:
    emitter = session.get_component("event_emitter")
    emitter.register("before-parse.cloudwatch.GetMetricData", parse_metric_data,
                     unique_id="sagetop-fast-metric-data")
    emitter.register("before-parameter-build.cloudwatch.GetMetricData", hold_plain_queries,
                     unique_id="sagetop-fast-metric-data-hold")
    emitter.register("before-call.cloudwatch.GetMetricData", write_held_queries,
                     unique_id="sagetop-fast-metric-data-write")
