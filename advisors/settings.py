"""Thresholds of the advisors (`[advisors]` in config.toml), validated with one-line errors.

Every default below is documented with its unit and why it was chosen; AWS's hard limits (payload
sizes, serverless memory range) are not settings: they live in `advisors.limits`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from advisors.limits import SERVERLESS_MAX_CONCURRENCY
from ground.errors import ConfigError
from ground.schedule import CRON_DAYS
from ground.validation import describe_validation


class AdvisorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Right-sizing ---------------------------------------------------------------------------
    # Percent per instance (p95) the busiest of CPU and GPU may reach after a downsize. 60 leaves
    # room for the bursts a p95 over the lookback does not show and for one instance failing.
    target_utilisation_pct: float = Field(default=60.0, gt=0, le=100)
    # Percent of instance (or GPU) memory the model may fill after a downsize. Memory does not
    # burst with load like CPU does, so it may run fuller; 80 still leaves room for a new model.
    target_memory_pct: float = Field(default=80.0, gt=0, le=100)
    # Percent per instance (p95) at which the busiest resource counts as saturated. Above 85 %
    # queues build and latency climbs faster than load.
    saturation_pct: float = Field(default=85.0, gt=0, le=100)
    # GPU utilisation (percent per GPU, p95) under which a GPU endpoint may move to CPU. Under 5 %
    # the GPU is mostly holding memory; above it the model probably needs the accelerator.
    gpu_to_cpu_max_gpu_pct: float = Field(default=5.0, ge=0, le=100)
    # USD per month a change must save before it is worth a finding. $10 is below anyone's
    # review threshold but filters out rounding noise between near-identical types.
    min_monthly_savings_usd: float = Field(default=10.0, ge=0)

    # Errors -----------------------------------------------------------------------------------
    # 5XX share of requests over the lookback (fraction) that raises a warning / a critical.
    # 1 % is where an SLO of 99 % success is already spent; 5 % means users notice.
    error_rate_warning_ratio: float = Field(default=0.01, gt=0, le=1)
    error_rate_critical_ratio: float = Field(default=0.05, gt=0, le=1)
    # Requests over the lookback below which an error ratio is noise (3 errors in 10 calls).
    error_rate_min_requests: int = Field(default=100, ge=1)
    # 5XX ratio in the busiest hours divided by the ratio in the other hours above which errors
    # "rise with load" (a capacity problem, not a bug). 2x is clearly more than noise.
    errors_with_load_factor: float = Field(default=2.0, gt=1)
    # Share of hours (by traffic, top fraction) that counts as "the busiest hours". 0.1 = the
    # busiest tenth, enough hours over 14 days (33) for a stable ratio.
    busy_hour_fraction: float = Field(default=0.1, gt=0, lt=1)

    # Serverless -------------------------------------------------------------------------------
    # Fraction of observed hours without a single request above which an always-on endpoint is
    # mostly paying for nothing. 0.5: idle at least half the time.
    serverless_min_idle_hour_fraction: float = Field(default=0.5, ge=0, le=1)
    # Expected serverless cold start (ms) compared with the endpoint's cold-start tolerance.
    # AWS publishes no figure; several seconds is what ModelSetupTime shows for typical CPU
    # models, so 5,000 ms refuses serverless to anything that cannot wait that long.
    serverless_cold_start_estimate_ms: float = Field(default=5000.0, ge=0)
    # Multiplier on the memory the model uses today before picking a serverless size, so that
    # the model and the request buffers fit. 1.25 = 25 % headroom.
    serverless_memory_headroom: float = Field(default=1.25, ge=1)
    # Multiplier on the peak concurrency seen before suggesting MaxConcurrency (throttling above
    # it is an error, not a queue). 1.5 = 50 % headroom.
    serverless_concurrency_headroom: float = Field(default=1.5, ge=1)
    # MaxConcurrency the account can actually grant one endpoint (requests). AWS allows 200 per
    # endpoint, but applied account quotas are often lower (reports of 10): set the quota here.
    serverless_max_concurrency: int = Field(default=SERVERLESS_MAX_CONCURRENCY, ge=1,
                                            le=SERVERLESS_MAX_CONCURRENCY)

    # Async ------------------------------------------------------------------------------------
    # Fraction of the 60 s real-time/serverless timeout that model latency p99 may reach before
    # async is suggested. 0.8 = 48 s: one slow request away from a timeout.
    async_latency_fraction: float = Field(default=0.8, gt=0, le=1)

    # Traffic pattern (advisors.traffic: the one classification the rules, the profile and the
    # dashboard read) -----------------------------------------------------------------------
    # Hours of request data below which no pattern is named: a daily rhythm needs a whole day.
    traffic_min_hours: int = Field(default=24, ge=1, le=360)
    # Share of observed hours with a request under which traffic is "mostly quiet" (periodic or
    # intermittent). 0.5: the endpoint waits more than it works.
    quiet_max_active_hour_fraction: float = Field(default=0.5, gt=0, le=1)
    # How many hours of the day a periodic job's requests may spread over (hours). 4 covers a
    # nightly job that runs 2-3 hours plus drift of its start.
    periodic_hours_of_day: int = Field(default=4, ge=1, le=12)
    # Share of requests that must fall into those hours of the day for the traffic to be
    # periodic. 0.9: nine requests in ten come at the scheduled time.
    periodic_min_hour_of_day_share: float = Field(default=0.9, gt=0, le=1)
    # Share of the days observed with requests in those hours. 0.7 accepts weekday-only jobs
    # (5/7).
    periodic_min_day_fraction: float = Field(default=0.7, gt=0, le=1)
    # Share of the hourly variance the hour of day explains above which busy traffic is diurnal.
    # With 14 days of noise alone it explains about 7 %; 0.5 means the rhythm dominates.
    diurnal_min_r2: float = Field(default=0.5, gt=0, le=1)
    # (busiest - quietest hour of the average day) / mean hour above which the rhythm matters
    # for capacity; below it a daily ripple on steady traffic stays "steady".
    diurnal_min_swing: float = Field(default=0.5, gt=0)
    # Busiest hour / median hour at or above which busy traffic is spiky: 4x is a burst no fleet
    # sized for the median absorbs.
    spiky_min_peak_to_median: float = Field(default=4.0, gt=1)
    # Coefficient of variation of hourly requests (std / mean) above which busy traffic without
    # a daily rhythm is spiky rather than steady.
    steady_max_cv: float = Field(default=0.5, gt=0)

    # Off hours --------------------------------------------------------------------------------
    # Share of the lookback's requests that must fall inside the working window on working days
    # for the traffic to be "office hours" (fraction). 0.97: a stray evening call does not
    # count against it, a real night shift does.
    off_hours_min_window_share: float = Field(default=0.97, gt=0.5, le=1)
    # Shortest and longest working window (hours of the day, in the endpoint's time zone). Under
    # 6 h the traffic is a scheduled burst (batch-candidate); over 14 h little night is left.
    off_hours_min_window_hours: int = Field(default=6, ge=1, le=23)
    off_hours_max_window_hours: int = Field(default=14, ge=1, le=23)
    # Days of hourly traffic needed before office hours are called office hours (days): a week
    # covers every weekday once.
    off_hours_min_days: int = Field(default=7, ge=1, le=15)
    # Minutes before the window opens that capacity comes back: instances take minutes to be
    # provisioned and pass their health check, so the first caller finds them warm (minutes).
    off_hours_ramp_up_minutes: int = Field(default=30, ge=0, le=180)
    # The working days (cron day names). Weekends stay at the off-hours capacity.
    off_hours_working_days: tuple[str, ...] = ("MON", "TUE", "WED", "THU", "FRI")

    # Multi-model ------------------------------------------------------------------------------
    # Low-traffic endpoints sharing one container image in one region needed before one
    # multi-model endpoint is suggested. 3: consolidating fewer saves little and adds load waits.
    multi_model_min_endpoints: int = Field(default=3, ge=2)
    # Largest share of one shared instance's memory a single model may take (percent) for the
    # models to share a cache. 25 %: at least four models fit at once, so a cache miss evicts
    # one model among several, not the only one loaded. Low traffic is judged by how little of
    # an instance a model uses and whether the group fits on fewer instances, never by a
    # request count.
    multi_model_max_model_memory_pct: float = Field(default=25.0, gt=0, le=100)
    # Busiest resource (percent per instance, p95) under which an endpoint counts as lightly
    # loaded. 20 %: five such endpoints still fit one instance of the same type.
    multi_model_max_utilisation_pct: float = Field(default=20.0, gt=0, le=100)
    # Expected time (ms) to load a model into an MME on a cache miss, compared with the
    # endpoint's cold-start tolerance. Loading from S3 takes seconds; 5,000 ms as for serverless.
    multi_model_load_estimate_ms: float = Field(default=5000.0, ge=0)
    # Share of an existing multi-model endpoint's requests that must find their model loaded
    # (ModelCacheHit Average, fraction). Under 0.9, one request in ten or more waits for a load:
    # the cache is smaller than the models in use, and it thrashes if loads outlast tolerance.
    multi_model_min_cache_hit_ratio: float = Field(default=0.9, gt=0, le=1)
    # Memory per instance a thrashing cache is offered at least, as a multiple of today's (x).
    # 2: an MME holds models until memory is full, so twice the memory holds about twice as many.
    multi_model_cache_memory_factor: float = Field(default=2.0, gt=1)

    # Drift ------------------------------------------------------------------------------------
    # Model Monitor `feature_baseline_drift_*` distance above which a feature has drifted. 0.1 is
    # the comparison threshold Model Monitor's own suggested baseline constraints use.
    drift_distance_threshold: float = Field(default=0.1, gt=0)

    # A/B and shadow tests -----------------------------------------------------------------
    # Significance level of the variant comparisons (two-sided). 0.05: one false alarm in twenty
    # comparisons of truly equal variants, the usual bar for an experiment.
    ab_significance_level: float = Field(default=0.05, gt=0, lt=0.5)
    # Requests and hours with traffic each variant needs before a comparison is trusted. 1,000
    # requests let a 1 % error rate show ten errors; 24 hours cover one daily cycle.
    ab_min_requests: int = Field(default=1000, ge=10)
    ab_min_hours: int = Field(default=24, ge=2, le=336)
    # Days a variant must sit at weight 0 without a request before its test counts as finished
    # and the variant as idle. A week rules out a pause over a weekend.
    finished_test_days: int = Field(default=7, ge=1, le=14)

    # Inference Recommender ----------------------------------------------------------------
    # Monthly cost gap (fraction) under which two sizing options are "close": then a load test
    # is worth its price before choosing. 0.15: within 15 % the projection's error could
    # reverse the order.
    recommender_close_fraction: float = Field(default=0.15, gt=0, lt=1)
    # Production load over the load a recommendation was sized for (p95 requests per minute /
    # the recommended configuration's MaxInvocations) under which the load test sized for a
    # different workload. 0.5: production uses less than half of what was tested.
    recommender_load_ratio_low: float = Field(default=0.5, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> AdvisorSettings:
        if self.error_rate_critical_ratio < self.error_rate_warning_ratio:
            raise ValueError("expected error_rate_critical_ratio >= error_rate_warning_ratio")
        if self.saturation_pct < self.target_utilisation_pct:
            raise ValueError("expected saturation_pct >= target_utilisation_pct")
        if self.off_hours_max_window_hours < self.off_hours_min_window_hours:
            raise ValueError("expected off_hours_max_window_hours >= off_hours_min_window_hours")
        unknown = [d for d in self.off_hours_working_days if d not in CRON_DAYS]
        if unknown or not self.off_hours_working_days:
            raise ValueError("off_hours_working_days: expected day names among "
                             f"{', '.join(CRON_DAYS)}, got {list(self.off_hours_working_days)}")
        return self

    @classmethod
    def from_config(cls, raw: dict[str, Any], origin: str) -> AdvisorSettings:
        """Validate the raw `[advisors]` table; errors are one line naming file and key."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(describe_validation(exc, origin, section="advisors")) from None
