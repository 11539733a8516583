"""Step-scaling policies: the step-adjustment rules of Application Auto Scaling's PutScalingPolicy.

Source for every rule here: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html
("There are a few rules for the step adjustments for your step policy"). The rules that the model
already enforces (no overlap or gap between steps, one open lower bound on the lowest step, one open
upper bound on the highest) are not repeated.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.api.rules.base import Violation, rule
from controller.api.scaling_policy import ScalingPolicy, Step

STEPS = ("spec", "stepScaling", "steps")


def _steps(policy: ScalingPolicy) -> list[Step]:
    return list(policy.spec.step_scaling.steps) if policy.spec.step_scaling else []


@rule(ScalingPolicy)
def step_has_a_bound(policy: ScalingPolicy) -> Iterator[Violation]:
    """"The upper and lower bound can't be null in the same step adjustment."
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html"""
    for index, step in enumerate(_steps(policy)):
        if step.lower_bound is None and step.upper_bound is None:
            yield Violation((*STEPS, index), "a step needs lowerBound, upperBound or both; AWS refuses a step "
                                             "with neither (it would match every value)")


@rule(ScalingPolicy)
def negative_lower_bound_needs_open_step(policy: ScalingPolicy) -> Iterator[Violation]:
    """"If one step adjustment has a negative lower bound, then there must be a step adjustment with a null
    lower bound." https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html"""
    steps = _steps(policy)
    if any(step.lower_bound is None for step in steps):
        return
    for index, step in enumerate(steps):
        if step.lower_bound is not None and step.lower_bound < 0:
            yield Violation((*STEPS, index, "lowerBound"),
                            f"a negative lowerBound ({step.lower_bound:g}) needs another step without lowerBound "
                            "below it (AWS: the steps must reach minus infinity)")
            return


@rule(ScalingPolicy)
def positive_upper_bound_needs_open_step(policy: ScalingPolicy) -> Iterator[Violation]:
    """"If one step adjustment has a positive upper bound, then there must be a step adjustment with a null
    upper bound." https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html"""
    steps = _steps(policy)
    if any(step.upper_bound is None for step in steps):
        return
    for index, step in enumerate(steps):
        if step.upper_bound is not None and step.upper_bound > 0:
            yield Violation((*STEPS, index, "upperBound"),
                            f"a positive upperBound ({step.upper_bound:g}) needs another step without upperBound "
                            "above it (AWS: the steps must reach infinity)")
            return


@rule(ScalingPolicy)
def exact_capacity_is_not_negative(policy: ScalingPolicy) -> Iterator[Violation]:
    """"For exact capacity, you must specify a non-negative value." (ScalingAdjustment)
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html"""
    scaling = policy.spec.step_scaling
    if scaling is None or scaling.adjustment_type != "ExactCapacity":
        return
    for index, step in enumerate(scaling.steps):
        if step.adjustment < 0:
            yield Violation((*STEPS, index, "adjustment"),
                            f"with adjustmentType ExactCapacity an adjustment is a capacity and must be at least 0 "
                            f"(got {step.adjustment})")
