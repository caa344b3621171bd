"""The shape of every endpoint's hourly traffic, and its pattern, in one pass over the fleet.

Input: requests (and 5XX errors) per hour, one column per endpoint key, NaN where there is no
data (never read as zero). Output: one row per endpoint with the idle hours, the burstiness, the
errors against load and the traffic pattern, with the measures behind it and a reason in words.
The profile, the rules and the dashboard all read the pattern decided here, on the thresholds of
`[advisors]` (`advisors.settings`): nothing else classifies traffic.

Six patterns, decided in this order because each test assumes the earlier ones failed: idle (no
request at all), periodic (requests come in the same few hours of most days: a nightly job),
intermittent (mostly quiet hours, no fixed time), diurnal (busy every hour, with a daily rhythm),
spiky (busy, with bursts well above the usual hour) and steady (none of the above).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from advisors.settings import AdvisorSettings


class TrafficPattern(StrEnum):
    STEADY = "steady"
    DIURNAL = "diurnal"
    SPIKY = "spiky"
    INTERMITTENT = "intermittent"
    PERIODIC = "periodic"
    IDLE = "idle"


def _empty(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(np.nan, index=pd.DatetimeIndex([], tz="UTC"), columns=index)


def hourly_shape(requests: pd.DataFrame | None, errors: pd.DataFrame | None, index: pd.Index,
                 settings: AdvisorSettings) -> pd.DataFrame:
    """One row per endpoint key of `index`: the hourly shape of its traffic and its pattern.

    `requests` and `errors`: hours x endpoint keys (already summed over what carries the
    endpoint's traffic); a key without a column has no data.
    """
    requests = _empty(index) if requests is None or requests.empty else requests.reindex(
        columns=index)
    errors = (_empty(index) if errors is None or errors.empty else errors.reindex(
        columns=index)).reindex(index=requests.index)
    values = requests.to_numpy(dtype="float64")
    stamps = pd.DatetimeIndex(requests.index)
    observed = ~np.isnan(values)
    active = observed & (values > 0)
    filled = np.nan_to_num(values, nan=0.0)
    hours_observed = observed.sum(axis=0)
    active_hours = active.sum(axis=0)
    columns = np.arange(values.shape[1])
    # Only endpoints with data reach nanmedian / nanvar: on an all-NaN column they warn, and
    # silencing that with warnings.catch_warnings is not thread-safe (the live session analyses
    # in a worker thread while the app runs). The others stay NaN: no data is not zero.
    has_data = hours_observed > 0
    median = np.full(len(columns), np.nan)
    variance = np.full(len(columns), np.nan)
    if has_data.any():
        median[has_data] = np.nanmedian(values[:, has_data], axis=0)
        variance[has_data] = np.nanvar(values[:, has_data], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(hours_observed > 0, filled.sum(axis=0), np.nan)
        mean = total / hours_observed
        # `initial` lets a fleet without any hourly data through (zero rows).
        peak = np.where(hours_observed > 0,
                        np.max(np.where(observed, values, -np.inf), axis=0, initial=-np.inf),
                        np.nan)
        active_fraction = active_hours / hours_observed

        # By hour of day: requests, hours observed, and the endpoint's busiest hours of day
        # (ties to the earlier hour, so the answer does not depend on a sort's whims).
        hour = stamps.hour.to_numpy()
        by_hour = np.zeros((24, len(columns)))
        seen_by_hour = np.zeros((24, len(columns)))
        np.add.at(by_hour, hour, filled)
        np.add.at(seen_by_hour, hour, observed.astype("float64"))
        top = np.argsort(-by_hour, axis=0, kind="stable")[:settings.periodic_hours_of_day]
        in_top = np.zeros((24, len(columns)), dtype=bool)
        np.put_along_axis(in_top, top, True, axis=0)
        hour_of_day_share = np.take_along_axis(by_hour, top, axis=0).sum(axis=0) / total

        # By day: days observed, and days with a burst in the busiest hours of day.
        day_codes, _ = pd.factorize(stamps.normalize())
        days = int(day_codes.max()) + 1 if len(day_codes) else 0
        day_seen = np.zeros((days, len(columns)))
        day_burst = np.zeros((days, len(columns)))
        np.add.at(day_seen, day_codes, observed.astype("float64"))
        np.add.at(day_burst, day_codes, (active & in_top[hour]).astype("float64"))
        days_observed = (day_seen > 0).sum(axis=0)
        burst_days = (day_burst > 0).sum(axis=0)
        burst_day_fraction = burst_days / days_observed

        # The daily rhythm: the share of the hourly variance the hour of day explains (between
        # hours of day over the total, both over the observed hours) and the average day's
        # swing between its busiest and quietest hour, against the mean hour.
        hour_mean = np.where(seen_by_hour > 0, by_hour / seen_by_hour, np.nan)
        between = np.nansum(seen_by_hour * (hour_mean - mean) ** 2, axis=0) / hours_observed
        diurnal_r2 = np.where(variance > 0, between / variance, 0.0)
        swing = (np.nanmax(hour_mean, axis=0, initial=-np.inf)
                 - np.nanmin(hour_mean, axis=0, initial=np.inf)) / mean
        cv = np.sqrt(variance) / mean
        peak_to_median = np.where(median > 0, peak / median, np.inf)
        burstiness = peak / mean  # peak hour over mean hour

        # Errors against load: the 5XX ratio in the busiest hours against the other hours. The
        # busy threshold is the (1 - busy_hour_fraction) quantile of the hours with traffic,
        # read from one sort of the whole matrix (NaN sorts last), not a quantile per column.
        ranked = np.sort(np.where(active, values, np.nan), axis=0)
        position = np.floor((active_hours - 1) * (1.0 - settings.busy_hour_fraction)).astype(int)
        busy_threshold = np.where(
            active_hours > 0, ranked[np.clip(position, 0, None), columns] if len(ranked)
            else np.nan, np.nan)
        busy = active & (values >= busy_threshold[None, :])
        quiet = active & ~busy
        err = np.nan_to_num(errors.to_numpy(dtype="float64"), nan=0.0)
        busy_error_ratio = (err * busy).sum(axis=0) / (filled * busy).sum(axis=0)
        quiet_error_ratio = (err * quiet).sum(axis=0) / (filled * quiet).sum(axis=0)

        # Hours without data after the first hour with data: an endpoint that scales to zero
        # publishes nothing while it has no copies.
        since_first = np.cumsum(observed, axis=0) > 0
        unobserved_hours = (since_first & ~observed).sum(axis=0)

    frame = pd.DataFrame({
        "hourly_requests_total": total,
        "hours_observed": hours_observed,
        "active_hours": active_hours,
        "active_hour_fraction": active_fraction,
        "idle_hour_fraction": 1.0 - active_fraction,
        "mean_requests_per_hour": mean,
        "peak_requests_per_hour": peak,
        "burstiness": burstiness,
        "hour_of_day_share": hour_of_day_share,
        "burst_day_fraction": burst_day_fraction,
        "days_observed": days_observed,
        "burst_days": burst_days,
        "diurnal_r2": diurnal_r2,
        "diurnal_swing": swing,
        "hourly_cv": cv,
        "peak_to_median": peak_to_median,
        "busy_hour_error_ratio": busy_error_ratio,
        "quiet_hour_error_ratio": quiet_error_ratio,
        "unobserved_hours": unobserved_hours,
    }, index=index)
    top_hours = [tuple(sorted(int(h) for h in top[:, i])) for i in columns]
    patterns, reasons = _classify(frame, top_hours, settings)
    # Object columns: None stays None ("no pattern named"), never NaN.
    frame["traffic_pattern"] = pd.Series(patterns, index=index, dtype=object)
    frame["traffic_reason"] = pd.Series(reasons, index=index, dtype=object)
    return frame


def _classify(frame: pd.DataFrame, top_hours: list[tuple[int, ...]],
              settings: AdvisorSettings) -> tuple[list[TrafficPattern | None], list[str]]:
    """The pattern of each row, with the reason in words (the numbers it was decided on)."""
    s = settings
    patterns: list[TrafficPattern | None] = []
    reasons: list[str] = []
    columns = ("hours_observed", "hourly_requests_total", "active_hour_fraction",
               "hour_of_day_share", "burst_day_fraction", "days_observed", "burst_days",
               "diurnal_r2", "diurnal_swing", "hourly_cv", "peak_to_median")
    for values, hours_of_day in zip(zip(*(frame[c].tolist() for c in columns), strict=True),
                                    top_hours, strict=True):
        (hours, total, active, share, burst_fraction, days, burst_days, r2, swing, cv,
         peak_to_median) = values
        hours = int(hours)
        if hours < s.traffic_min_hours:
            patterns.append(None)
            reasons.append(f"only {hours} h of request data; need {s.traffic_min_hours} h")
        elif total <= 0.0:
            patterns.append(TrafficPattern.IDLE)
            reasons.append(f"no request in {hours} h observed")
        elif active < s.quiet_max_active_hour_fraction:
            if (days >= 2 and share >= s.periodic_min_hour_of_day_share
                    and burst_fraction >= s.periodic_min_day_fraction):
                hours_text = ", ".join(f"{h:02d}:00" for h in hours_of_day)
                patterns.append(TrafficPattern.PERIODIC)
                reasons.append(f"{share:.0%} of requests fall in {hours_text} UTC on "
                               f"{int(burst_days)} of {int(days)} days; {active:.0%} of hours "
                               "active")
            else:
                patterns.append(TrafficPattern.INTERMITTENT)
                reasons.append(f"requests in only {active:.0%} of hours, at no fixed time of day "
                               f"(busiest {s.periodic_hours_of_day} hours of day hold "
                               f"{share:.0%})")
        elif days >= 2 and r2 >= s.diurnal_min_r2 and swing >= s.diurnal_min_swing:
            patterns.append(TrafficPattern.DIURNAL)
            reasons.append(f"the hour of day explains {r2:.0%} of the variation; the average day "
                           f"swings {swing:.0%} of the mean between its busiest and quietest "
                           "hour")
        else:
            spiky = peak_to_median >= s.spiky_min_peak_to_median or cv > s.steady_max_cv
            patterns.append(TrafficPattern.SPIKY if spiky else TrafficPattern.STEADY)
            reasons.append(f"busiest hour {peak_to_median:.1f}x the median hour; coefficient of "
                           f"variation {cv:.2f}")
    return patterns, reasons
