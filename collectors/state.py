"""What a collector hands to the state store and takes back on a warm start.

Plain values, no AWS: each collector exports its last good state (`export_state`) and restores
it before its first call (`restore_state`), keeping its own bookkeeping of what is fresh, so the
next pass asks AWS only for what changed or is new since the state was saved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from ground.domain import (
    AutoscalingInfo,
    AwsVerdict,
    EndpointSnapshot,
    InferenceComponentSnapshot,
    ModelMonitorState,
    ProvisioningRow,
    RecommenderJob,
    VerdictSourceStatus,
)


@dataclass(frozen=True)
class StoredEndpoint:
    """A described endpoint (config and models joined) and the listing fields it matched."""

    endpoint: EndpointSnapshot  # without tags and scaling: those are kept apart
    status: str
    last_modified: dt.datetime
    created: dt.datetime | None


@dataclass(frozen=True)
class StoredComponent:
    component: InferenceComponentSnapshot
    status: str
    last_modified: dt.datetime


@dataclass(frozen=True)
class InventoryState:
    """One region's inventory: what was described, and the settings with their fetch time."""

    endpoints: tuple[StoredEndpoint, ...] = ()
    components: tuple[StoredComponent, ...] = ()
    listed: tuple[str, ...] = ()  # endpoint names in listing order
    components_by_endpoint: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    autoscaling: dict[str, AutoscalingInfo] = field(default_factory=dict)
    config_history: dict[str, tuple[dt.datetime, ...]] = field(default_factory=dict)
    model_sizes: dict[str, int | None] = field(default_factory=dict)
    settings_fetched_at: dt.datetime | None = None  # tags, scaling and config history


@dataclass(frozen=True)
class MetricsState:
    """The series and how far each endpoint's are fetched (the ranges they cover)."""

    window: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    window_at: dict[str, dt.datetime] = field(default_factory=dict)
    window_range: tuple[dt.datetime, dt.datetime] | None = None
    hourly_until: dict[str, dt.datetime] = field(default_factory=dict)
    live_until: dict[str, dt.datetime] = field(default_factory=dict)  # "<key>#<group>"
    answered_until: dict[str, dt.datetime] = field(default_factory=dict)  # tier -> newest bucket
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hourly: dict[str, pd.DataFrame] = field(default_factory=dict)
    live: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectorState:
    """One account's fleet collector: every part's last good state."""

    account: str | None  # the account's name when several are watched; None: the only one
    account_id: str | None = None
    inventories: dict[str, InventoryState] = field(default_factory=dict)  # by region
    metrics: MetricsState = field(default_factory=MetricsState)
    monitor: dict[str, ModelMonitorState] = field(default_factory=dict)  # "<region>/<name>"
    provisioning: dict[str, tuple[ProvisioningRow, ...]] = field(default_factory=dict)
    jobs: dict[str, tuple[RecommenderJob, ...]] = field(default_factory=dict)
    verdicts: tuple[AwsVerdict, ...] = ()
    verdict_sources: tuple[VerdictSourceStatus, ...] = ()
