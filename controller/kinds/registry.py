"""The registry of kinds: adding a kind means its module (with its KindDescriptor) and one line here.

Every per-kind table is derived from DESCRIPTORS, never kept by hand (see controller/kinds/descriptor.py).
"""

from __future__ import annotations

from typing import Any

from controller.api.envelope import Resource
from controller.aws import AwsClients
from controller.aws_models import register_services
from controller.kinds import (
    alarm,
    bucket,
    composite_alarm,
    queue,
    scalable_target,
    scaling_policy,
    scheduled_action,
    subscription,
    topic,
)
from controller.kinds.base import ResourceClient
from controller.kinds.descriptor import GrantRule, KindDescriptor, PairRule
from controller.kinds.tag_index import TagIndex

DESCRIPTORS: tuple[KindDescriptor, ...] = (
    queue.DESCRIPTOR,
    bucket.DESCRIPTOR,
    scalable_target.DESCRIPTOR,
    scaling_policy.DESCRIPTOR,
    scheduled_action.DESCRIPTOR,
    alarm.DESCRIPTOR,
    topic.DESCRIPTOR,
    composite_alarm.DESCRIPTOR,
    subscription.DESCRIPTOR,
)

BY_KIND: dict[str, KindDescriptor] = {descriptor.kind: descriptor for descriptor in DESCRIPTORS}
KINDS: tuple[str, ...] = tuple(BY_KIND)
MODELS: dict[str, type[Resource]] = {kind: descriptor.model for kind, descriptor in BY_KIND.items()}
CLIENT_TYPES: dict[str, type[ResourceClient[Any]]] = {kind: d.client for kind, d in BY_KIND.items()}
# Pruning's order: dependents first (an alarm before the queue it watches), then by key.
DELETE_ORDER: tuple[str, ...] = tuple(d.kind for d in sorted(DESCRIPTORS, key=lambda d: d.delete_rank))
GRANTS: tuple[GrantRule, ...] = tuple(d.grants for d in DESCRIPTORS if d.grants is not None)
PAIR_RULES: dict[str, tuple[PairRule, ...]] = {kind: d.pair_rules for kind, d in BY_KIND.items()}
SERVICES: tuple[str, ...] = tuple(dict.fromkeys(descriptor.service for descriptor in DESCRIPTORS))

# The kinds' services join the lean botocore data's endpoints (controller/aws_models.py).
register_services(SERVICES)


def build_clients(aws: AwsClients) -> dict[str, ResourceClient[Any]]:
    """One client per kind, sharing the AWS clients and the tag index (and each kind's batch loader) for a run."""
    tag_index = TagIndex(aws)
    return {kind: client_type(aws, tag_index) for kind, client_type in CLIENT_TYPES.items()}
