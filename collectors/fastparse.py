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
protocol renames or converts, so plain ones (strings, integers, booleans, lists and mappings of
them) are written by `json` itself into the body botocore built for the rest (the times, the
token). A query with anything else in it is left to botocore's walker.
"""

from __future__ import annotations

import json
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
    try:
        document = json.loads(body)
    except ValueError:
        return  # not the JSON protocol: botocore parses it
    if not isinstance(document, dict) or not isinstance(document.get("MetricDataResults"), list):
        return
    results = []
    for item in document.pop("MetricDataResults"):
        if not isinstance(item, dict):
            return  # unexpected: leave the whole answer to botocore
        stamps = _numbers(item.get("Timestamps"))
        values = _numbers(item.get("Values"))
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


def hold_plain_queries(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """`before-parameter-build`: plain queries kept out of botocore's serializer."""
    queries = params.get("MetricDataQueries")
    if isinstance(queries, list) and all(_plain(q) for q in queries):
        context[_HELD_QUERIES] = params.pop("MetricDataQueries")


def write_held_queries(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """`before-call`: the held queries written into the body botocore serialized (`params` is
    the request dict here)."""
    queries = context.pop(_HELD_QUERIES, None)
    if queries is None:
        return
    body = params.get("body") or b"{}"
    params["body"] = json.dumps({"MetricDataQueries": queries, **json.loads(body)}).encode()


def _plain(value: Any) -> bool:
    """JSON as botocore's serializer would write it for GetMetricData: no None (which botocore
    leaves out), no float, datetime or other type it would convert."""
    if isinstance(value, str | bool | int):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


def _numbers(listed: Any) -> npt.NDArray[np.float64] | None:
    """A JSON list of numbers as float64, or None if it is anything else (a string, a null, a
    boolean, a non-finite number)."""
    if not listed:
        return np.zeros(0, dtype=np.float64)
    if not isinstance(listed, list):
        return None
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
