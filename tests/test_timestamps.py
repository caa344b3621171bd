"""Timestamps of answers (collectors.aws.utc_timestamp): the common text forms read by the
standard library give what botocore's own reader gives, in UTC; odd ones still go to botocore,
and what is not a time fails the call with a one-line reason."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest
from botocore.utils import parse_timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.aws import utc_timestamp
from collectors.failures import UnreadableAnswer

moments = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 1, 1),
                       timezones=st.just(dt.UTC))


def botocore_reads(text: str) -> dt.datetime:
    parsed: dt.datetime = parse_timestamp(text)
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@settings(max_examples=300, deadline=None)
@given(moments, st.sampled_from(["http", "iso-z", "iso-ms-z", "iso-offset", "epoch-text"]))
def test_text_timestamps_read_as_botocore_reads_them(moment: dt.datetime, form: str) -> None:
    text = {
        "http": format_datetime(moment.replace(microsecond=0), usegmt=True),
        "iso-z": moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso-ms-z": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "iso-offset": moment.isoformat(),
        "epoch-text": str(int(moment.timestamp())),
    }[form]
    mine = utc_timestamp(text)
    assert mine == botocore_reads(text)
    assert mine.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("text", ["", "soon", "Wed, 99 Dec 2026 13:21:53 GMT",
                                  "2026-13-02T13:21:53Z"])
def test_a_text_that_is_not_a_time_fails_its_call(text: str) -> None:
    with pytest.raises(UnreadableAnswer):
        utc_timestamp(text)
