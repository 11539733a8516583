"""controller.api.rules: the cross-field rules, their registration, their sources and their edges.

The corpus (tests/test_corpus.py) checks whole files; these tests check the rules one by one, the
hook in parse_document, the pair rules between a policy and its target, and the helpers."""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from typing import Any

import botocore.session
import pytest

from controller.api.envelope import Resource
from controller.api.graph import SpecRecord
from controller.api.rules.base import REGISTRY, glob_matches
from controller.api.rules.metric_math import referenced_ids
from controller.api.rules.services import (
    DIMENSIONS,
    KNOWN_PREDEFINED_METRICS,
    PREDEFINED_METRICS,
    RESOURCE_IDS,
    resource_type_key,
)
from controller.api.validation import parse_document
from controller.api.yamldoc import load_documents
from controller.kinds.registry import MODELS, PAIR_RULES
from controller.sources.directory import load_directory
from tests.conftest import REPO

ALL_PAIR_RULES = [rule for kind_rules in PAIR_RULES.values() for rule in kind_rules]

_SOURCE = re.compile(r"https://(docs\.aws\.amazon\.com|github\.com)/\S+")


def _parse(text: str) -> tuple[Resource | None, list[str]]:
    documents, errors = load_documents(textwrap.dedent(text).lstrip(), "spec.yaml")
    assert not errors and len(documents) == 1
    resource, problems = parse_document(documents[0])
    return resource, [f"{problem.field}: {problem.message}" for problem in problems]


def _valid(text: str) -> Resource:
    resource, problems = _parse(text)
    assert resource is not None, problems
    return resource


def _records(text: str) -> dict[str, SpecRecord]:
    documents, errors = load_documents(textwrap.dedent(text).lstrip(), "spec.yaml")
    assert not errors
    records = {}
    for document in documents:
        resource, problems = parse_document(document)
        assert resource is not None, problems
        records[resource.key] = SpecRecord(resource, document)
    return records


# ---- registration and sources --------------------------------------------------------------------------

def test_every_kind_has_rules_and_every_rule_cites_aws() -> None:
    assert set(REGISTRY) == set(MODELS)
    for kind_rules in REGISTRY.values():
        for rule in kind_rules:
            assert _SOURCE.search(inspect.getdoc(rule) or ""), f"{rule.__name__} must cite its AWS source"
    for pair_rule in ALL_PAIR_RULES:
        assert _SOURCE.search(inspect.getdoc(pair_rule) or ""), pair_rule.__name__


def test_the_example_specs_break_no_rule() -> None:
    state = load_directory(REPO / "specs")
    assert not state.errors, [str(error) for error in state.errors]


def test_hook_reports_position_subject_and_field() -> None:
    text = """\
        apiVersion: trimtab.io/v1alpha1
        kind: ScalableTarget
        metadata: {name: web}
        spec:
          serviceNamespace: ecs
          resourceId: services/main/web
          scalableDimension: ecs:service:DesiredCount
          minCapacity: 1
          maxCapacity: 2
    """
    documents, _ = load_documents(textwrap.dedent(text), "specs/web.yaml")
    resource, (error, *others) = parse_document(documents[0])
    assert resource is None and not others
    assert str(error).startswith("specs/web.yaml:6:3: ScalableTarget/web: spec.resourceId: for ecs:service:Desired")


def test_all_violations_of_a_spec_are_reported() -> None:
    _, problems = _parse("""
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: q}
        spec:
          policy:
            Version: "2012-10-18"
            Statement:
              - Effect: Allow
                Action: s3:GetObject
    """)
    assert [problem.split(":")[0] for problem in problems] == [
        "spec.policy.Version", "spec.policy.Statement[0]", "spec.policy.Statement[0]",
        "spec.policy.Statement[0].Action",
    ]


# ---- step scaling ------------------------------------------------------------------------------------

def _steps(steps: str, adjustment_type: str = "ChangeInCapacity") -> list[str]:
    body = textwrap.indent(textwrap.dedent(steps), " " * 6)
    return _parse(f"""
apiVersion: trimtab.io/v1alpha1
kind: ScalingPolicy
metadata: {{name: p}}
spec:
  targetRef: t
  stepScaling:
    adjustmentType: {adjustment_type}
    steps:
{body}""")[1]


@pytest.mark.parametrize(("steps", "problem"), [
    ("- {adjustment: 1}\n", "spec.stepScaling.steps[0]: a step needs lowerBound, upperBound or both"),
    ("- {lowerBound: 0, upperBound: 5, adjustment: 1}\n", "steps[0].upperBound: a positive upperBound (5)"),
    ("- {lowerBound: -5, upperBound: 0, adjustment: -1}\n", "steps[0].lowerBound: a negative lowerBound (-5)"),
    ("- {lowerBound: -5, upperBound: 0, adjustment: 0}\n- {lowerBound: 0, adjustment: 1}\n",
     "steps[0].lowerBound: a negative lowerBound"),
])
def test_step_rules(steps: str, problem: str) -> None:
    assert any(problem in found for found in _steps(steps)), _steps(steps)


@pytest.mark.parametrize("steps", [
    "- {lowerBound: 0, adjustment: 1}\n",
    "- {upperBound: 0, adjustment: -1}\n",
    "- {upperBound: -5, adjustment: -1}\n",  # a negative upper bound needs nothing more
    "- {lowerBound: 5, adjustment: 1}\n",  # a positive lower bound needs nothing more
    "- {upperBound: -5, adjustment: -2}\n- {lowerBound: -5, upperBound: 0, adjustment: -1}\n",
    "- {upperBound: 0, adjustment: 0}\n- {lowerBound: 0, upperBound: 10, adjustment: 1}\n"
    "- {lowerBound: 10, adjustment: 2}\n",
])
def test_step_layouts_aws_accepts(steps: str) -> None:
    assert _steps(steps) == []


def test_exact_capacity_takes_no_negative_adjustment() -> None:
    assert _steps("- {lowerBound: 0, adjustment: 0}\n", "ExactCapacity") == []
    (problem,) = _steps("- {lowerBound: 0, adjustment: -1}\n", "ExactCapacity")
    assert problem.startswith("spec.stepScaling.steps[0].adjustment: ")
    assert _steps("- {lowerBound: 0, adjustment: -1}\n", "ChangeInCapacity") == []


# ---- scalable targets ----------------------------------------------------------------------------------

def _target(namespace: str, resource_id: str, dimension: str) -> list[str]:
    return _parse(f"""
        apiVersion: trimtab.io/v1alpha1
        kind: ScalableTarget
        metadata: {{name: t}}
        spec:
          serviceNamespace: {namespace}
          resourceId: "{resource_id}"
          scalableDimension: {dimension}
          minCapacity: 0
          maxCapacity: 1
    """)[1]


# The documented example resource id of every dimension (API_RegisterScalableTarget), except Spot
# Fleet's, whose 'ec2' the model's dimension pattern refuses today.
DOCUMENTED_EXAMPLES = {
    "ecs:service:DesiredCount": "service/my-cluster/my-service",
    "elasticmapreduce:instancegroup:InstanceCount": "instancegroup/j-2EEZNYKUA1NTV/ig-1791Y4E1L8YI0",
    "appstream:fleet:DesiredCapacity": "fleet/sample-fleet",
    "dynamodb:table:ReadCapacityUnits": "table/my-table",
    "dynamodb:index:WriteCapacityUnits": "table/my-table/index/my-table-index",
    "rds:cluster:ReadReplicaCount": "cluster:my-db-cluster",
    "sagemaker:variant:DesiredInstanceCount": "endpoint/my-end-point/variant/KMeansClustering",
    "sagemaker:variant:DesiredProvisionedConcurrency": "endpoint/my-end-point/variant/KMeansClustering",
    "sagemaker:inference-component:DesiredCopyCount": "inference-component/my-inference-component",
    "custom-resource:ResourceType:Property": "https://example.execute-api.us-west-2.amazonaws.com/prod/x/1-23456789",
    "comprehend:document-classifier-endpoint:DesiredInferenceUnits":
        "arn:aws:comprehend:us-west-2:123456789012:document-classifier-endpoint/EXAMPLE",
    "comprehend:entity-recognizer-endpoint:DesiredInferenceUnits":
        "arn:aws:comprehend:us-west-2:123456789012:entity-recognizer-endpoint/EXAMPLE",
    "lambda:function:ProvisionedConcurrency": "function:my-function:prod",
    "cassandra:table:WriteCapacityUnits": "keyspace/mykeyspace/table/mytable",
    "kafka:broker-storage:VolumeSize":
        "arn:aws:kafka:us-east-1:123456789012:cluster/demo-cluster-1/6357e0b2-0e6a-4b86-a0b4-70df934c2e31-5",
    "elasticache:replication-group:NodeGroups": "replication-group/mycluster",
    "elasticache:replication-group:Replicas": "replication-group/mycluster",
    "elasticache:cache-cluster:Nodes": "cache-cluster/mycluster",
    "neptune:cluster:ReadReplicaCount": "cluster:mycluster",
    "workspaces:workspacespool:DesiredUserSessions": "workspacespool/wspool-123456",
}


@pytest.mark.parametrize(("dimension", "resource_id"), DOCUMENTED_EXAMPLES.items())
def test_documented_resource_ids_are_accepted(dimension: str, resource_id: str) -> None:
    assert _target(dimension.partition(":")[0], resource_id, dimension) == []


def test_a_resource_id_arn_is_checked_as_its_pseudo_parameters_make_it() -> None:
    dimension = "kafka:broker-storage:VolumeSize"
    cluster = "cluster/demo-cluster-1/6357e0b2-0e6a-4b86-a0b4-70df934c2e31-5"
    assert _target("kafka", f"arn:${{AWS::Partition}}:kafka:${{AWS::Region}}:${{AWS::AccountId}}:{cluster}",
                   dimension) == []
    (problem,) = _target("kafka", "arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:topic/t", dimension)
    assert problem.startswith("spec.resourceId: for kafka:broker-storage:VolumeSize, resourceId has the form ")


def test_the_tables_match_botocores_service_model() -> None:
    """When botocore learns a namespace, dimension or metric type, these tables must learn it too."""
    model = botocore.session.get_session().get_service_model("application-autoscaling")
    assert set(DIMENSIONS) == set(model.shape_for("ServiceNamespace").enum)
    dimensions = {dimension for listed in DIMENSIONS.values() for dimension in listed}
    assert dimensions == set(model.shape_for("ScalableDimension").enum)
    assert set(model.shape_for("MetricType").enum) == KNOWN_PREDEFINED_METRICS
    for namespace, dimensions in DIMENSIONS.items():
        for dimension in dimensions:
            assert dimension.startswith(f"{namespace}:")
            assert dimension in PREDEFINED_METRICS
            assert resource_type_key(dimension) in RESOURCE_IDS or namespace == "custom-resource"


def test_wrong_dimension_and_lambda_latest() -> None:
    (problem,) = _target("dynamodb", "table/t", "dynamodb:table:ProvisionedThroughput")
    assert problem.startswith("spec.scalableDimension: 'dynamodb:table:ProvisionedThroughput' is not a scalable")
    (problem,) = _target("lambda", "function:f:$LATEST", "lambda:function:ProvisionedConcurrency")
    assert problem == "spec.resourceId: provisioned concurrency needs a published version or an alias, not $LATEST"


def test_ecs_shorthand_is_always_well_formed() -> None:
    _valid("""
        apiVersion: trimtab.io/v1alpha1
        kind: ScalableTarget
        metadata: {name: t}
        spec: {ecsService: {cluster: main, service: web}, minCapacity: 1, maxCapacity: 2}
    """)


# ---- pairs: a policy and its target ----------------------------------------------------------------------

PAIR = """
apiVersion: trimtab.io/v1alpha1
kind: ScalableTarget
metadata: {{name: t}}
spec: {{serviceNamespace: {namespace}, resourceId: "{resource}", scalableDimension: {dimension},
        minCapacity: 1, maxCapacity: 2}}
---
apiVersion: trimtab.io/v1alpha1
kind: ScalingPolicy
metadata: {{name: p}}
spec:
  targetRef: t
{policy}"""
TRACK = "  targetTracking: {{targetValue: 50, predefinedMetric: {{type: {metric}{label}}}}}\n"
STEP = "  stepScaling: {adjustmentType: ChangeInCapacity, steps: [{lowerBound: 0, adjustment: 1}]}\n"


def _pair(dimension: str, policy: str) -> list[tuple[str, str]]:
    resource = DOCUMENTED_EXAMPLES[dimension]
    records = _records(PAIR.format(namespace=dimension.partition(":")[0], resource=resource, dimension=dimension,
                                   policy=policy))
    policy_record = records["ScalingPolicy/p"]
    return [found for rule in PAIR_RULES["ScalingPolicy"] if (found := rule(policy_record, records)) is not None]


def _track(metric: str) -> str:
    label = ", resourceLabel: app/a/1/targetgroup/b/2" if metric == "ALBRequestCountPerTarget" else ""
    return TRACK.format(metric=metric, label=label)


@pytest.mark.parametrize(("dimension", "metric"), [
    ("ecs:service:DesiredCount", "ECSServiceAverageCPUUtilization"),
    ("ecs:service:DesiredCount", "ALBRequestCountPerTarget"),
    ("dynamodb:table:ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
    ("dynamodb:index:WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
    ("lambda:function:ProvisionedConcurrency", "LambdaProvisionedConcurrencyUtilization"),
    ("elasticache:replication-group:Replicas", "ElastiCachePrimaryEngineCPUUtilization"),
    ("kafka:broker-storage:VolumeSize", "KafkaBrokerStorageUtilization"),
])
def test_predefined_metric_of_the_targets_service(dimension: str, metric: str) -> None:
    assert _pair(dimension, _track(metric)) == []


@pytest.mark.parametrize(("dimension", "metric"), [
    ("dynamodb:table:ReadCapacityUnits", "ECSServiceAverageCPUUtilization"),
    ("dynamodb:table:ReadCapacityUnits", "DynamoDBWriteCapacityUtilization"),
    ("dynamodb:table:ReadCapacityUnits", "ALBRequestCountPerTarget"),
    ("lambda:function:ProvisionedConcurrency", "RDSReaderAverageCPUUtilization"),
    ("sagemaker:variant:DesiredProvisionedConcurrency", "SageMakerVariantInvocationsPerInstance"),
])
def test_predefined_metric_of_another_service(dimension: str, metric: str) -> None:
    ((field, message),) = _pair(dimension, _track(metric))
    assert field == "spec.targetTracking.predefinedMetric.type"
    assert message.startswith(f"{metric} does not apply to {dimension}")


def test_policy_type_per_namespace() -> None:
    assert _pair("ecs:service:DesiredCount", STEP) == []
    assert _pair("dynamodb:table:ReadCapacityUnits", STEP) == [
        ("spec.stepScaling", "namespace dynamodb does not support step scaling; use targetTracking")]
    emr = "elasticmapreduce:instancegroup:InstanceCount"
    tracking = ("  targetTracking: {targetValue: 50, customizedMetric: "
                "{namespace: AWS/ElasticMapReduce, metricName: YARNMemoryAvailablePercentage, statistic: Average}}\n")
    assert _pair(emr, STEP) == []
    assert _pair(emr, tracking) == [
        ("spec.targetTracking", "namespace elasticmapreduce does not support target tracking; use stepScaling")]


def test_pair_rules_ignore_what_the_graph_reports() -> None:
    records = _records("""
        apiVersion: trimtab.io/v1alpha1
        kind: ScalingPolicy
        metadata: {name: p}
        spec:
          targetRef: missing
          stepScaling: {adjustmentType: ChangeInCapacity, steps: [{lowerBound: 0, adjustment: 1}]}
    """)
    assert [rule(records["ScalingPolicy/p"], records) for rule in ALL_PAIR_RULES] == [None] * len(ALL_PAIR_RULES)


# ---- lifecycle -------------------------------------------------------------------------------------------

def _lifecycle(rule: str) -> list[str]:
    body = textwrap.indent(textwrap.dedent(rule), " " * 4)
    return _parse(f"""
apiVersion: trimtab.io/v1alpha1
kind: Bucket
metadata: {{name: acme-lifecycle}}
spec:
  lifecycleRules:
{body}""")[1]


def test_lifecycle_rules() -> None:
    assert _lifecycle("""
        - id: ok
          transitions: [{days: 30, storageClass: STANDARD_IA}, {days: 60, storageClass: GLACIER}]
          expiration: {days: 61}
    """) == []
    # Written out of order: the rules look at the days, not the list order.
    assert _lifecycle("""
        - id: unordered
          transitions: [{days: 60, storageClass: GLACIER}, {days: 30, storageClass: STANDARD_IA}]
    """) == []
    (problem,) = _lifecycle("""
        - id: too-soon
          transitions: [{days: 45, storageClass: GLACIER}, {days: 30, storageClass: STANDARD_IA}]
    """)
    assert problem.startswith("spec.lifecycleRules[0].transitions[0].days: objects stay in STANDARD_IA")
    (problem,) = _lifecycle("""
        - id: same-day
          transitions: [{days: 0, storageClass: GLACIER_IR}, {days: 0, storageClass: GLACIER}]
    """)
    assert problem.startswith("spec.lifecycleRules[0].transitions[1].days: transitions to GLACIER_IR and GLACIER on")
    (problem,) = _lifecycle("""
        - id: markers
          tags: {a: b}
          expiration: {expiredObjectDeleteMarker: true}
    """)
    assert problem.startswith("spec.lifecycleRules[0].tags: ")
    assert _lifecycle("- {id: markers-off, tags: {a: b}, expiration: {expiredObjectDeleteMarker: false}}\n") == []



# ---- website hosting and transfer acceleration -----------------------------------------------------------

def _bucket(name: str, spec: str) -> list[str]:
    return _parse(f"apiVersion: trimtab.io/v1alpha1\nkind: Bucket\nmetadata: {{name: {name}}}\nspec: {spec}\n")[1]


@pytest.mark.parametrize("website", [
    "{}", "{indexDocument: index.html}", "{redirectAllRequestsTo: {hostName: www.example.com}}",
    "{indexDocument: index.html, errorDocument: e.html, routingRules: [{redirect: {replaceKeyWith: a.html}}]}",
])
def test_websites_aws_accepts(website: str) -> None:
    assert _bucket("acme-site", f"{{website: {website}}}") == []


def test_website_rules() -> None:
    problems = _bucket("acme-site", "{website: {redirectAllRequestsTo: {hostName: example.com}, "
                                    "errorDocument: e.html, routingRules: [{redirect: {protocol: https}}]}}")
    assert [problem.split(":")[0] for problem in problems] == ["spec.website.errorDocument",
                                                               "spec.website.routingRules"]
    (problem,) = _bucket("acme-site", "{website: {routingRules: [{redirect: {protocol: https}}]}}")
    assert problem.startswith("spec.website.routingRules: routingRules needs indexDocument")


def test_transfer_acceleration_needs_a_name_without_periods() -> None:
    assert _bucket("acme-uploads", "{transferAcceleration: true}") == []
    assert _bucket("www.acme.example", "{}") == []
    for setting in ("true", "false"):
        (problem,) = _bucket("www.acme.example", f"{{transferAcceleration: {setting}}}")
        assert problem.startswith("spec.transferAcceleration: S3 takes no transfer acceleration setting")


# ---- resource policies -----------------------------------------------------------------------------------

def _policy(kind: str, name: str, statement: dict[str, Any], extra: str = "") -> list[str]:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return _parse(f"""
        apiVersion: trimtab.io/v1alpha1
        kind: {kind}
        metadata: {{name: {name}}}
        spec: {{policy: {policy}{extra}}}
    """)[1]


GRANT = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}


@pytest.mark.parametrize("resource", [
    "arn:aws:sqs:us-east-1:123456789012:jobs", "arn:aws:sqs:*:*:jobs", "arn:aws:sqs:*:123456789012:j*",
    "arn:aws-cn:sqs:cn-north-1:123456789012:jobs", "*", "arn:aws:sqs:*", ["arn:aws:sqs:eu-west-1:1:jobs"],
    "${Self.Arn}", "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:jobs",
    "arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:j*", "arn:${AWS::Partition}:sqs:*",
])
def test_queue_policy_resources_aws_accepts(resource: Any) -> None:
    assert _policy("Queue", "jobs", {**GRANT, "Action": "sqs:SendMessage", "Resource": resource}) == []


@pytest.mark.parametrize("resource", [
    "arn:aws:sqs:us-east-1:123456789012:other", "arn:aws:sns:us-east-1:123456789012:jobs", "jobs",
    "arn:aws:sqs:us-east-1:123456789012:jobs-dlq", "${Self.Arn}-dlq",
    "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:other",
    "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:jobs",
])
def test_queue_policy_resources_aws_refuses(resource: str) -> None:
    (problem,) = _policy("Queue", "jobs", {**GRANT, "Action": "sqs:SendMessage", "Resource": resource})
    assert problem.startswith("spec.policy.Statement[0].Resource: ")


@pytest.mark.parametrize("resource", [
    "arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*", "arn:aws:s3:::acme-data/a/b/${aws:username}/*",
    "arn:aws:s3:::acme-*", "arn:aws:s3:::*", "*", "${Self.Arn}", "${Self.Arn}/*", "${Self.Arn}/${aws:username}/*",
    "arn:${AWS::Partition}:s3:::acme-data/*",
])
def test_bucket_policy_resources_aws_accepts(resource: str) -> None:
    assert _policy("Bucket", "acme-data", {**GRANT, "Action": "s3:GetObject", "Resource": resource}) == []


@pytest.mark.parametrize("resource", [
    "arn:aws:s3:::acme-data-2", "arn:aws:s3:::other/acme-data", "arn:aws:s3:::acme", "acme-data",
    "${Self.Arn}-2/*", "arn:${AWS::Partition}:s3:::other/*",
])
def test_bucket_policy_resources_aws_refuses(resource: str) -> None:
    (problem,) = _policy("Bucket", "acme-data", {**GRANT, "Action": "s3:GetObject", "Resource": resource})
    assert problem.startswith("spec.policy.Statement[0].Resource: ")


def test_public_bucket_policy_needs_block_public_policy_off() -> None:
    public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-site/*"}
    (problem,) = _policy("Bucket", "acme-site", public)
    assert problem.startswith("spec.policy.Statement[0].Principal: this statement makes the bucket public")
    assert _policy("Bucket", "acme-site", public, ", publicAccessBlock: {blockPublicPolicy: false}") == []
    limited = {**public, "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}}}
    assert _policy("Bucket", "acme-site", limited) == []
    assert _policy("Bucket", "acme-site", {**public, "Effect": "Deny"}) == []


def test_require_tls_needs_no_policy_statement_rules() -> None:
    _valid("""
        apiVersion: trimtab.io/v1alpha1
        kind: Bucket
        metadata: {name: acme-tls}
        spec: {requireTls: true}
    """)


# ---- alarm actions and metric math -----------------------------------------------------------------------

def _alarm_action(arn: str, field: str = "alarmActions") -> list[str]:
    return _parse(f"""
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {{name: a}}
        spec:
          metric: {{namespace: AWS/EC2, metricName: CPUUtilization, statistic: Average, period: 60}}
          evaluationPeriods: 1
          threshold: 1
          comparisonOperator: GreaterThanThreshold
          {field}: [{{arn: "{arn}"}}]
    """)[1]


@pytest.mark.parametrize("arn", [
    "arn:aws:sns:us-east-1:123456789012:alerts", "arn:aws:sns:eu-west-1:123456789012:alerts.fifo",
    "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts",
    "arn:aws:automate:us-east-1:ec2:terminate",
    "arn:aws:swf:us-east-1:123456789012:action/actions/AWS_EC2.InstanceId.Stop/1.0",
    "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:6d8972f3-efc8-437c-92d1-6270f29a66e7:"
    "resource/ecs/service/default/web-app:policyName/web-app-cpu-gt-75",
    "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:6d8972f3-efc8-437c-92d1-6270f29a66e7:"
    "resource/lambda/function:my-function:prod:policyName/pc",
    "arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:lambda:us-east-1:123456789012:function:f:7",
    "arn:aws:ssm:us-east-1:123456789012:opsitem:1", "arn:aws:ssm-incidents::123456789012:responseplan/p",
    "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:alerts",
    "arn:${AWS::Partition}:automate:${AWS::Region}:ec2:recover",
    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:f:live",
])
def test_alarm_actions_aws_documents(arn: str) -> None:
    for field in ("alarmActions", "okActions", "insufficientDataActions"):
        assert _alarm_action(arn, field) == [], field


def test_an_alarm_action_is_checked_as_its_pseudo_parameters_make_it() -> None:
    (problem,) = _alarm_action("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:alerts")
    # The message quotes the ARN as written, not the stand-in values it was checked with.
    assert problem.startswith("spec.alarmActions[0].arn: CloudWatch cannot act on "
                              "'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:alerts'")


def test_investigation_groups_are_alarm_actions_only() -> None:
    arn = "arn:aws:aiops:us-east-1:123456789012:investigation-group:abc123"
    assert _alarm_action(arn) == []
    (problem,) = _alarm_action(arn, "okActions")
    assert problem.startswith("spec.okActions[0].arn: an investigation group can only be an alarm action")


@pytest.mark.parametrize(("expression", "ids"), [
    ("m1 / m2", ["m1", "m2"]),
    ("IF(RATE(visible) > 0 AND (sent - deleted) > 0, 1, 0)", ["visible", "sent", "deleted"]),
    ('SUM(METRICS("m")) * 1e3 + 2.5E-2', []),
    ("SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)", []),
    ("SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId) WHERE env = 'prod'", []),
    ("FILL(m1, REPEAT) + PERIOD(m1)", ["m1", "m1"]),
    ("ANOMALY_DETECTION_BAND(m1, 2)", ["m1"]),
])
def test_referenced_ids(expression: str, ids: list[str]) -> None:
    assert referenced_ids(expression) == ids


def test_glob_matches() -> None:
    assert glob_matches("arn:aws:sqs:*:*:orders", "arn:aws:sqs:us-east-1:1:orders")
    assert glob_matches("order?", "orders")
    assert not glob_matches("order?", "order")
    assert glob_matches("a.b[c]", "a.b[c]")  # no regex or fnmatch metacharacters leak through
    assert not glob_matches("a.b", "axb")
