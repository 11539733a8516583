"""S3 lifecycle rules: how transitions, expirations and filters combine.

Sources: https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html
(supported transitions, minimum days), https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
(lifecycle configuration elements). The 30-day minimum for current-version transitions to STANDARD_IA and
ONEZONE_IA and the tag-filter limit on abortIncompleteMultipartUpload are checked by the model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise

from controller.api.bucket import Bucket, LifecycleRule
from controller.api.rules.base import Violation, rule
from controller.api.yamldoc import PathKey

# S3's "waterfall": a lifecycle rule moves objects down it, never up.
WATERFALL = ("STANDARD_IA", "INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
INFREQUENT_ACCESS = frozenset({"STANDARD_IA", "ONEZONE_IA"})
IA_MINIMUM_DAYS = 30


def _rules(bucket: Bucket) -> Iterator[tuple[PathKey, LifecycleRule]]:
    for index, lifecycle_rule in enumerate(bucket.spec.lifecycle_rules or ()):
        yield ("spec", "lifecycleRules", index), lifecycle_rule


def _steps(lifecycle_rule: LifecycleRule, noncurrent: bool) -> tuple[str, str, list[tuple[int, int, str]]]:
    """(list field, days field, [(index, days, storage class)]) of a rule's current or noncurrent transitions."""
    if noncurrent:
        items = [(i, t.noncurrent_days, str(t.storage_class))
                 for i, t in enumerate(lifecycle_rule.noncurrent_version_transitions or ())]
        return "noncurrentVersionTransitions", "noncurrentDays", items
    items = [(i, t.days, str(t.storage_class)) for i, t in enumerate(lifecycle_rule.transitions or ())]
    return "transitions", "days", items


@rule(Bucket)
def noncurrent_infrequent_access_after_30_days(bucket: Bucket) -> Iterator[Violation]:
    """"If you are transitioning noncurrent objects (in versioned buckets), you can transition only objects
    that are at least 30 days noncurrent to S3 Standard-IA or S3 One Zone-IA storage."
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html"""
    for path, lifecycle_rule in _rules(bucket):
        field, days_field, steps = _steps(lifecycle_rule, noncurrent=True)
        for index, days, storage_class in steps:
            if storage_class in INFREQUENT_ACCESS and days < IA_MINIMUM_DAYS:
                yield Violation((*path, field, index, days_field),
                                f"{storage_class} takes versions noncurrent for at least {IA_MINIMUM_DAYS} days "
                                f"(got {days})")


def _waterfall(path: PathKey, lifecycle_rule: LifecycleRule, noncurrent: bool) -> Iterator[Violation]:
    field, days_field, steps = _steps(lifecycle_rule, noncurrent)
    ordered = sorted(steps, key=lambda step: (step[1], WATERFALL.index(step[2])))
    for (_, previous_days, previous_class), (index, days, storage_class) in pairwise(ordered):
        if storage_class == previous_class:
            yield Violation((*path, field, index, "storageClass"),
                            f"two transitions to {storage_class} in one rule; S3 takes one per storage class")
        elif WATERFALL.index(storage_class) < WATERFALL.index(previous_class):
            yield Violation((*path, field, index, "storageClass"),
                            f"S3 does not move objects from {previous_class} (day {previous_days}) up to "
                            f"{storage_class} (day {days}); transitions go {' -> '.join(WATERFALL)}")
        elif days == previous_days:
            yield Violation((*path, field, index, days_field),
                            f"transitions to {previous_class} and {storage_class} on the same day ({days})")
        elif previous_class in INFREQUENT_ACCESS and days - previous_days < IA_MINIMUM_DAYS:
            yield Violation((*path, field, index, days_field),
                            f"objects stay in {previous_class} at least {IA_MINIMUM_DAYS} days: the transition to "
                            f"{storage_class} must be at least day {previous_days + IA_MINIMUM_DAYS} (got {days})")
        else:
            continue
        return


@rule(Bucket)
def transitions_follow_the_waterfall(bucket: Bucket) -> Iterator[Violation]:
    """Objects move down S3 Standard-IA -> Intelligent-Tiering -> One Zone-IA -> Glacier Instant Retrieval ->
    Glacier Flexible Retrieval -> Deep Archive, never up; objects stay at least 30 days in Standard-IA or
    One Zone-IA before moving on. Applies to current and noncurrent transitions alike.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html"""
    for path, lifecycle_rule in _rules(bucket):
        yield from _waterfall(path, lifecycle_rule, noncurrent=False)
        yield from _waterfall(path, lifecycle_rule, noncurrent=True)


def _latest(steps: Sequence[tuple[int, int, str]]) -> tuple[int, str] | None:
    return max(((days, storage_class) for _, days, storage_class in steps), default=None)


@rule(Bucket)
def expiration_after_transitions(bucket: Bucket) -> Iterator[Violation]:
    """S3 refuses a rule whose expiration comes no later than its transitions ("'Days' in the Expiration
    action ... must be greater than 'Days' in the Transition action"); likewise NoncurrentDays.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html"""
    for path, lifecycle_rule in _rules(bucket):
        expiration = lifecycle_rule.expiration
        latest = _latest(_steps(lifecycle_rule, noncurrent=False)[2])
        if expiration is not None and expiration.days is not None and latest and expiration.days <= latest[0]:
            yield Violation((*path, "expiration", "days"),
                            f"expiration ({expiration.days} days) must come after the transition to {latest[1]} "
                            f"(day {latest[0]})")
        noncurrent = lifecycle_rule.noncurrent_version_expiration
        latest = _latest(_steps(lifecycle_rule, noncurrent=True)[2])
        if noncurrent is not None and latest and noncurrent.noncurrent_days <= latest[0]:
            yield Violation((*path, "noncurrentVersionExpiration", "noncurrentDays"),
                            f"noncurrent expiration ({noncurrent.noncurrent_days} days) must come after the "
                            f"noncurrent transition to {latest[1]} (day {latest[0]})")


@rule(Bucket)
def delete_marker_expiration_without_tag_filter(bucket: Bucket) -> Iterator[Violation]:
    """Removing expired object delete markers can't be combined with a tag-based filter (delete markers
    have no tags). https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html"""
    for path, lifecycle_rule in _rules(bucket):
        expiration = lifecycle_rule.expiration
        if expiration is not None and expiration.expired_object_delete_marker and lifecycle_rule.tags:
            yield Violation((*path, "tags"),
                            "expiredObjectDeleteMarker cannot be combined with a tag filter; use a prefix or "
                            "a rule of its own")


@rule(Bucket)
def object_size_range_not_empty(bucket: Bucket) -> Iterator[Violation]:
    """A size filter with both bounds is a range ("you can specify a range of object sizes in the same
    filter"): objectSizeLessThan must exceed objectSizeGreaterThan, else S3 refuses the configuration
    (InvalidArgument) rather than keep a rule that matches nothing.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-filters.html"""
    for path, lifecycle_rule in _rules(bucket):
        low, high = lifecycle_rule.object_size_greater_than, lifecycle_rule.object_size_less_than
        if low is not None and high is not None and high <= low:
            yield Violation((*path, "objectSizeLessThan"),
                            f"objectSizeLessThan ({high}) must be greater than objectSizeGreaterThan ({low})")
