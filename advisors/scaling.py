"""What a new size means for an autoscaled variant: MinCapacity, MaxCapacity and target value.

An autoscaled variant is billed for its time-weighted mean instance count, and its count is set
by its scalable target and policy, not by a fixed number: a sizing ("the load needs about N
instances on average") is reached by changing those (aws-facts.md 4). Per-instance load
targets (invocations or concurrent requests per instance) scale with the instances: serving the
same traffic on N instances instead of M (time-weighted) puts M/N times the load on each.

The words follow the numbers: "lower" only where a number goes down, "raise" only where it goes up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisors.finding import ProfileChange
from ground.domain import AutoscalingInfo, ScalingPolicyInfo

# Predefined target-tracking metrics that measure load per instance (aws-facts.md 4).
PER_INSTANCE_METRICS = frozenset({
    "SageMakerVariantInvocationsPerInstance",
    "SageMakerVariantConcurrentRequestsPerModelHighResolution",
})
# Instances the time-weighted mean must exceed MinCapacity by for the variant to count as
# scaling out at times (0.1: more than an hour and a half a day at one instance above).
SCALES_OUT_ABOVE_MIN = 0.1


def per_instance_policy(scaling: AutoscalingInfo) -> ScalingPolicyInfo | None:
    """The target-tracking policy whose target is load per instance, if the variant has one."""
    return next((p for p in scaling.policies
                 if p.policy_type == "TargetTrackingScaling" and p.target_value is not None
                 and p.metric in PER_INSTANCE_METRICS), None)


def _target_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.2f}"


@dataclass(frozen=True)
class ScalingPlan:
    """The scalable target and policy that bring a variant to `projected_instances` on average."""

    min_capacity: int
    max_capacity: int
    new_min: int
    new_max: int
    mean_instances: float  # time-weighted mean over the lookback, today
    projected_instances: int  # what the load needs on average after the change
    policy: ScalingPolicyInfo | None = None
    new_target_value: float | None = None  # None: the target value stays

    @property
    def label(self) -> str:
        text = f"MinCapacity {self.new_min} / MaxCapacity {self.new_max}"
        if self.new_target_value is not None:
            text += f", target value {_target_text(self.new_target_value)}"
        return text

    def describe(self) -> str:
        """What to change, worded by the direction each number moves."""
        parts: list[str] = []
        low, high = self.min_capacity, self.max_capacity
        if self.new_min < low:
            parts.append(f"lower MinCapacity from {low} to {self.new_min}")
        elif self.new_min > low:
            parts.append(f"raise MinCapacity from {low} to {self.new_min} (smaller instances)")
        else:
            parts.append(f"keep MinCapacity {low}")
        if self.new_max < high:
            parts.append(f"lower MaxCapacity from {high} to {self.new_max}")
        elif self.new_max > high:
            parts.append(f"raise MaxCapacity from {high} to {self.new_max} (smaller instances)")
        policy = self.policy
        if policy is not None and self.new_target_value is not None and policy.target_value:
            verb = "raise" if self.new_target_value > policy.target_value else "lower"
            parts.append(f"{verb} the target value of {policy.name} ({policy.metric}) from "
                         f"{_target_text(policy.target_value)} to "
                         f"{_target_text(self.new_target_value)}")
        if self.new_max == high:
            parts.append(f"keep MaxCapacity {high}")
        return ", ".join(parts)

    def changes(self, variant: str) -> list[ProfileChange]:
        found: list[ProfileChange] = []
        if self.new_min != self.min_capacity:
            found.append(ProfileChange(characteristic="min_instances", current=self.min_capacity,
                                       proposed=self.new_min, variant=variant))
        if self.new_max != self.max_capacity:
            found.append(ProfileChange(characteristic="max_instances", current=self.max_capacity,
                                       proposed=self.new_max, variant=variant))
        if self.policy is not None and self.new_target_value is not None:
            found.append(ProfileChange(characteristic="scaling_target_value",
                                       current=self.policy.target_value,
                                       proposed=self.new_target_value, variant=variant))
        return found


def scaling_plan(scaling: AutoscalingInfo, mean_instances: float, same_type: bool,
                 needed: int, floor: int, peak_load_per_instance: float | None = None
                 ) -> ScalingPlan | None:
    """How to bring an autoscaled variant from `mean_instances` to `needed` on average.

    Same type: MinCapacity comes down to what the load needs (never up, never under `floor`);
    MaxCapacity stays (it only caps bursts and bills nothing while unused); a variant that
    scales out at times also needs its per-instance target raised, or it keeps scaling out as
    before, and so does one sitting at MinCapacity whose peak load per instance
    (`peak_load_per_instance`, in the policy's metric) would pass the target on fewer
    instances. A new type re-expresses every number in instances of that type. None when
    nothing that can be changed reaches the saving (a step policy on a variant that scales out).
    """
    low, high = scaling.min_capacity, scaling.max_capacity
    if mean_instances <= 0 or needed <= 0:
        return None
    ratio = needed / mean_instances
    if same_type:
        new_min = max(floor, min(low, needed))
        new_max = high
    else:
        new_min = max(floor, math.ceil(low * ratio - 1e-9))
        new_max = max(new_min + 1, math.ceil(high * ratio - 1e-9))
    policy = per_instance_policy(scaling)
    scales_out = mean_instances > low + SCALES_OUT_ABOVE_MIN
    new_target: float | None = None
    # Fewer instances carry the same traffic: the load on each rises by 1 / ratio.
    passes_target = (policy is not None and policy.target_value is not None
                     and peak_load_per_instance is not None
                     and peak_load_per_instance / ratio > policy.target_value)
    if policy is not None and policy.target_value and (scales_out or not same_type
                                                       or passes_target):
        proposed = policy.target_value / ratio
        rounded = round(proposed) if proposed >= 10 else round(proposed, 2)
        new_target = float(rounded) if rounded != policy.target_value else None
    if same_type and new_target is None and (scales_out or new_min == low):
        return None
    return ScalingPlan(min_capacity=low, max_capacity=high, new_min=new_min, new_max=new_max,
                       mean_instances=mean_instances, projected_instances=needed,
                       policy=policy if new_target is not None else None,
                       new_target_value=new_target)
