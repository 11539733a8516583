"""Rules between two specs: a queue and its dead-letter queue, a scaling policy and its scalable target, a
bucket and the buckets it replicates to.

Each has the signature (record, records by key) -> (field, message) or None, and is declared on its
kind's descriptor (controller/kinds/descriptor.py `pair_rules`); the graph runs them. Sources:
- https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html (PolicyType);
- https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html and
  https://docs.aws.amazon.com/autoscaling/application/userguide/monitor-cloudwatch-metrics.html (metric types).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.api.bucket import Bucket
from controller.api.queue import Queue
from controller.api.rules.services import (
    KNOWN_PREDEFINED_METRICS,
    NO_STEP_SCALING,
    NO_TARGET_TRACKING,
    PREDEFINED_METRICS,
    PREDICTIVE_SCALING,
)
from controller.api.scalable_target import ScalableTarget
from controller.api.scaling_policy import ScalingPolicy
from controller.api.subscription import Subscription
from controller.api.topic import Topic

if TYPE_CHECKING:
    from controller.api.graph import SpecRecord

PairViolation = tuple[str, str] | None


def _policy_and_target(
    record: SpecRecord, by_key: dict[str, SpecRecord]
) -> tuple[ScalingPolicy, ScalableTarget] | None:
    policy = record.resource
    if not isinstance(policy, ScalingPolicy):
        return None
    target = by_key.get(str(policy.spec.target_ref))
    if target is None or not isinstance(target.resource, ScalableTarget):
        return None  # the graph reports the broken reference
    return policy, target.resource


def predefined_metric_matches_target(record: SpecRecord, by_key: dict[str, SpecRecord]) -> PairViolation:
    """A predefined metric type belongs to one service ("The ALBRequestCountPerTarget metric type applies only
    to Spot Fleets and ECS services"; AWS answers "Scalable dimension X only supports the following predefined
    metric types"). https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html"""
    pair = _policy_and_target(record, by_key)
    tracking = pair[0].spec.target_tracking if pair else None
    if pair is None or tracking is None or tracking.predefined_metric is None:
        return None
    metric_type = tracking.predefined_metric.type
    allowed = PREDEFINED_METRICS.get(pair[1].spec.dimension)
    if allowed is None or metric_type in allowed or metric_type not in KNOWN_PREDEFINED_METRICS:
        return None
    takes = ", ".join(sorted(allowed)) or "no predefined metric (use customizedMetric)"
    return ("spec.targetTracking.predefinedMetric.type",
            f"{metric_type} does not apply to {pair[1].spec.dimension} (target {pair[1].metadata.name}); "
            f"it takes {takes}")


def policy_type_supported_by_namespace(record: SpecRecord, by_key: dict[str, SpecRecord]) -> PairViolation:
    """"TargetTrackingScaling—Not supported for Amazon EMR. StepScaling—Not supported for DynamoDB, Amazon
    Comprehend, Lambda, Amazon Keyspaces, Amazon MSK, Amazon ElastiCache, or Neptune. PredictiveScaling—Only
    supported for Amazon ECS."
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html"""
    pair = _policy_and_target(record, by_key)
    if pair is None:
        return None
    policy, target = pair
    namespace = target.spec.namespace
    if policy.spec.step_scaling is not None and namespace in NO_STEP_SCALING:
        return "spec.stepScaling", f"namespace {namespace} does not support step scaling; use targetTracking"
    if policy.spec.target_tracking is not None and namespace in NO_TARGET_TRACKING:
        return "spec.targetTracking", f"namespace {namespace} does not support target tracking; use stepScaling"
    if policy.spec.predictive_scaling is not None and namespace not in PREDICTIVE_SCALING:
        return "spec.predictiveScaling", f"namespace {namespace} does not support predictive scaling (only ecs)"
    return None


def dlq_matches_queue_type(record: SpecRecord, by_key: dict[str, SpecRecord]) -> PairViolation:
    """"The dead-letter queue of a FIFO queue must also be a FIFO queue. Similarly, the dead-letter queue of a
    standard queue must also be a standard queue."
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"""
    resource = record.resource
    if not isinstance(resource, Queue) or resource.spec.dead_letter_queue is None:
        return None
    target = by_key.get(str(resource.spec.dead_letter_queue.queue_ref))
    if target is None or not isinstance(target.resource, Queue) or target.resource.spec.fifo == resource.spec.fifo:
        return None
    kind = "FIFO" if resource.spec.fifo else "standard"
    return "spec.deadLetterQueue.queueRef", f"a {kind} queue's dead-letter queue must also be {kind}"


def backlog_needs_ecs_target(record: SpecRecord, by_key: dict[str, SpecRecord]) -> PairViolation:
    """queueBacklogPerTask divides a queue's backlog by an ECS service's running tasks (RunningTaskCount), as
    AWS's metric math example does, so its target must be an ECS service.
    https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking-metric-math.html"""
    resource = record.resource
    if not isinstance(resource, ScalingPolicy):
        return None
    tracking = resource.spec.target_tracking
    if tracking is None or tracking.queue_backlog_per_task is None:
        return None
    target = by_key.get(str(resource.spec.target_ref))
    if target is None or not isinstance(target.resource, ScalableTarget):
        return None
    if target.resource.spec.ecs_cluster_and_service is None:
        return (
            "spec.targetTracking.queueBacklogPerTask",
            "queueBacklogPerTask divides by an ECS service's running tasks; its target must be an ECS service",
        )
    return None


def replica_can_receive(record: SpecRecord, by_key: dict[str, SpecRecord]) -> PairViolation:
    """"Both source and destination buckets must have S3 Versioning enabled"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-requirements.html), and a bucket with
    Object Lock replicates only to buckets with Object Lock (S3 fails each object with
    DstBucketObjectLockConfigMissing otherwise: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html).
    Checked for destinations by bucketRef; a bucket by ARN is not managed here."""
    resource = record.resource
    if not isinstance(resource, Bucket) or resource.spec.replication is None:
        return None
    lock = resource.spec.object_lock
    locked = lock is not None and lock.enabled
    for index, rule in enumerate(resource.spec.replication.rules):
        ref = rule.destination.bucket_ref
        target = by_key.get(str(ref)) if ref is not None else None
        if target is None or not isinstance(target.resource, Bucket):
            continue  # a bucket by ARN, or a broken reference the graph reports
        field = f"spec.replication.rules[{index}].destination.bucketRef"
        replica, name = target.resource.spec, target.resource.metadata.name
        if replica.versioning is not True:
            return field, (f"the destination {name} needs versioning: true (S3 replicates only between "
                           "versioned buckets)")
        replica_lock = replica.object_lock
        if locked and (replica_lock is None or not replica_lock.enabled):
            return field, f"this bucket has Object Lock, so the destination {name} needs objectLock too"
    return None


def subscription_fits_the_topic(record: SpecRecord, by_key: dict[str, SpecRecord]) -> PairViolation:
    """A FIFO topic delivers to SQS queues only, and a standard topic cannot deliver to a FIFO queue (SNS
    answers "FIFO SQS Queues can not be subscribed to standard SNS topics").
    https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html"""
    subscription = record.resource
    if not isinstance(subscription, Subscription):
        return None
    topic = by_key.get(str(subscription.spec.topic_ref))
    if topic is None or not isinstance(topic.resource, Topic):
        return None  # the graph reports the broken reference
    if topic.resource.spec.fifo and subscription.spec.protocol != "sqs":
        return "spec.protocol", f"a FIFO topic ({topic.resource.metadata.name}) delivers to SQS queues only"
    queue = by_key.get(str(subscription.spec.queue_ref)) if subscription.spec.queue_ref else None
    if queue is not None and isinstance(queue.resource, Queue) and queue.resource.spec.fifo \
            and not topic.resource.spec.fifo:
        return "spec.queueRef", (f"a FIFO queue ({queue.resource.metadata.name}) cannot subscribe to a standard "
                                 f"topic ({topic.resource.metadata.name})")
    return None
