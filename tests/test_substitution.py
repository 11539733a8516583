"""Pseudo parameters (controller/api/substitution.py): what is substituted and what is left alone, unknown
names refused where they were written, and the example specs applied in an account other than moto's
default one, with `plan` in sync afterwards."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from controller.api import substitution
from controller.api.alarm import Alarm
from controller.api.bucket import Bucket
from controller.api.envelope import Resource
from controller.api.queue import Queue
from controller.api.scalable_target import ScalableTarget
from controller.api.substitution import Environment, substitute, substituted
from controller.api.validation import parse_document
from controller.api.yamldoc import load_documents
from controller.aws import AwsClients, AwsSettings
from controller.aws_models import lean_session
from controller.emulator import LocalEmulator
from controller.kinds.registry import MODELS
from controller.sources.directory import load_directory
from tests.conftest import REGION, REPO, CallRecorder
from tests.helpers import Harness

CHINA = Environment(account_id="111122223333", partition="aws-cn", region="cn-north-1")
IAM_VARIABLES = ["${aws:username}", "${aws:SourceArn}", "${s3:prefix}", "${*}", "${?}", "${$}",
                 "${aws:PrincipalTag/team}", "home/${aws:userid}/*"]


def _model(text: str) -> Resource:
    documents, errors = load_documents(textwrap.dedent(text).lstrip(), "spec.yaml")
    assert not errors and len(documents) == 1
    resource, problems = parse_document(documents[0])
    assert resource is not None, [str(problem) for problem in problems]
    return resource


def _errors(text: str) -> list[str]:
    documents, errors = load_documents(textwrap.dedent(text).lstrip(), "spec.yaml")
    assert not errors and len(documents) == 1
    return [str(problem) for problem in parse_document(documents[0])[1]]


QUEUE = """
    apiVersion: trimtab.io/v1alpha1
    kind: Queue
    metadata: {name: jobs}
    spec:
      queueName: team-jobs
      encryption:
        type: SSE-KMS
        kmsKeyId: arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/jobs
      policy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: sqs:SendMessage
            Resource: ${Self.Arn}
            Condition:
              ArnLike: {aws:SourceArn: "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*"}
              StringLike: {aws:PrincipalTag/team: "${aws:username}-${*}"}
"""


# ---- the substitution itself -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", IAM_VARIABLES)
def test_iam_policy_variables_pass_through_untouched(text: str) -> None:
    assert substitute(text, substitution.values(_model(QUEUE), CHINA)) == text


def test_every_string_of_a_queue_policy_and_its_key_id_are_substituted() -> None:
    queue = _model(QUEUE)
    result = substituted(queue, CHINA)
    assert isinstance(result, Queue) and result.spec.policy is not None and result.spec.encryption is not None
    statement = result.spec.policy["Statement"][0]
    assert statement["Resource"] == "arn:aws-cn:sqs:cn-north-1:111122223333:team-jobs"  # the AWS name, not metadata's
    assert statement["Principal"] == {"AWS": "arn:aws-cn:iam::111122223333:root"}
    assert statement["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws-cn:sns:cn-north-1:111122223333:*"},
                                      "StringLike": {"aws:PrincipalTag/team": "${aws:username}-${*}"}}
    assert result.spec.encryption.kms_key_id == "arn:aws-cn:kms:cn-north-1:111122223333:alias/jobs"
    assert result.spec.visibility_timeout_seconds == queue.spec.visibility_timeout_seconds
    # The validated spec keeps what was written: it is substituted afresh for each account it meets.
    assert queue.spec.policy is not None and queue.spec.policy["Statement"][0]["Resource"] == "${Self.Arn}"


def test_a_spec_without_pseudo_parameters_is_not_copied() -> None:
    queue = _model("""
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: plain}
        spec:
          policy:
            Version: "2012-10-17"
            Statement: [{Effect: Allow, Principal: "*", Action: "sqs:*", Resource: "arn:aws:sqs:*:*:plain"}]
    """)
    assert substituted(queue, CHINA) is queue


def test_self_arn_of_a_bucket_and_alarm_actions_and_resource_ids() -> None:
    bucket = substituted(_model("""
        apiVersion: trimtab.io/v1alpha1
        kind: Bucket
        metadata: {name: acme-site}
        spec:
          publicAccessBlock: {blockPublicPolicy: false}
          policy:
            Version: "2012-10-17"
            Statement: [{Effect: Allow, Principal: "*", Action: s3:GetObject, Resource: "${Self.Arn}/*"}]
    """), CHINA)
    assert isinstance(bucket, Bucket) and bucket.spec.policy is not None
    assert bucket.spec.policy["Statement"][0]["Resource"] == "arn:aws-cn:s3:::acme-site/*"
    alarm = substituted(_model("""
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {name: cpu}
        spec:
          description: ${AWS::Region} is not substituted outside the fields that take pseudo parameters
          metric: {namespace: AWS/EC2, metricName: CPUUtilization, statistic: Average, period: 60}
          evaluationPeriods: 1
          threshold: 90
          comparisonOperator: GreaterThanThreshold
          alarmActions: [{arn: "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:oncall"}]
          okActions: [{arn: "arn:aws:sns:us-east-1:444455556666:oncall"}]
    """), CHINA)
    assert isinstance(alarm, Alarm)
    assert [action.arn for action in alarm.spec.alarm_actions] == ["arn:aws-cn:sns:cn-north-1:111122223333:oncall"]
    assert [action.arn for action in alarm.spec.ok_actions] == ["arn:aws:sns:us-east-1:444455556666:oncall"]
    assert alarm.spec.description is not None and alarm.spec.description.startswith("${AWS::Region} is not")
    target = substituted(_model("""
        apiVersion: trimtab.io/v1alpha1
        kind: ScalableTarget
        metadata: {name: msk}
        spec:
          serviceNamespace: kafka
          resourceId: arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:cluster/demo/6357e0b2-0e6a-4b86
          scalableDimension: kafka:broker-storage:VolumeSize
          minCapacity: 1
          maxCapacity: 800
          roleARN: arn:${AWS::Partition}:iam::${AWS::AccountId}:role/msk-scaling
    """), CHINA)
    assert isinstance(target, ScalableTarget)
    assert target.spec.resource == "arn:aws-cn:kafka:cn-north-1:111122223333:cluster/demo/6357e0b2-0e6a-4b86"
    assert target.spec.role_arn == "arn:aws-cn:iam::111122223333:role/msk-scaling"


def test_every_scope_names_fields_of_its_kind() -> None:
    for kind, scope in substitution.SCOPES.items():
        assert set(scope.fields) <= set(MODELS[kind].AWS_PARAMS), kind


# ---- validation: unknown names, where they were written ----------------------------------------------------

@pytest.mark.parametrize(("resource", "said"), [
    ("${AWS::StackName}", "unknown pseudo parameter ${AWS::StackName};"),
    ("arn:aws:sqs:${aws::region}:111122223333:jobs", "${aws::region} (did you mean ${AWS::Region}?)"),
    ("${Self.Name}", "unknown pseudo parameter ${Self.Name}"),
    ("${ Self.Arn }", "(did you mean ${Self.Arn}?)"),
])
def test_an_unknown_pseudo_parameter_is_refused_with_its_position(resource: str, said: str) -> None:
    errors = _errors(f"""
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {{name: jobs}}
        spec:
          policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {{AWS: "arn:aws:iam::111122223333:root"}}
                Action: sqs:SendMessage
                Resource: "{resource}"
    """)
    # One error: the Resource rule's complaint about the same field would only repeat it.
    assert len(errors) == 1, errors
    assert errors[0].startswith("spec.yaml:11:9: Queue/jobs: spec.policy.Statement[0].Resource: "), errors
    assert said in errors[0]


def test_self_arn_is_refused_where_the_kind_has_none() -> None:
    (error,) = _errors("""
        apiVersion: trimtab.io/v1alpha1
        kind: Alarm
        metadata: {name: cpu}
        spec:
          metric: {namespace: AWS/EC2, metricName: CPUUtilization, statistic: Average, period: 60}
          evaluationPeriods: 1
          threshold: 90
          comparisonOperator: GreaterThanThreshold
          okActions:
            - arn: ${Self.Arn}
    """)
    assert error.startswith("spec.yaml:10:7: Alarm/cpu: spec.okActions[0].arn: Alarm specs have no ${Self.Arn}")


def test_a_misspelt_partition_in_a_key_arn_is_named_not_the_key_pattern() -> None:
    (error,) = _errors("""
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: jobs}
        spec:
          encryption: {type: SSE-KMS, kmsKeyId: "arn:${AWS::Partiton}:kms:us-east-1:111122223333:alias/jobs"}
    """)
    assert "spec.encryption.kmsKeyId: unknown pseudo parameter ${AWS::Partiton} (did you mean ${AWS::Partition}?)" \
        in error


def test_pseudo_parameters_outside_their_fields_are_not_checked() -> None:
    _model("""
        apiVersion: trimtab.io/v1alpha1
        kind: Queue
        metadata: {name: jobs}
        spec:
          tags: {note: "${AWS::Anything} is a tag value like any other"}
    """)


# ---- the example specs in another account ------------------------------------------------------------------

# moto keeps state per account. Over HTTP it picks the account of a request from, in order: the
# MOTO_ACCOUNT_ID variable of the server process, an `x-moto-account-id` header, then the access key,
# whose account is the one of the role STS AssumeRole was asked for (the role need not exist); the
# default is 123456789012. (https://github.com/getmoto/moto/blob/master/docs/docs/multi_account.rst,
# moto/core/responses.py `get_current_account`, moto/sts/models.py `assume_role`.) The access key is
# what production has too: credentials decide the account, and STS GetCallerIdentity reports it.
OTHER_ACCOUNT = "210987654321"


@pytest.fixture
async def elsewhere(moto: LocalEmulator, boto: Any, tmp_path: Path) -> AsyncIterator[tuple[Harness, Any]]:
    """A harness whose credentials are another account's, and boto3 clients with the same credentials."""
    assumed = boto("sts").assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/trimtab",
                                      RoleSessionName="trimtab-test")["Credentials"]
    # moto finds the account from the access key id alone, so the session token is not needed.
    credentials = (assumed["AccessKeyId"], assumed["SecretAccessKey"])
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=credentials)

    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=moto.url,
                            aws_access_key_id=credentials[0], aws_secret_access_key=credentials[1])

    async with AwsClients(settings, session=lean_session()) as aws:
        harness = Harness(aws, CallRecorder(), tmp_path)
        try:
            yield harness, client
        finally:
            harness.close()


def _seed_ecs_services(specs: Path, client: Any) -> None:
    """The ECS services the examples' scalable targets point at, in the other account (moto checks them)."""
    ecs = client("ecs")
    for record in load_directory(specs).graph.records.values():
        pair = record.resource.spec.ecs_cluster_and_service if isinstance(record.resource, ScalableTarget) else None
        if pair is not None:
            ecs.create_cluster(clusterName=pair[0])
            ecs.create_service(cluster=pair[0], serviceName=pair[1], desiredCount=1)


async def test_the_examples_apply_in_another_account_and_plan_in_sync(
    elsewhere: tuple[Harness, Any], boto: Any
) -> None:
    harness, client = elsewhere
    assert (await harness.aws.caller_identity()).account_id == OTHER_ACCOUNT
    shutil.copytree(REPO / "specs", harness.specs)
    _seed_ecs_services(harness.specs, client)

    planned = await harness.plan()
    policy_change = next(change for change in planned.outcomes["Queue/orders"].changes if change.path == "policy")
    assert policy_change.after["Statement"][0]["Resource"] == f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:orders"

    applied = await harness.apply()
    assert not applied.failed, {key: (o.action, o.message) for key, o in applied.outcomes.items() if o.message}

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy", "QueueArn"])["Attributes"]
    assert attributes["QueueArn"] == f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:orders"
    (statement,) = json.loads(attributes["Policy"])["Statement"]
    assert statement["Resource"] == attributes["QueueArn"]  # the queue itself, in this account
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:role/webhook-receiver"}
    (alarm,) = client("cloudwatch").describe_alarms(AlarmNames=["request-processor-memory-high"])["MetricAlarms"]
    assert alarm["AlarmActions"] == [f"arn:aws:sns:{REGION}:{OTHER_ACCOUNT}:oncall-pagerduty"]
    (read,) = json.loads(client("s3").get_bucket_policy(Bucket="acme-sla-portal-frontend")["Policy"])["Statement"]
    assert read["Resource"] == "arn:aws:s3:::acme-sla-portal-frontend/*"
    assert read["Condition"]["StringEquals"]["AWS:SourceArn"].split(":")[4] == OTHER_ACCOUNT
    with pytest.raises(ClientError, match=r"NonExistentQueue|QueueDoesNotExist"):  # nothing in moto's default account
        boto("sqs").get_queue_url(QueueName="orders")

    again = await harness.plan()
    assert again.in_sync, {key: (o.action, [str(c) for c in o.changes]) for key, o in again.outcomes.items()
                           if o.action.value != "in sync"}
