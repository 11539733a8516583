"""References resolve to the referenced resource's real AWS values, not to spec names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from controller.engine.reconciler import Action
from tests.external_endpoint import SEEDS_ECS
from tests.helpers import Harness

SPECS = {
    "queues.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: dlq}
        spec:
          queueName: team-a-dead-letters      # the AWS name differs from metadata.name
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: work}
        spec:
          queueName: team-a-work
          deadLetterQueue: {queueRef: dlq, maxReceiveCount: 4}
        """,
    "scaling.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: ScalableTarget
        metadata: {name: workers}
        spec:
          ecsService: {cluster: main, service: workers}
          minCapacity: 1
          maxCapacity: 5
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: ScalingPolicy
        metadata: {name: scale-out}
        spec:
          targetRef: workers
          policyName: workers-scale-out
          stepScaling:
            adjustmentType: ChangeInCapacity
            steps: [{lowerBound: 0, adjustment: 1}]
        ---
        apiVersion: trimtab.io/v1alpha1
        kind: ScalingPolicy
        metadata: {name: backlog}
        spec:
          targetRef: workers
          targetTracking:
            queueBacklogPerTask: {queueRef: work, target: 50}
        """,
    "alarm.yaml": """
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {name: backlog-high}
        spec:
          metric:
            namespace: AWS/SQS
            metricName: ApproximateNumberOfMessagesVisible
            dimensions:
              QueueName: {queueRef: work}
            statistic: Maximum
            period: 60
          evaluationPeriods: 2
          threshold: 100
          comparisonOperator: GreaterThanThreshold
          alarmActions:
            - scalingPolicyRef: scale-out
            - arn: arn:aws:sns:us-east-1:123456789012:oncall
        """,
}


@pytest.mark.moto_only(SEEDS_ECS)
async def test_references_resolve_to_aws_values(harness: Harness, boto: Any) -> None:
    harness.write(SPECS)
    result = await harness.apply()
    assert not result.failed, {k: (o.action, o.message) for k, o in result.outcomes.items()}

    sqs = boto("sqs")
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName="team-a-dead-letters")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    work = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName="team-a-work")["QueueUrl"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert json.loads(work["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4}

    policies = boto("application-autoscaling").describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    by_name = {policy["PolicyName"]: policy for policy in policies}
    alarm = boto("cloudwatch").describe_alarms(AlarmNames=["backlog-high"])["MetricAlarms"][0]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "team-a-work"}]
    assert sorted(alarm["AlarmActions"]) == sorted(
        [by_name["workers-scale-out"]["PolicyARN"], "arn:aws:sns:us-east-1:123456789012:oncall"]
    )

    # queueBacklogPerTask expands to AWS's backlog-per-task metric math with the real names.
    tracking = by_name["backlog"]["TargetTrackingScalingPolicyConfiguration"]
    metrics = {query["Id"]: query for query in tracking["CustomizedMetricSpecification"]["Metrics"]}
    assert tracking["TargetValue"] == 50.0
    assert metrics["e1"]["Expression"] == "m1 / m2" and metrics["e1"]["ReturnData"] is True
    assert metrics["m1"]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "QueueName", "Value": "team-a-work"}]
    assert metrics["m2"]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "ClusterName", "Value": "main"}, {"Name": "ServiceName", "Value": "workers"},
    ]


@pytest.mark.moto_only(SEEDS_ECS)
async def test_plan_shows_unknown_values_of_resources_yet_to_be_created(harness: Harness) -> None:
    harness.write(SPECS)
    result = await harness.plan()
    assert all(outcome.action is Action.CREATE for outcome in result.outcomes.values())
    alarm_changes = {change.path: change.after for change in result.outcomes["Alarm/backlog-high"].changes}
    assert "(known after apply: ScalingPolicy/scale-out.arn)" in alarm_changes["alarmActions"]


async def test_dependents_of_a_failed_item_are_blocked_not_errored(harness: Harness, boto: Any) -> None:
    # A foreign queue with the DLQ's name: the DLQ is a conflict, so the queue that uses it waits.
    boto("sqs").create_queue(QueueName="team-a-dead-letters")
    harness.write({"queues.yaml": SPECS["queues.yaml"]})
    result = await harness.apply()
    assert result.outcomes["Queue/dlq"].action is Action.CONFLICT
    blocked = result.outcomes["Queue/work"]
    assert blocked.action is Action.BLOCKED and "Queue/dlq" in blocked.message
    assert "team-a-work" not in str(boto("sqs").list_queues().get("QueueUrls", []))
