"""The table of resource clients: adding a kind means adding its module and one line here."""

from __future__ import annotations

from typing import Any

from controller.aws import AwsClients
from controller.kinds.alarm import AlarmClient
from controller.kinds.base import ResourceClient
from controller.kinds.bucket import BucketClient
from controller.kinds.queue import QueueClient
from controller.kinds.scalable_target import ScalableTargetClient
from controller.kinds.scaling_policy import ScalingPolicyClient
from controller.kinds.tag_index import TagIndex

CLIENT_TYPES: dict[str, type[ResourceClient[Any]]] = {
    client.kind: client
    for client in (QueueClient, BucketClient, ScalableTargetClient, ScalingPolicyClient, AlarmClient)
}


def build_clients(aws: AwsClients) -> dict[str, ResourceClient[Any]]:
    """One client per kind, sharing the AWS clients and the tag index (and each kind's batch loader) for a run."""
    tag_index = TagIndex(aws)
    return {kind: client_type(aws, tag_index) for kind, client_type in CLIENT_TYPES.items()}
