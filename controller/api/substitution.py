"""Pseudo parameters: the account, partition and region a spec is applied in, and the resource's own ARN.

The syntax is CloudFormation Fn::Sub's, which users know: `${AWS::AccountId}`, `${AWS::Partition}`,
`${AWS::Region}`, and `${Self.Arn}` for the ARN of the resource the spec describes (the kinds that have
a fixed one: a queue, a bucket, a topic). They are substituted in the fields of `SCOPES` only: resource policies
and ARN-valued fields, where a hand-copied account id would name the wrong resource in any other account.
Every other `${...}` is left as written, so IAM's own policy variables (`${aws:username}`,
`${aws:SourceArn}`, `${s3:prefix}`, `${*}`, `${?}`, `${$}`) reach AWS untouched; unlike Fn::Sub, they need
no `${!...}` escape. A `${AWS::...}` or `${Self....}` that is not one of these names is an error, caught
when the spec is validated (`problems`), never sent.

`trimtab validate` has no credentials, so the rules check the substituted shape with `STAND_IN` values;
`plan`, `apply` and `run` substitute the values of the caller's identity (controller/kinds/base.py), all
three the same way.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from pydantic.alias_generators import to_snake

from controller.api.envelope import Resource
from controller.api.yamldoc import PathKey

ACCOUNT_ID, PARTITION, REGION, SELF_ARN = "AWS::AccountId", "AWS::Partition", "AWS::Region", "Self.Arn"
NAMES: dict[str, str] = {
    ACCOUNT_ID: "the account of trimtab's credentials (STS GetCallerIdentity)",
    PARTITION: "the partition of those credentials: aws, aws-cn, aws-us-gov, ...",
    REGION: "the resource's own region: a bucket's spec.region, otherwise the controller's region",
    SELF_ARN: "the ARN of the resource the spec describes (kinds with a `${Self.Arn}` below)",
}
# A partition in an ARN pattern of a field's own constraints, which see the spec as written.
PARTITION_PATTERN = r"(aws[a-z-]*|\$\{AWS::Partition\})"
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
# Pseudo parameters are ours; IAM's variables are `service:key` (one colon) or `*`, `?`, `$`.
_OURS = ("aws::", "self.")


@dataclass(frozen=True)
class Scope:
    """Where one kind takes pseudo parameters. `fields`: spec paths (AWS_PARAMS' syntax) whose strings are
    substituted, every string of a policy document included. `arn_prefix`: `${Self.Arn}` without the
    resource's AWS name, for kinds whose ARN that name fixes."""

    fields: tuple[str, ...]
    arn_prefix: str | None = None


SCOPES: dict[str, Scope] = {
    "Queue": Scope(("policy", "encryption.kmsKeyId", "redriveAllowPolicy.sourceQueueArns"),
                   "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"),
    "Bucket": Scope(("policy", "encryption.kmsKeyId", "notifications.lambdaFunctions[].lambdaFunctionArn",
                     "replication.role", "replication.rules[].destination.bucket"), "arn:${AWS::Partition}:s3:::"),
    "Topic": Scope(("policy", "encryption.kmsMasterKeyId"),
                   "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:"),
    "Subscription": Scope(("endpoint", "redrivePolicy.deadLetterTargetArn", "subscriptionRoleArn")),
    "Alarm": Scope(("alarmActions[].arn", "okActions[].arn", "insufficientDataActions[].arn")),
    # A Kafka cluster's or a Comprehend endpoint's resource id is its ARN; a role is this account's.
    "ScalableTarget": Scope(("resourceId", "roleARN")),
}


@dataclass(frozen=True)
class Environment:
    """What the pseudo parameters stand for when one resource is rendered."""

    account_id: str
    partition: str
    region: str


# Offline values (`trimtab validate`): shaped like real ones, so ARN rules can check what a spec becomes.
STAND_IN = Environment(account_id="000000000000", partition="aws", region="us-east-1")

_R = TypeVar("_R", bound=Resource)
_Visit = Callable[[PathKey, str], str]


def known_names(kind: str) -> list[str]:
    """The pseudo parameters a kind's specs may use."""
    return [name for name in NAMES if name != SELF_ARN or kind in _with_self_arn()]


def values(resource: Resource, environment: Environment) -> dict[str, str]:
    """Each pseudo parameter of `resource`'s kind, with its value in `environment`."""
    found = {ACCOUNT_ID: environment.account_id, PARTITION: environment.partition, REGION: environment.region}
    scope = SCOPES.get(resource.KIND)
    if scope is not None and scope.arn_prefix is not None:
        found[SELF_ARN] = substitute(scope.arn_prefix, found) + resource.external_name()
    return found


def substitute(text: str, known: dict[str, str]) -> str:
    """`text` with every `${NAME}` of `known` replaced by its value; any other `${...}` kept as written."""
    if "${" not in text:
        return text
    return _REFERENCE.sub(lambda match: known.get(match.group(1), match.group(0)), text)


def substituted(resource: _R, environment: Environment) -> _R:
    """`resource` with the pseudo parameters of its scope substituted; the same object when it uses none."""
    scope = SCOPES.get(resource.KIND)
    if scope is None:
        return resource
    known = values(resource, environment)
    result: Any = resource
    for field in scope.fields:
        result = _map(result, _segments(field), (), lambda _, text: substitute(text, known))
    return cast(_R, result)  # model_copy keeps the resource's own type


def problems(kind: str, data: Any) -> list[tuple[PathKey, str]]:
    """(path, message) for every unknown `${AWS::...}` or `${Self....}` in a spec's data as written."""
    scope = SCOPES.get(kind)
    if scope is None or not isinstance(data, dict):
        return []
    known = known_names(kind)
    found: list[tuple[PathKey, str]] = []

    def check(path: PathKey, text: str) -> str:
        found.extend((path, _unknown(name, kind, known)) for name in _REFERENCE.findall(text)
                     if name not in known and name.strip().lower().startswith(_OURS))
        return text

    for field in scope.fields:
        _map(data, _segments(field), (), check)
    return found


def _unknown(name: str, kind: str, known: list[str]) -> str:
    if name == SELF_ARN:  # not known: the kind has none
        return f"{kind} specs have no ${{{SELF_ARN}}}; only {' and '.join(_with_self_arn())} specs do"
    by_lower = {each.lower(): each for each in known}
    close = difflib.get_close_matches(name.strip().lower(), list(by_lower), n=1)
    hint = f" (did you mean ${{{by_lower[close[0]]}}}?)" if close else ""
    return (f"unknown pseudo parameter ${{{name}}}{hint}; trimtab substitutes "
            f"{', '.join(f'${{{each}}}' for each in known)} here")


def _with_self_arn() -> list[str]:
    return [kind for kind, scope in SCOPES.items() if scope.arn_prefix is not None]


def _segments(field: str) -> tuple[str, ...]:
    return ("spec", *field.split("."))


def _map(node: Any, segments: tuple[str, ...], path: PathKey, visit: _Visit) -> Any:
    """`node` (a model, or the data as written) with `visit` applied to each string that `segments` lead to:
    every string below the last segment, such as all of a policy document's. Parts that `visit` leaves
    unchanged are returned as they are, so a spec without pseudo parameters is never copied. `path` is
    where `node` is, from the document's root."""
    name, rest = segments[0].removesuffix("[]"), segments[1:]
    child = _child(node, name)
    if child is None:
        return node
    here = (*path, name)
    if segments[0].endswith("[]"):
        if not isinstance(child, list):
            return node
        changed: Any = _same_or([_map_or_visit(item, rest, (*here, index), visit)
                                 for index, item in enumerate(child)], child)
    else:
        changed = _map_or_visit(child, rest, here, visit)
    if changed is child:
        return node
    if isinstance(node, BaseModel):
        return node.model_copy(update={to_snake(name): changed})
    return {**node, name: changed}


def _map_or_visit(node: Any, rest: tuple[str, ...], path: PathKey, visit: _Visit) -> Any:
    return _map(node, rest, path, visit) if rest else _strings(node, path, visit)


def _strings(node: Any, path: PathKey, visit: _Visit) -> Any:
    if isinstance(node, str):
        return visit(path, node)
    if isinstance(node, dict):
        mapped = {key: _strings(value, (*path, key), visit) for key, value in node.items()}
        return node if all(map(operator.is_, mapped.values(), node.values())) else mapped
    if isinstance(node, list):
        return _same_or([_strings(item, (*path, index), visit) for index, item in enumerate(node)], node)
    return node


def _same_or(items: list[Any], original: list[Any]) -> list[Any]:
    return original if all(map(operator.is_, items, original)) else items


def _child(node: Any, name: str) -> Any:
    if isinstance(node, BaseModel):
        return getattr(node, to_snake(name), None)
    return node.get(name) if isinstance(node, dict) else None
