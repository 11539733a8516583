"""Convergence: a valid spec, applied to moto, plans in sync at once.

Hypothesis generates specs of each kind from the mapping (controller/api/aws_params.py): each mapped field
of a base spec (tests/spec_bases.py) takes a value drawn from its AWS parameter's constraints (botocore's
enum, range, length, pattern). Examples run in sequence against the same names, so most are updates of the
previous example's resources. After each apply the next plan must be in sync: render and observe agree.

Fields are left at their base value where a name fixes the resource's identity, or where moto, not AWS, is
the cause of a difference (MOTO_SKIPS, each named in docs/aws-emulator.md). Bounded for CI by EXAMPLES.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from controller.api import aws_params
from controller.api.aws_params import Constraints, Param, constraints
from controller.api.crd import spec_schema
from controller.api.rules.anomaly_detection import BAND_OPERATORS
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import lean_session
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.kinds.registry import MODELS
from tests.conftest import REGION, CallRecorder
from tests.helpers import Harness
from tests.spec_bases import BASES, document, parse

EXAMPLES = int(os.environ.get("TRIMTAB_CONVERGENCE_EXAMPLES", "40"))

# Fields whose AWS value moto does not keep as AWS does: skipped (left out of generated specs) with the
# reason, and named in docs/aws-emulator.md. The product is not changed to hide these differences.
MOTO_SKIPS: dict[str, dict[str, str]] = {
    "Queue": {
        "redriveAllowPolicy": "moto drops RedriveAllowPolicy (tests/test_queue_attributes.py checks its request)",
    },
    "Bucket": {
        "lifecycleRules[].noncurrentVersionExpiration.newerNoncurrentVersions":
            "moto drops NewerNoncurrentVersions from a rule's NoncurrentVersionExpiration on read",
        "tags{value}": "moto drops an empty Value from an S3 tag set, so empty tag values are not generated",
        "lifecycleRules[].tags{value}": "moto drops an empty Value from a lifecycle rule's tag filter",
        "lifecycleRules[].objectSizeGreaterThan": "moto drops ObjectSizeGreaterThan from a lifecycle filter",
        "lifecycleRules[].objectSizeLessThan": "moto drops ObjectSizeLessThan from a lifecycle filter",
        "requestPayment": "moto does not implement request payment: every bucket reads as BucketOwner",
        "intelligentTieringConfigurations": "moto does not implement intelligent tiering configurations",
        "replication.rules[].prefix": "moto reports every replication rule's filter as an empty prefix",
        "replication.rules[].tags": "moto reports every replication rule's filter as an empty prefix",
        "replication.rules[].deleteMarkerReplication": "moto reports DeleteMarkerReplication Disabled always",
    },
}

# Fields held at their base value: they name the resource (changing them is another resource, or a
# replacement), reference another spec, or hold a document whose generation is not the point here.
FIXED: dict[str, set[str]] = {
    "Queue": {"queueName", "fifo", "encryption.type", "encryption.kmsKeyId", "policy", "deletionPolicy",
              "managementPolicy", "adopt"},
    "Bucket": {"bucketName", "region", "encryption.kmsKeyId", "policy", "lifecycleRules[].id", "deletionPolicy",
               "managementPolicy", "adopt", "encryption.type", "logging.targetBucket",
               # ARNs and an account id: drawn text names no resource. Object Lock cannot be turned off.
               "notifications.lambdaFunctions[].lambdaFunctionArn", "replication.role",
               "replication.rules[].destination.bucket", "replication.rules[].destination.account",
               "objectLock.enabled"},
    # roleARN: moto keeps a target's first role and ignores a later one (docs/aws-emulator.md).
    "ScalableTarget": {"ecsService.cluster", "ecsService.service", "serviceNamespace", "resourceId",
                       "scalableDimension", "deletionPolicy", "managementPolicy", "adopt", "roleARN"},
    "ScalingPolicy": {"policyName", "deletionPolicy", "managementPolicy", "adopt",
                      "targetTracking.customizedMetric.metrics[].id",
                      "targetTracking.customizedMetric.metrics[].expression",
                      "targetTracking.predefinedMetric.resourceLabel", "stepScaling.steps[].lowerBound",
                      "stepScaling.steps[].upperBound"},
    # The schedule and time zone are grammars (cron, IANA) that drawn text would not meet, as are timestamps.
    "ScheduledAction": {"scheduledActionName", "schedule", "timezone", "startTime", "endTime", "deletionPolicy",
                        "managementPolicy", "adopt"},
    "Topic": {"topicName", "fifo", "encryption.kmsMasterKeyId", "policy", "deliveryPolicy", "deletionPolicy",
              "managementPolicy", "adopt"},
    # The protocol and endpoint name the subscription; the rest are documents and ARNs.
    "Subscription": {"protocol", "endpoint", "filterPolicy", "deliveryPolicy", "subscriptionRoleArn",
                     "redrivePolicy.deadLetterTargetArn", "deletionPolicy", "managementPolicy", "adopt"},
    "Alarm": {"alarmName", "deletionPolicy", "managementPolicy", "adopt", "metrics[].id", "metrics[].expression",
              "alarmActions[].arn", "okActions[].arn", "insufficientDataActions[].arn", "thresholdMetricId"},
    # The rule's text and the suppressor name alarms, which must exist.
    "CompositeAlarm": {"alarmName", "deletionPolicy", "managementPolicy", "adopt", "alarmRule",
                       "actionsSuppressor.alarm", "alarmActions[].arn", "okActions[].arn",
                       "insufficientDataActions[].arn"},
}

_TEXT = string.ascii_letters + string.digits + "-_./:@ éü"
_ECS_TYPES = ["ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"]

# Fields a cross-field rule narrows: drawn from the values the rule leaves, so few examples are rejected.
OVERRIDES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "Alarm": {
        "metric.period": st.sampled_from([10, 20, 30, 60, 300, 3600]),
        "metrics[].metricStat.period": st.sampled_from([10, 20, 30, 60, 300, 3600]),
        "metrics[].period": st.sampled_from([10, 20, 30, 60, 300, 3600]),
        "evaluationPeriods": st.integers(1, 12),
        "datapointsToAlarm": st.integers(1, 3),
        # moto refuses IQM and the trimmed means (tests/test_corpus.py MOTO_CANNOT_EMULATE)
        "metric.extendedStatistic": st.sampled_from(["p50", "p90", "p99", "p99.9", "p100"]),
        "metrics[].metricStat.stat": st.sampled_from(["Sum", "Average", "Maximum", "p99", "SampleCount"]),
    },
    "ScalingPolicy": {
        "targetTracking.predefinedMetric.type": st.sampled_from(_ECS_TYPES),  # the target is an ECS service
        "targetTracking.customizedMetric.metrics[].metricStat.stat": st.sampled_from(["Sum", "Average", "p90"]),
        "stepScaling.steps[].adjustment": st.integers(-50, 50).filter(bool),
    },
    "Bucket": {
        "lifecycleRules[].transitions[].days": st.integers(0, 100),
        "lifecycleRules[].transitions[].storageClass": st.sampled_from(
            ["GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "INTELLIGENT_TIERING"]),
        "lifecycleRules[].expiration.days": st.integers(200, 3650),
        "lifecycleRules[].noncurrentVersionTransitions[].noncurrentDays": st.integers(0, 20),
        "lifecycleRules[].noncurrentVersionTransitions[].storageClass": st.sampled_from(["GLACIER", "DEEP_ARCHIVE"]),
        "lifecycleRules[].noncurrentVersionExpiration.noncurrentDays": st.integers(200, 365),
        # A key filter rule has a value (moto asserts one; an empty prefix or suffix filters nothing).
        **{f"notifications.{name}[].filter.{rule}": st.text(_TEXT, min_size=1, max_size=40).filter(
            lambda text: text == text.strip()) for name in ("queues", "topics", "lambdaFunctions")
           for rule in ("prefix", "suffix")},
    },
    "ScalableTarget": {"minCapacity": st.integers(0, 5), "maxCapacity": st.integers(5, 100)},
    "CompositeAlarm": {"actionsSuppressor.waitPeriod": st.integers(0, 86400),
                       "actionsSuppressor.extensionPeriod": st.integers(0, 86400)},
    "ScheduledAction": {"scalableTargetAction.minCapacity": st.integers(0, 5),
                        "scalableTargetAction.maxCapacity": st.integers(5, 100)},
}

# Specs each kind's specs reference, applied alongside (fixed).
TARGET = {"ecsService": {"cluster": "main", "service": "web"}, "minCapacity": 1, "maxCapacity": 4}
# The bases' log bucket, which S3 (and moto) requires to let the logging service write.
LOG_BUCKET = {"policy": {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::base-logs/*"}]}}
COMPANIONS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "Queue": [("Queue", "base-dlq", {})],
    "Bucket": [("Bucket", "base-logs", LOG_BUCKET), ("Queue", "base-events", {}), ("Topic", "base-alerts", {}),
               ("Bucket", "base-replica", {"versioning": True, "objectLock": {}})],
    "ScalingPolicy": [("ScalableTarget", "base-target", TARGET), ("Queue", "orders", {})],
    "ScheduledAction": [("ScalableTarget", "base-target", TARGET)],
    "CompositeAlarm": [("Topic", "base-topic", {}), ("Alarm", "base-alarm", {
        "metric": {"namespace": "AWS/ECS", "metricName": "CPUUtilization", "statistic": "Average", "period": 60},
        "evaluationPeriods": 1, "threshold": 80, "comparisonOperator": "GreaterThanThreshold"}),
        ("CompositeAlarm", "base-child", {"alarmRule": 'ALARM("base-alarm")'})],
    "Subscription": [("Topic", "base-topic", {}), ("Queue", "base-queue", {}), ("Queue", "base-dlq", {})],
    "Alarm": [("Topic", "base-topic", {}), ("ScalableTarget", "base-target", TARGET),
              ("ScalingPolicy", "base-policy", {"targetRef": "base-target", "stepScaling": {
                  "adjustmentType": "ChangeInCapacity", "steps": [{"lowerBound": 0, "adjustment": 1}]}})],
}
# Bases moto cannot take at all: a DynamoDB scalable target needs the table, which the harness does not seed.
# Nor a predictive policy: moto refuses PolicyType PredictiveScaling (tests/test_predictive_scaling.py).
APPLIED_BASES: dict[str, list[int]] = {"ScalableTarget": [0], "ScalingPolicy": [0, 1, 2, 3, 4]}


def _strategy(found: Constraints, current: Any) -> st.SearchStrategy[Any]:
    if isinstance(current, bool):
        return st.booleans()
    if found.values is not None:
        return st.sampled_from(found.values)
    if isinstance(current, int):
        low = int(max(found.minimum if found.minimum is not None else -10**6, -10**6))
        high = int(min(found.maximum if found.maximum is not None else 10**6, 10**6))
        return st.integers(low, high)
    if isinstance(current, float):
        low = max(found.minimum if found.minimum is not None else -1e12, -1e12)
        high = min(found.maximum if found.maximum is not None else 1e12, 1e12)
        return st.floats(low, high, allow_nan=False, allow_infinity=False).filter(
            lambda value: found.exclusive_minimum is None or value > found.exclusive_minimum)
    if isinstance(current, str):
        high = min(found.max_length if found.max_length is not None else 40, 40)
        return st.text(_TEXT, min_size=found.min_length or 0, max_size=high).filter(
            lambda text: text == text.strip() and all(p.python.fullmatch(text) for p in found.patterns))
    raise AssertionError(f"no strategy for {current!r}")


def _leaves(kind: str, spec: dict[str, Any]) -> Iterator[tuple[str, Param, Any, Any]]:
    """(path, parameter, container, key) of each scalar a generated spec may change."""
    for path, param in MODELS[kind].AWS_PARAMS.items():
        if not isinstance(param, Param) or path in FIXED[kind] or path.endswith("{key}"):
            continue
        for container, key in _places(spec, aws_params.parse_path(path)):
            if isinstance(container[key], (bool, int, float, str)):
                yield path, param, container, key


def _places(node: Any, segments: list[tuple[str, list[str]]]) -> Iterator[tuple[Any, Any]]:
    (name, suffixes), rest = segments[0], segments[1:]
    if not isinstance(node, dict) or name not in node:
        return
    holders: list[tuple[Any, Any]] = [(node, name)]
    for suffix in suffixes:
        expanded: list[tuple[Any, Any]] = []
        for container, key in holders:
            value = container[key]
            if suffix == "[]" and isinstance(value, list):
                expanded += [(value, index) for index in range(len(value))]
            elif suffix == "{value}" and isinstance(value, dict):
                expanded += [(value, item) for item in value]
        holders = expanded
    for container, key in holders:
        if rest:
            yield from _places(container[key], rest)
        else:
            yield container, key


def _without(spec: dict[str, Any], path: str) -> None:
    *parents, last = aws_params.parse_path(path)
    for container, key in (_places(spec, parents) if parents else [(None, None)]):
        node = spec if container is None else container[key]
        items = node if isinstance(node, list) else [node]
        for item in items:
            if isinstance(item, dict):
                item.pop(last[0], None)


_TAG_KEYS = st.text(string.ascii_letters + string.digits + "-_.:/=+@", min_size=1, max_size=20).filter(
    lambda key: not key.lower().startswith(("aws:", "trimtab.io/")))
_TAGS = st.dictionaries(_TAG_KEYS, st.text(_TEXT, max_size=30).map(str.strip), max_size=6)
_TAGS_NOT_EMPTY = st.dictionaries(_TAG_KEYS, st.text(_TEXT, min_size=1, max_size=30).map(str.strip).filter(bool),
                                  max_size=6)


def generated(kind: str, data: st.DataObject) -> tuple[str, dict[str, Any]]:
    """(metadata.name, spec). Each base has its own spec name, so an AWS name always belongs to the same
    spec: a queue named base-queue made for Queue/conv-0 is never claimed by another spec (a Conflict, as
    it should be), and a spec never moves to another AWS resource (a replacement: tests/test_transitions.py),
    whose deletion and re-creation moto gets wrong for alarms (docs/aws-emulator.md). Most examples are
    then updates of the resource the previous example of that base left."""
    index = data.draw(st.sampled_from(APPLIED_BASES.get(kind, list(range(len(BASES[kind]))))), label="base")
    spec = copy.deepcopy(BASES[kind][index])
    if kind == "Alarm":
        spec.pop("insufficientDataActions", None)  # a reference to a policy: covered by the companion specs
    skips = MOTO_SKIPS.get(kind, {})
    for path in skips:
        if not path.endswith("{value}"):  # a map's values are still generated, only never empty
            _without(spec, path)
    for path, param, container, key in list(_leaves(kind, spec)):
        if data.draw(st.booleans(), label=f"change {path}"):
            overrides = OVERRIDES.get(kind, {})
            strategy = overrides[path] if path in overrides else _strategy(constraints(param), container[key])
            if path in skips:
                strategy = strategy.filter(bool)
            value = data.draw(strategy, label=path)
            container[key] = float(value) if isinstance(container[key], float) else value
    if "tags" in spec and data.draw(st.booleans(), label="change tags"):
        tags = _TAGS_NOT_EMPTY if "tags{value}" in MOTO_SKIPS.get(kind, {}) else _TAGS
        spec["tags"] = data.draw(tags, label="tags")
    _fix_up(kind, spec)
    resource, _errors = parse(kind, spec)
    assume(resource is not None)  # a cross-field rule refused the draw
    return f"conv-{index}", spec


def _fix_up(kind: str, spec: dict[str, Any]) -> None:
    """Draws that a cross-field rule would refuse, made valid the way a person would write them."""
    tracking = spec.get("targetTracking", {})
    predefined = tracking.get("predefinedMetric")
    if predefined is not None and predefined["type"] != "ALBRequestCountPerTarget":
        predefined.pop("resourceLabel", None)
    elif predefined is not None:
        predefined.setdefault("resourceLabel", "app/a/1/targetgroup/t/2")
    step = spec.get("stepScaling")
    if step is not None and step["adjustmentType"] != "PercentChangeInCapacity":
        step.pop("minAdjustmentMagnitude", None)
    if kind == "Alarm" and spec.get("datapointsToAlarm", 0) > spec["evaluationPeriods"]:
        spec["datapointsToAlarm"] = spec["evaluationPeriods"]
    if kind == "Alarm" and "thresholdMetricId" not in spec and spec["comparisonOperator"] in BAND_OPERATORS:
        spec["comparisonOperator"] = "GreaterThanThreshold"  # a band operator needs a band


class Converger:
    """One event loop, one AWS client set and one harness for all the examples of a test."""

    def __init__(self, moto: LocalEmulator, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        settings_ = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
        self.aws = AwsClients(settings_, session=lean_session())
        self.loop.run_until_complete(self.aws.__aenter__())
        self.harness = Harness(self.aws, CallRecorder(), tmp_path)

    def close(self) -> None:
        self.harness.close()
        self.loop.run_until_complete(self.aws.__aexit__(None, None, None))
        self.loop.close()

    def converge(self, kind: str, name: str, spec: dict[str, Any]) -> None:
        shutil.rmtree(self.harness.specs, ignore_errors=True)
        documents = [document(other, body, name) for other, name, body in COMPANIONS.get(kind, [])]
        documents.append(document(kind, spec, name))
        self.harness.write({"specs.yaml": yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True)})
        applied = self.loop.run_until_complete(self.harness.apply())
        assert not applied.failed, {key: (o.action, o.message) for key, o in applied.outcomes.items()}
        planned = self.loop.run_until_complete(self.harness.plan())
        assert planned.in_sync, {key: (o.action, [str(c) for c in o.changes], o.message)
                                 for key, o in planned.outcomes.items() if o.changes or o.message}


@pytest.fixture
def converger(moto: LocalEmulator, tmp_path: Path) -> Iterator[Converger]:
    running = Converger(moto, tmp_path)
    try:
        yield running
    finally:
        running.close()


# CI replays one fixed set of examples (no flakes); elsewhere each run explores new ones.
CONVERGENCE = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
                       suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                              HealthCheck.filter_too_much])


@pytest.mark.parametrize("kind", list(MODELS))
def test_generated_specs_apply_and_plan_in_sync(converger: Converger, kind: str) -> None:
    @CONVERGENCE
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        converger.converge(kind, *generated(kind, data))

    check()


def test_generation_draws_every_unfixed_field_of_each_kind() -> None:
    """Every mapped scalar field is generated from the bases the emulator can apply, or held fixed (FIXED,
    MOTO_SKIPS); tags and action lists are drawn or held as whole values."""
    for kind, model in MODELS.items():
        schema = spec_schema(model)
        drawn: set[str] = set()
        for index in APPLIED_BASES.get(kind, range(len(BASES[kind]))):
            drawn |= {path for path, *_ in _leaves(kind, copy.deepcopy(BASES[kind][index]))}
        for path, param in model.AWS_PARAMS.items():
            if not isinstance(param, Param) or path in FIXED[kind] or path in MOTO_SKIPS.get(kind, {}):
                continue
            node = aws_params.schema_node(schema, path)
            if node is None or node["type"] in ("object", "array") or path.startswith(_WHOLE):
                continue
            assert path in drawn or (kind, path) in _NOT_APPLIED, f"{kind}.{path} is never generated"


_WHOLE = ("tags", "insufficientDataActions")
# Fields only the bases moto cannot apply write (APPLIED_BASES).
_NOT_APPLIED = {("ScalableTarget", "serviceNamespace"), ("ScalableTarget", "resourceId"),
                ("ScalableTarget", "scalableDimension"),
                *(("ScalingPolicy", f"predictiveScaling.{path}") for path in (
                    "mode", "schedulingBufferTime", "maxCapacityBreachBehavior", "maxCapacityBuffer",
                    "metricSpecifications[].targetValue",
                    *(f"metricSpecifications[].{metric}.{leaf}" for metric in (
                        "predefinedMetricPair", "predefinedScalingMetric", "predefinedLoadMetric")
                      for leaf in ("type", "resourceLabel")),
                    *(f"metricSpecifications[].{metric}.metrics[].{leaf}" for metric in (
                        "customizedScalingMetric", "customizedLoadMetric", "customizedCapacityMetric")
                      for leaf in ("id", "expression", "label", "returnData", "metricStat.stat", "metricStat.unit",
                                   "metricStat.metric.namespace", "metricStat.metric.metricName",
                                   "metricStat.metric.dimensions{key}", "metricStat.metric.dimensions{value}"))))}


def test_moto_skips_are_named_in_the_emulator_document() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "aws-emulator.md").read_text()
    for kind, skips in MOTO_SKIPS.items():
        for path in skips:
            assert f"`{kind}.{path}`" in text, f"docs/aws-emulator.md does not name {kind}.{path}"
