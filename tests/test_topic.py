"""SNS topics: what a Topic spec sends, checked against botocore's model of CreateTopic and
SetTopicAttributes; alarms that notify a topic by reference; deletion only of the topics trimtab owns;
and the CloudTrail events that name a topic. Create, drift and correct are in tests/test_lifecycle.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.validate import ParamValidator

from controller.api.fields import Ref
from controller.api.substitution import Environment, substituted
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import service_model
from controller.engine.reconciler import Action
from controller.engine.retire import Retired, retire
from controller.kinds.base import RefResolver
from controller.kinds.registry import MODELS
from controller.kinds.topic import TopicClient, _attributes, _state_from_attributes
from controller.sources.cloudtrail import parse
from controller.sources.desired import parse_files
from tests.cloudtrail_envelopes import create_topic, delete_topic, set_topic_attributes, tag_sns_resource
from tests.helpers import CONTROLLER_ID, Harness

ENVIRONMENT = Environment(account_id="123456789012", partition="aws", region="eu-west-1")
ARN = "arn:aws:sns:eu-west-1:123456789012:alerts"


class _NoReferences(RefResolver):
    def output(self, ref: Ref, key: str) -> str:
        raise AssertionError(f"no reference expected, got {ref}")


def _rendered(spec: str, name: str = "alerts") -> dict[str, Any]:
    state = parse_files({"t.yaml": f"apiVersion: trimtab.io/v1alpha1\nkind: Topic\nmetadata: {{name: {name}}}\n"
                                   f"spec:\n{spec}".encode()})
    assert not state.errors, [str(error) for error in state.errors]
    resource = substituted(state.graph.records[f"Topic/{name}"].resource, ENVIRONMENT)
    assert isinstance(resource, MODELS["Topic"])
    return TopicClient(AwsClients(AwsSettings())).render(resource, _NoReferences(), ENVIRONMENT)


SPEC = """\
  displayName: Alerts
  encryption: {kmsMasterKeyId: alias/aws/sns}
  policy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal: {Service: cloudwatch.amazonaws.com}
        Action: sns:Publish
        Resource: ${Self.Arn}
  deliveryPolicy:
    http: {defaultHealthyRetryPolicy: {minDelayTarget: 20, maxDelayTarget: 20, numRetries: 3}}
"""


def test_a_topic_is_sent_as_botocore_models_create_topic_and_set_topic_attributes() -> None:
    rendered = _rendered(SPEC)
    attributes = _attributes(rendered)
    model = service_model("sns")
    report = ParamValidator().validate({"Name": "alerts", "Attributes": attributes, "Tags": [
        {"Key": "team", "Value": "core"}]}, model.operation_model("CreateTopic").input_shape)
    assert not report.has_errors(), report.generate_report()
    for name, value in attributes.items():  # an update sends one attribute per call
        report = ParamValidator().validate({"TopicArn": ARN, "AttributeName": name, "AttributeValue": value},
                                           model.operation_model("SetTopicAttributes").input_shape)
        assert not report.has_errors(), report.generate_report()
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == ARN  # ${Self.Arn}: this topic
    assert attributes["KmsMasterKeyId"] == "alias/aws/sns" and attributes["DisplayName"] == "Alerts"
    observed = _state_from_attributes({**attributes, "TopicArn": ARN, "Owner": "123456789012"})
    assert {key: observed.get(key) for key in rendered} == rendered, "observe reads back what render sent"


def test_a_fifo_topic_manages_content_based_deduplication_and_a_standard_one_does_not() -> None:
    assert _rendered("  fifo: true\n  contentBasedDeduplication: true\n", "alerts.fifo") == {
        "contentBasedDeduplication": True}
    assert "contentBasedDeduplication" not in _rendered("  displayName: x\n")


@pytest.mark.parametrize(("name", "spec", "message"), [
    ("alerts", "  fifo: true\n", "must end in '.fifo'"),
    ("alerts.fifo", "  {}\n", "only a FIFO topic's name may end in '.fifo'"),
    ("alerts", "  contentBasedDeduplication: true\n", "needs fifo: true"),
    ("alerts", "  topicName: " + "a" * 257 + "\n", "1 to 256 characters"),
])
def test_topic_names_follow_create_topic(name: str, spec: str, message: str) -> None:
    state = parse_files({"t.yaml": f"apiVersion: trimtab.io/v1alpha1\nkind: Topic\nmetadata: {{name: {name}}}\n"
                                   f"spec:\n{spec}".encode()})
    assert any(message in str(error) for error in state.errors), [str(error) for error in state.errors]


TOPIC_AND_ALARM = {"t.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Topic
    metadata: {name: oncall}
    spec:
      topicName: oncall-pager
      tags: {team: core}
    """, "a.yaml": """
    apiVersion: trimtab.io/v1alpha1
    kind: Alarm
    metadata: {name: cpu-high}
    spec:
      metric: {namespace: AWS/ECS, metricName: CPUUtilization, statistic: Average, period: 60}
      evaluationPeriods: 1
      threshold: 80
      comparisonOperator: GreaterThanThreshold
      alarmActions: [{topicRef: oncall}, {arn: "arn:aws:sns:us-east-1:123456789012:by-hand"}]
      okActions: [{topicRef: oncall}]
      insufficientDataActions: [{topicRef: oncall}]
    """}


async def test_an_alarm_notifies_a_topic_by_reference(harness: Harness, boto: Any) -> None:
    harness.write(TOPIC_AND_ALARM)
    result = await harness.apply()
    assert not result.failed, {key: outcome.message for key, outcome in result.outcomes.items()}
    arn = result.outcomes["Topic/oncall"].outputs["arn"]
    assert arn.endswith(":sns:us-east-1:123456789012:oncall-pager")
    (alarm,) = boto("cloudwatch").describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"]
    assert sorted(alarm["AlarmActions"]) == sorted([arn, "arn:aws:sns:us-east-1:123456789012:by-hand"])
    assert alarm["OKActions"] == alarm["InsufficientDataActions"] == [arn]
    # The alarm needs the topic's ARN, so it is created after the topic.
    mutations = [operation for _, operation in harness.recorder.mutating()]
    assert mutations.index("CreateTopic") < mutations.index("PutMetricAlarm"), mutations
    assert (await harness.plan()).in_sync


async def test_only_an_owned_topic_is_deleted(harness: Harness, boto: Any) -> None:
    harness.write(TOPIC_AND_ALARM)
    assert not (await harness.apply()).failed
    (entry,) = [entry for entry in await harness.store.inventory() if entry.kind == "Topic"]
    client = harness.reconciler.clients["Topic"]
    sns = boto("sns")
    arn = sns.create_topic(Name="oncall-pager")["TopicArn"]  # idempotent: the same topic
    sns.untag_resource(ResourceArn=arn, TagKeys=["trimtab.io/owner"])  # someone else's now
    retired, why = await retire(entry, client, harness.store, CONTROLLER_ID, delete=True)
    assert retired is Retired.NOT_OWNED, why
    assert arn in [topic["TopicArn"] for topic in sns.list_topics()["Topics"]]

    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "trimtab.io/owner", "Value": CONTROLLER_ID}])
    await harness.store.record_owned(entry)
    retired, why = await retire(entry, client, harness.store, CONTROLLER_ID, delete=True)
    assert retired is Retired.DELETED, why
    assert arn not in [topic["TopicArn"] for topic in sns.list_topics()["Topics"]]
    retired, _ = await retire(entry, client, harness.store, CONTROLLER_ID, delete=True)
    assert retired is Retired.GONE


async def test_a_topic_someone_else_made_is_a_conflict_not_taken_over(harness: Harness, boto: Any) -> None:
    sns = boto("sns")
    arn = sns.create_topic(Name="oncall-pager", Attributes={"DisplayName": "Theirs"})["TopicArn"]
    harness.write({"t.yaml": TOPIC_AND_ALARM["t.yaml"]})
    result = await harness.apply()
    assert result.outcomes["Topic/oncall"].action is Action.CONFLICT
    assert harness.recorder.mutating() == []
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Theirs"


def test_cloudtrail_writes_name_the_topic() -> None:
    for event in (create_topic("alerts"), set_topic_attributes(ARN.replace("eu-west-1", "us-east-1"), "DisplayName"),
                  delete_topic(ARN.replace("eu-west-1", "us-east-1")),
                  tag_sns_resource(ARN.replace("eu-west-1", "us-east-1"))):
        (touched,) = parse(event).touched
        assert touched.matches("Topic", {"name": "alerts", "region": "us-east-1"}), event["detail"]["eventName"]


async def test_a_steady_state_observe_reads_attributes_and_takes_tags_from_the_index(harness: Harness) -> None:
    harness.write({"t.yaml": TOPIC_AND_ALARM["t.yaml"]})
    assert not (await harness.apply()).failed
    harness.recorder.clear()
    assert (await harness.plan()).in_sync
    assert sorted(set(harness.recorder.operations())) == ["GetResources", "GetTopicAttributes"]
