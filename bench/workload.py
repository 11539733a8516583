"""N specs as a realistic mix: the production scenario (SCENARIO.md) multiplied. Each unit of 20 is
8 queues (40%), 5 alarms (25%), 4 buckets (20%) and 3 scaling objects (15%: a target and its two
policies), with the references the scenario has: dead-letter queues, alarms on queues, an alarm
driving a step policy."""

from __future__ import annotations

from pathlib import Path

UNIT = 20
ENVELOPE = "apiVersion: trimtab.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec:\n"
ECS_CLUSTER = "bench"


def _doc(kind: str, name: str, body: str) -> str:
    return ENVELOPE.format(kind=kind, name=name) + body


def unit_documents(u: int) -> list[str]:
    p = f"u{u:05d}"
    docs = [_doc("Queue", f"{p}-orders-dlq", "  messageRetentionSeconds: 1209600\n")]
    docs.append(_doc("Queue", f"{p}-orders", "  visibilityTimeoutSeconds: 60\n  deadLetterQueue: {queueRef: "
                     f"{p}-orders-dlq, maxReceiveCount: 5}}\n  tags: {{team: core}}\n"))
    docs += [_doc("Queue", f"{p}-work-{n}", f"  visibilityTimeoutSeconds: {30 + n}\n") for n in range(6)]
    docs.append(_doc("ScalableTarget", f"{p}-svc", f"  ecsService: {{cluster: {ECS_CLUSTER}, service: {p}-svc}}\n"
                     "  minCapacity: 1\n  maxCapacity: 10\n"))
    docs.append(_doc("ScalingPolicy", f"{p}-out", f"  targetRef: {p}-svc\n  stepScaling:\n"
                     "    adjustmentType: ChangeInCapacity\n    cooldown: 120\n    metricAggregationType: Maximum\n"
                     "    steps:\n      - lowerBound: 0\n        adjustment: 2\n"))
    docs.append(_doc("ScalingPolicy", f"{p}-cpu", f"  targetRef: {p}-svc\n  targetTracking:\n    targetValue: 60\n"
                     "    predefinedMetric: {type: ECSServiceAverageCPUUtilization}\n"))
    alarm = ("  metric: {{namespace: AWS/SQS, metricName: ApproximateNumberOfMessagesVisible, statistic: Maximum, "
             "period: 60, dimensions: {{QueueName: {{queueRef: {queue}}}}}}}\n  evaluationPeriods: 5\n"
             "  threshold: {threshold}\n  comparisonOperator: GreaterThanThreshold\n")
    docs.append(_doc("Alarm", f"{p}-backlog", alarm.format(queue=f"{p}-orders", threshold=100)
                     + f"  alarmActions:\n    - scalingPolicyRef: {p}-out\n"))
    docs += [_doc("Alarm", f"{p}-work-{n}-backlog", alarm.format(queue=f"{p}-work-{n}", threshold=50 + n))
             for n in range(4)]
    bucket = ("  versioning: true\n  encryption: {{type: SSE-S3}}\n  requireTls: true\n"
              "  tags: {{project: {project}}}\n")
    docs += [_doc("Bucket", f"bench-{p}-b{n}", bucket.format(project=f"{p}-{n}")) for n in range(4)]
    return docs


def write_workload(root: Path, resources: int) -> list[tuple[str, str]]:
    """Write ceil(N / 20) units (one file each); returns the ECS services the targets need."""
    root.mkdir(parents=True, exist_ok=True)
    units = max(1, -(-resources // UNIT))
    for u in range(units):
        (root / f"unit-{u:05d}.yaml").write_text("---\n".join(unit_documents(u)))
    return [(ECS_CLUSTER, f"u{u:05d}-svc") for u in range(units)]
