"""`trimtab iam-policy`: the least-privilege IAM policy for the kinds a deployment manages.

Each kind declares its actions on its descriptor (kinds/descriptor.py `IamGrant`); this scopes them by
name prefix where AWS allows, puts deletions behind the ownership tag where the service evaluates it,
and adds the store's table.
tests/test_iam.py records every AWS operation the code makes and checks this policy against them.
"""

from __future__ import annotations

import argparse
import functools
import json
from typing import Any

from controller.kinds.ownership import DEFAULT_CONTROLLER_ID, OWNER_TAG
from controller.kinds.registry import BY_KIND, DESCRIPTORS, KINDS

# TransactWriteItems has no action of its own: IAM checks each part (fenced writes add a ConditionCheck).
# The receive side of `run --events sqs://QUEUE` (controller/sources/events.py).
EVENTS_ACTIONS = ("sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage")
# UpdateItem: lease renewals, and the keys forwarded between tasks on a lease item (LeaseStore.forward).
STORE_ACTIONS = ("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem",
                 "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
# Called by AWS on trimtab's behalf the first time an ECS service gets a scalable target.
ECS_AUTOSCALING_ROLE = ("arn:aws:iam::*:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
                        "AWSServiceRoleForApplicationAutoScaling_ECSService")
Subparsers = Any
# IAM's prefix of the services trimtab calls beyond its kinds', where it is not botocore's service id.
INFRASTRUCTURE_IAM_PREFIX = {"resource-groups-tagging-api": "tag"}
# S3 operations whose IAM action has another name.
S3_ACTIONS = {
    "HeadBucket": "ListBucket",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeleteBucketTagging": "PutBucketTagging",
    "DeleteBucketPolicy": "DeleteBucketPolicy",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "ListBucketIntelligentTieringConfigurations": "GetIntelligentTieringConfiguration",
    "PutBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "DeleteBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
    "GetBucketReplication": "GetReplicationConfiguration",
    "PutBucketReplication": "PutReplicationConfiguration",
    "DeleteBucketReplication": "PutReplicationConfiguration",
}


def iam_action(service_id: str, operation: str) -> str:
    """The IAM action that authorises one API operation ("s3", "HeadBucket" -> "s3:ListBucket")."""
    if (service_id, operation) == ("dynamodb", "TransactWriteItems"):
        return "dynamodb:ConditionCheckItem"  # its Put and Delete parts need PutItem and DeleteItem, granted too
    if service_id == "s3":
        operation = S3_ACTIONS.get(operation, operation)
    if service_id == "sqs" and operation.endswith("Batch"):  # SQS authorises a batch as its single action
        operation = operation.removesuffix("Batch")
    return f"{_iam_prefixes().get(service_id, service_id)}:{operation}"


@functools.cache
def _iam_prefixes() -> dict[str, str]:
    """botocore's service ids (as its events name them) -> IAM's prefix: the kinds' from their descriptors."""
    return {descriptor.service_id: descriptor.iam_prefix for descriptor in DESCRIPTORS} | INFRASTRUCTURE_IAM_PREFIX


def build_policy(kinds: list[str], name_prefix: str = "", store_table: str | None = None,
                 controller_id: str = DEFAULT_CONTROLLER_ID, events_queue: str | None = None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    unscoped: set[str] = set()
    for kind in kinds:
        grant = BY_KIND[kind].iam
        resource = grant.resource.format(prefix=name_prefix)
        plain = sorted(set(grant.actions) - set(grant.owner_tagged_actions))
        if plain:
            statements.append({"Sid": f"{kind}Manage", "Effect": "Allow", "Action": plain, "Resource": resource})
        if grant.owner_tagged_actions:
            statements.append({
                "Sid": f"{kind}DeleteOwnedOnly", "Effect": "Allow", "Action": sorted(grant.owner_tagged_actions),
                "Resource": resource,
                "Condition": {"StringEquals": {f"aws:ResourceTag/{OWNER_TAG}": controller_id}},
            })
        unscoped.update(grant.unscoped_actions, grant.implied_actions)
    if unscoped:
        statements.append({"Sid": "NoResourceLevelPermissions", "Effect": "Allow", "Action": sorted(unscoped),
                           "Resource": "*"})
    if "ScalableTarget" in kinds:
        statements.append({
            "Sid": "EcsAutoScalingServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
            "Resource": ECS_AUTOSCALING_ROLE,
            "Condition": {"StringLike": {"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"}},
        })
    for kind in kinds:
        # A role a spec names is the operator's, not named by trimtab's prefix: any role, but only to the
        # service the kind hands it to (IamGrant.passes_role_to). The Sid does not start with the kind's
        # name, which marks the statements scoped to trimtab's name prefix.
        service = BY_KIND[kind].iam.passes_role_to
        if service is not None:
            statements.append({
                "Sid": f"PassRoleFor{kind}", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                "Condition": {"StringEquals": {"iam:PassedToService": service}},
            })
    if store_table:
        statements.append({"Sid": "Store", "Effect": "Allow", "Action": list(STORE_ACTIONS),
                           "Resource": f"arn:aws:dynamodb:*:*:table/{store_table}"})
    if events_queue:
        statements.append({"Sid": "Events", "Effect": "Allow", "Action": list(EVENTS_ACTIONS),
                           "Resource": f"arn:aws:sqs:*:*:{events_queue}"})
    return {"Version": "2012-10-17", "Statement": statements}


def granted_actions(policy: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        found.update([actions] if isinstance(actions, str) else actions)
    return found


def _kinds(text: str) -> list[str]:
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in BY_KIND]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    return kinds


def register_iam_policy(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "iam-policy", help="print the least-privilege IAM policy trimtab needs",
        description="Print an IAM policy (JSON) allowing exactly the AWS actions trimtab calls for the given "
                    "kinds: scoped to --name-prefix where the service supports resource ARNs, deletions only "
                    "on resources tagged with this controller's owner tag where the service evaluates tags, "
                    "and the store's table with --store-table.",
    )
    parser.add_argument("--kinds", type=_kinds, default=list(KINDS),
                        help=f"comma-separated kinds (default: all: {','.join(KINDS)})")
    parser.add_argument("--name-prefix", default="", help="AWS names the specs use all start with this")
    parser.add_argument("--store-table", default=None, help="the DynamoDB table of --store dynamodb://TABLE")
    parser.add_argument("--controller-id", default=DEFAULT_CONTROLLER_ID,
                        help="the owner tag value deletions are limited to (default: %(default)s)")
    parser.add_argument("--events-queue", default=None, metavar="QUEUE_NAME",
                        help="the queue of `run --events sqs://QUEUE_NAME`: receive and delete its messages")
    parser.set_defaults(handler=lambda args: print(json.dumps(
        build_policy(args.kinds, args.name_prefix, args.store_table, args.controller_id, args.events_queue),
        indent=2)) or 0)
