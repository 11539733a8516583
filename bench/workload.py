"""N specs as a realistic mix: the production scenario (SCENARIO.md) multiplied.

The default mix's unit of 20 is 8 queues (40%), 5 alarms (25%), 4 buckets (20%) and 3 scaling objects
(15%: a target and its two policies), with the references the scenario has: dead-letter queues, alarms
on queues, an alarm driving a step policy. Its steady reads per resource are the goal that the parts
added since must not raise.

The full mix (`--mix full`) is the default unit plus the parts the examples added later, so that their
read cost is measured too: a topic the unit's alarms page through, a high-throughput FIFO queue and its
dead-letter queue (redrive allow policy), a log bucket, a bucket with ownership controls, access logging,
a lifecycle rule with an And filter, website hosting, CORS, transfer acceleration and replication to an
Object Lock bucket whose event notifications go to a queue, a scheduled action, an alarm paging the
topic, an anomaly detection alarm, and a composite alarm.
"""

from __future__ import annotations

from pathlib import Path

UNIT = 20  # the default mix's unit; the full mix's is larger (unit_size)
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


def full_unit_documents(u: int) -> list[str]:
    p = f"u{u:05d}"
    topic_policy = ("  policy:\n    Version: '2012-10-17'\n    Statement:\n      - Effect: Allow\n"
                    "        Principal: {Service: cloudwatch.amazonaws.com}\n        Action: sns:Publish\n"
                    "        Resource: ${Self.Arn}\n")
    s3_send = ("  policy:\n    Version: '2012-10-17'\n    Statement:\n      - Effect: Allow\n"
               "        Principal: {Service: s3.amazonaws.com}\n        Action: sqs:SendMessage\n"
               "        Resource: ${Self.Arn}\n")
    log_policy = ("  policy:\n    Version: '2012-10-17'\n    Statement:\n      - Effect: Allow\n"
                  "        Principal: {Service: logging.s3.amazonaws.com}\n        Action: s3:PutObject\n"
                  "        Resource: ${Self.Arn}/*\n")
    return [*unit_documents(u),
            _doc("Topic", f"{p}-alerts", f"  displayName: {p} alerts\n{topic_policy}  tags: {{team: core}}\n"),
            _doc("Queue", f"{p}-events-dlq", "  queueName: " + f"{p}-events-dlq.fifo\n  fifo: true\n"
                 "  redriveAllowPolicy: {redrivePermission: allowAll}\n"),
            _doc("Queue", f"{p}-events", "  queueName: " + f"{p}-events.fifo\n  fifo: true\n"
                 "  contentBasedDeduplication: true\n  deduplicationScope: messageGroup\n"
                 "  fifoThroughputLimit: perMessageGroupId\n"
                 f"  deadLetterQueue: {{queueRef: {p}-events-dlq, maxReceiveCount: 3}}\n"),
            _doc("Bucket", f"bench-{p}-logs", f"  ownershipControls: BucketOwnerEnforced\n{log_policy}"),
            _doc("Bucket", f"bench-{p}-site", "  versioning: true\n  ownershipControls: BucketOwnerEnforced\n"
                 f"  logging: {{targetBucketRef: bench-{p}-logs, targetPrefix: site/}}\n  lifecycleRules:\n"
                 # An And filter of a prefix and a tag: moto drops size bounds from a filter (docs/aws-emulator.md),
                 # so a size filter would read as drift in every resync here, and not on AWS.
                 "    - id: expire-drafts\n      prefix: drafts/\n      tags: {stage: draft}\n"
                 "      expiration: {days: 90}\n"
                 "  website: {indexDocument: index.html, errorDocument: 404.html}\n"
                 "  cors:\n    - {allowedMethods: [GET], allowedOrigins: ['https://app.example.com']}\n"
                 "  transferAcceleration: true\n"
                 "  replication:\n    role: arn:${AWS::Partition}:iam::${AWS::AccountId}:role/bench-replication\n"
                 f"    rules:\n      - id: everything\n        destination: {{bucketRef: bench-{p}-archive}}\n"),
            _doc("Queue", f"{p}-uploads", f"{s3_send}"),
            _doc("Bucket", f"bench-{p}-archive", "  versioning: true\n"
                 "  objectLock: {defaultRetention: {mode: GOVERNANCE, days: 30}}\n  notifications:\n    queues:\n"
                 f"      - {{queueRef: {p}-uploads, events: ['s3:ObjectCreated:*']}}\n"),
            _doc("ScheduledAction", f"{p}-business-hours", f"  targetRef: {p}-svc\n"
                 "  schedule: cron(0 8 ? * MON-FRI *)\n  timezone: Europe/Berlin\n"
                 "  scalableTargetAction: {minCapacity: 2, maxCapacity: 10}\n"),
            _doc("Alarm", f"{p}-events-age", "  metric: {namespace: AWS/SQS, metricName: "
                 "ApproximateAgeOfOldestMessage, statistic: Maximum, period: 60, dimensions: "
                 f"{{QueueName: {{queueRef: {p}-events}}}}}}\n  evaluationPeriods: 3\n  threshold: 600\n"
                 f"  comparisonOperator: GreaterThanThreshold\n  alarmActions:\n    - topicRef: {p}-alerts\n"),
            _doc("Alarm", f"{p}-orders-anomaly", "  metrics:\n    - id: m1\n      metricStat:\n        metric: "
                 "{namespace: AWS/SQS, metricName: NumberOfMessagesSent, dimensions: "
                 f"{{QueueName: {{queueRef: {p}-orders}}}}}}\n        stat: Sum\n        period: 300\n"
                 "    - {id: band, expression: 'ANOMALY_DETECTION_BAND(m1, 2)'}\n  thresholdMetricId: band\n"
                 "  comparisonOperator: LessThanLowerOrGreaterThanUpperThreshold\n  evaluationPeriods: 3\n"),
            _doc("CompositeAlarm", f"{p}-stuck", f"  rule:\n    allOf:\n      - alarmRef: {p}-backlog\n"
                 f"      - alarmRef: {p}-events-age\n  alarmActions:\n    - topicRef: {p}-alerts\n")]


MIXES = {"default": unit_documents, "full": full_unit_documents}


def unit_size(mix: str) -> int:
    return len(MIXES[mix](0))


def write_workload(root: Path, resources: int, mix: str = "default") -> list[tuple[str, str]]:
    """Write ceil(N / the mix's unit) units (one file each); returns the ECS services the targets need."""
    root.mkdir(parents=True, exist_ok=True)
    units = max(1, -(-resources // unit_size(mix)))
    for u in range(units):
        (root / f"unit-{u:05d}.yaml").write_text("---\n".join(MIXES[mix](u)))
    return [(ECS_CLUSTER, f"u{u:05d}-svc") for u in range(units)]
