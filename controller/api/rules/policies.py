"""Resource policies of queues, buckets and topics: the IAM policy grammar, and resources that lie within
the resource the policy is attached to.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-creating-custom-policies-access-policy-examples.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html.
The model checks Statement, Effect and Action/NotAction presence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from controller.api import substitution
from controller.api.bucket import Bucket
from controller.api.queue import Queue
from controller.api.rules.base import Violation, as_list, glob_matches, rule
from controller.api.topic import Topic
from controller.api.yamldoc import PathKey

POLICY: PathKey = ("spec", "policy")
VERSIONS = ("2012-10-17", "2008-10-17")
STATEMENT_ELEMENTS = frozenset({
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition",
})
PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
# Condition keys that make a wildcard principal non-public for S3 Block Public Access.
_NON_PUBLIC_KEYS = frozenset(key.lower() for key in (
    "aws:SourceIp", "aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner", "aws:SourceAccount",
    "aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:userid", "s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:DataAccessPointArn",
    "s3:DataAccessPointAccount", "aws:SourceOrgID", "aws:SourceOrgPaths",
))

Owner = Queue | Bucket | Topic


def _policy(resource: Owner) -> dict[str, Any] | None:
    return resource.spec.policy


def statements(resource: Owner) -> Iterator[tuple[PathKey, dict[str, Any]]]:
    """(path, statement) of every statement, whether Statement is one mapping or a list."""
    policy = _policy(resource)
    if policy is None:
        return
    written = policy.get("Statement")
    if isinstance(written, dict):
        yield (*POLICY, "Statement"), written
    elif isinstance(written, list):
        for index, statement in enumerate(written):
            if isinstance(statement, dict):
                yield (*POLICY, "Statement", index), statement


def _each(statement: dict[str, Any], path: PathKey, element: str) -> Iterator[tuple[PathKey, Any]]:
    value = statement.get(element)
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, element, index), item
    elif value is not None:
        yield (*path, element), value


@rule(Queue, Bucket, Topic)
def policy_version(resource: Owner) -> Iterator[Violation]:
    """"The Version policy element ... 2012-10-17 ... 2008-10-17" are the only versions.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html"""
    policy = _policy(resource)
    if policy is not None and "Version" in policy and policy["Version"] not in VERSIONS:
        yield Violation((*POLICY, "Version"),
                        f"Version must be \"2012-10-17\" or \"2008-10-17\" (got {policy['Version']!r}); "
                        "quote it in YAML so it stays a string")


@rule(Queue, Bucket, Topic)
def statement_elements_are_known(resource: Owner) -> Iterator[Violation]:
    """A statement holds only Sid, Effect, Principal/NotPrincipal, Action/NotAction, Resource/NotResource and
    Condition. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"""
    for path, statement in statements(resource):
        for key in statement:
            if key not in STATEMENT_ELEMENTS:
                yield Violation((*path, key), f"{key!r} is not a policy statement element; "
                                              f"known: {', '.join(sorted(STATEMENT_ELEMENTS))}")


def _exactly_one(path: PathKey, statement: dict[str, Any], first: str, second: str, why: str) -> Iterator[Violation]:
    if first in statement and second in statement:
        yield Violation((*path, second), f"a statement takes {first} or {second}, not both")
    elif first not in statement and second not in statement:
        yield Violation(path, f"a statement needs {first} or {second}: {why}")


@rule(Queue, Bucket, Topic)
def statement_names_a_principal(resource: Owner) -> Iterator[Violation]:
    """"You must use the Principal element in resource-based policies" (or NotPrincipal).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"""
    for path, statement in statements(resource):
        yield from _exactly_one(path, statement, "Principal", "NotPrincipal", "whom a resource policy applies to")


@rule(Queue, Bucket, Topic)
def statement_names_a_resource(resource: Owner) -> Iterator[Violation]:
    """"Statements must include either a Resource or a NotResource element."
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"""
    for path, statement in statements(resource):
        yield from _exactly_one(path, statement, "Resource", "NotResource", "the ARNs the statement covers")


@rule(Queue, Bucket, Topic)
def statement_action_or_not_action(resource: Owner) -> Iterator[Violation]:
    """A statement has Action or NotAction, not both.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"""
    for path, statement in statements(resource):
        if "Action" in statement and "NotAction" in statement:
            yield Violation((*path, "NotAction"), "a statement takes Action or NotAction, not both")


@rule(Queue, Bucket, Topic)
def principal_shape(resource: Owner) -> Iterator[Violation]:
    """A principal is "*" or a mapping of AWS, Service, Federated or CanonicalUser to one value or a list.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"""
    for path, statement in statements(resource):
        for element in ("Principal", "NotPrincipal"):
            principal = statement.get(element)
            if principal is None or principal == "*":
                continue
            if not isinstance(principal, dict) or not principal:
                yield Violation((*path, element), f'{element} must be "*" or a mapping such as {{AWS: ARN}} '
                                                  f"or {{Service: NAME}}")
                continue
            for key, value in principal.items():
                if key not in PRINCIPAL_TYPES:
                    yield Violation((*path, element, key),
                                    f"{key!r} is not a principal type; use {', '.join(sorted(PRINCIPAL_TYPES))}")
                elif not all(isinstance(item, str) and item for item in as_list(value)) or not as_list(value):
                    yield Violation((*path, element, key), f"{element}.{key} must be a string or a list of strings")


def _service_actions(resource: Owner, service: str) -> Iterator[Violation]:
    for path, statement in statements(resource):
        for element in ("Action", "NotAction"):
            for where, action in _each(statement, path, element):
                if not isinstance(action, str) or not (action == "*" or action.lower().startswith(f"{service}:")):
                    yield Violation(where, f"a {resource.KIND.lower()} policy grants {service}: actions only "
                                           f"(got {action!r})")


@rule(Queue)
def queue_policy_actions_are_sqs(queue: Queue) -> Iterator[Violation]:
    """An SQS access policy grants SQS actions ("sqs:SendMessage", "sqs:*", ...).
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html"""
    yield from _service_actions(queue, "sqs")


@rule(Bucket)
def bucket_policy_actions_are_s3(bucket: Bucket) -> Iterator[Violation]:
    """A bucket policy grants S3 actions; S3 answers MalformedPolicy "Policy has invalid action" otherwise.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html"""
    yield from _service_actions(bucket, "s3")


@rule(Topic)
def topic_policy_actions_are_sns(topic: Topic) -> Iterator[Violation]:
    """An SNS access policy grants SNS actions ("sns:Publish", "sns:Subscribe", ...).
    https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html"""
    yield from _service_actions(topic, "sns")


def _arn_parts(arn: str) -> list[str] | None:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def _resources(resource: Owner, offline: dict[str, str]) -> Iterator[tuple[PathKey, Any, str | None]]:
    """(path, Resource as written, what it becomes with the `offline` values, or None if it is no string) of
    every statement: a Resource may be written ${Self.Arn}, or with ${AWS::...} pseudo parameters."""
    for path, statement in statements(resource):
        for where, written in _each(statement, path, "Resource"):
            yield where, written, substitution.substitute(written, offline) if isinstance(written, str) else None


@rule(Queue)
def queue_policy_resource_is_the_queue(queue: Queue) -> Iterator[Violation]:
    """An SQS policy's Resource is the queue's own ARN, arn:aws:sqs:REGION:ACCOUNT:NAME (${Self.Arn}), or a
    wildcard form of it.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-creating-custom-policies-access-policy-examples.html"""
    name = queue.external_name()
    offline = substitution.values(queue, substitution.STAND_IN)
    own = offline[substitution.SELF_ARN]
    for where, written, resource in _resources(queue, offline):
        if resource is None:
            yield Violation(where, "a Resource is an ARN string")
            continue
        parts = _arn_parts(resource)
        if parts is None:
            if "*" in resource and glob_matches(resource, own):
                continue
            yield Violation(where, f"a Resource is an ARN, here ${{Self.Arn}} (arn:aws:sqs:REGION:ACCOUNT:{name}) "
                                   f"(got {written!r})")
        elif not glob_matches(parts[2], "sqs") or not glob_matches(parts[5], name):
            yield Violation(where, f"the queue's policy can only cover the queue itself, ${{Self.Arn}} "
                                   f"(arn:aws:sqs:REGION:ACCOUNT:{name}) (got {written!r})")


@rule(Topic)
def topic_policy_resource_is_the_topic(topic: Topic) -> Iterator[Violation]:
    """An SNS policy's Resource "must match the ARN of the policy's topic", arn:aws:sns:REGION:ACCOUNT:NAME
    (${Self.Arn}): a policy covers one topic.
    https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html"""
    name = topic.external_name()
    offline = substitution.values(topic, substitution.STAND_IN)
    own = offline[substitution.SELF_ARN]
    for where, written, resource in _resources(topic, offline):
        if resource is None:
            yield Violation(where, "a Resource is an ARN string")
        elif resource != own and not ("*" in resource and glob_matches(resource, own)):
            parts = _arn_parts(resource)
            if parts is not None and parts[2] == "sns" and parts[5] == name:
                continue  # the topic in an account or region written out: AWS checks which one
            yield Violation(where, f"the topic's policy can only cover the topic itself, ${{Self.Arn}} "
                                   f"(arn:aws:sns:REGION:ACCOUNT:{name}) (got {written!r})")


@rule(Bucket)
def bucket_policy_resource_is_the_bucket(bucket: Bucket) -> Iterator[Violation]:
    """A bucket policy covers the bucket (arn:aws:s3:::BUCKET, ${Self.Arn}) and its objects
    (arn:aws:s3:::BUCKET/KEY), not another bucket; S3 answers MalformedPolicy "Policy has invalid resource".
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html"""
    name = bucket.external_name()
    offline = substitution.values(bucket, substitution.STAND_IN)
    own = offline[substitution.SELF_ARN]
    for where, written, resource in _resources(bucket, offline):
        if resource is None:
            yield Violation(where, "a Resource is an ARN string")
            continue
        parts = _arn_parts(resource)
        if parts is None:
            if "*" in resource and (glob_matches(resource, own) or glob_matches(resource, f"{own}/key")):
                continue
            yield Violation(where, f"a Resource is an ARN, here ${{Self.Arn}} or ${{Self.Arn}}/KEY "
                                   f"(arn:aws:s3:::{name}, arn:aws:s3:::{name}/KEY) (got {written!r})")
            continue
        bucket_part = parts[5].split("/", 1)[0]
        if not glob_matches(parts[2], "s3") or not glob_matches(bucket_part, name):
            yield Violation(where, f"the bucket's policy can only cover ${{Self.Arn}} and ${{Self.Arn}}/KEY "
                                   f"(arn:aws:s3:::{name}, arn:aws:s3:::{name}/KEY) (got {written!r})")


def _is_public(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    wildcard = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))
    if statement.get("Effect") != "Allow" or not wildcard:
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return True
    keys = {key.lower() for block in condition.values() if isinstance(block, dict) for key in block}
    return not keys & _NON_PUBLIC_KEYS


@rule(Bucket)
def public_policy_needs_block_public_policy_off(bucket: Bucket) -> Iterator[Violation]:
    """"BlockPublicPolicy ... causes Amazon S3 to reject calls to PUT Bucket policy if the specified bucket
    policy allows public access." A policy is public when it allows "*" without a fixed-value condition
    (aws:SourceIp, aws:SourceArn, aws:SourceVpce, aws:PrincipalOrgID, ...).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"""
    if not bucket.spec.public_access_block.block_public_policy:
        return
    for path, statement in statements(bucket):
        if _is_public(statement):
            yield Violation((*path, "Principal"),
                            "this statement makes the bucket public, which S3 refuses while "
                            "publicAccessBlock.blockPublicPolicy is true; narrow the principal, add a condition "
                            "such as aws:SourceArn, or set blockPublicPolicy: false")
