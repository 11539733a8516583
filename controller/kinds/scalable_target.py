"""Application Auto Scaling scalable targets.

moto gap: Application Auto Scaling has no tag reads (ListTagsForResource answers 500), so ownership
of targets rests on trimtab's inventory, not on tags. Tags are still sent at registration, where
real AWS keeps them as a durable mark.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError
from pydantic.alias_generators import to_snake

from controller.api.fields import Ref
from controller.api.scalable_target import ScalableTarget
from controller.api.substitution import Environment, substituted
from controller.aws import AwsClients
from controller.kinds.base import Desired, Observation, Outputs, RefResolver, ResourceClient, ResourceGone, compare
from controller.kinds.batching import BatchLoader
from controller.kinds.descriptor import EventMapper, IamGrant, KindDescriptor, Touched, touch
from controller.kinds.ownership import OWNER_TAG
from controller.kinds.tag_index import TagIndex
from controller.store.base import Identity

TargetKey = tuple[str, str, str]  # (namespace, resource id, dimension)
DESCRIBE_BATCH = 50  # DescribeScalableTargets takes at most 50 ResourceIds
_SUSPENDED_KEYS = {
    "dynamicScalingInSuspended": "DynamicScalingInSuspended",
    "dynamicScalingOutSuspended": "DynamicScalingOutSuspended",
    "scheduledScalingSuspended": "ScheduledScalingSuspended",
}


class ScalableTargetClient(ResourceClient[ScalableTarget]):
    kind = "ScalableTarget"
    service = "application-autoscaling"
    # Conflicts are decided by the inventory: moto cannot tag scalable targets (docs/aws-emulator.md).
    # Real AWS can, so the ownership tags are set at creation and re-read before a delete (`read_tags`).
    tags_ownership = False

    def __init__(self, aws: AwsClients, tag_index: TagIndex | None = None) -> None:
        super().__init__(aws, tag_index)
        self._loader: BatchLoader[TargetKey, dict[str, Any]] = BatchLoader(self._describe, DESCRIBE_BATCH)
        self._tags_readable = True  # until the endpoint says it cannot list a target's tags (moto)

    def identity(self, resource: ScalableTarget, refs: RefResolver) -> Identity:
        spec = resource.spec
        return {"namespace": spec.namespace, "resourceId": spec.resource, "dimension": spec.dimension}

    def render(self, resource: ScalableTarget, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        state: dict[str, Any] = {
            "minCapacity": spec.min_capacity,
            "maxCapacity": spec.max_capacity,
            "suspendedState": {key: getattr(spec.suspended_state, to_snake(key)) for key in _SUSPENDED_KEYS},
        }
        if spec.role_arn is not None:  # else AWS picks the service-linked role, which is not drift
            state["roleARN"] = spec.role_arn
        return state

    async def _describe(self, keys: list[TargetKey]) -> dict[TargetKey, dict[str, Any]]:
        client = await self.aws.client("application-autoscaling")
        found: dict[TargetKey, dict[str, Any]] = {}
        for namespace in sorted({key[0] for key in keys}):
            ids = sorted({key[1] for key in keys if key[0] == namespace})
            paginator = client.get_paginator("describe_scalable_targets")
            async for page in paginator.paginate(ServiceNamespace=namespace, ResourceIds=ids):
                for target in page["ScalableTargets"]:
                    found[(namespace, target["ResourceId"], target["ScalableDimension"])] = target
        return found

    async def prefetch(self, resources: list[ScalableTarget]) -> None:
        # The keys `observe` will load: a resource id may be an ARN written with pseudo parameters.
        caller = await self.aws.caller_identity()
        await self._loader.prefetch([_key(substituted(resource, self.environment(resource, caller)))
                                     for resource in resources])

    async def observe(self, desired: Desired[ScalableTarget]) -> Observation:
        identity = desired.identity
        target = await self._loader.load((identity["namespace"], identity["resourceId"], identity["dimension"]))
        if target is None:
            return Observation(exists=False)
        suspended = target.get("SuspendedState", {})
        state = {
            "minCapacity": target["MinCapacity"],
            "maxCapacity": target["MaxCapacity"],
            "suspendedState": {key: bool(suspended.get(aws, False)) for key, aws in _SUSPENDED_KEYS.items()},
        }
        if "roleARN" in desired.state:
            state["roleARN"] = target.get("RoleARN")
        return compare(desired, Observation(exists=True, state=state, outputs=self._outputs(desired, target)))

    async def create(self, desired: Desired[ScalableTarget]) -> Outputs:
        target = await self._register(desired, tags=desired.tags)
        return self._outputs(desired, target)

    async def update(self, desired: Desired[ScalableTarget], observation: Observation) -> Outputs:
        await self._register(desired, tags=None)
        return observation.outputs

    async def _register(self, desired: Desired[ScalableTarget], tags: dict[str, str] | None) -> dict[str, Any]:
        client = await self.aws.client("application-autoscaling")
        identity, state = desired.identity, desired.state
        arguments: dict[str, Any] = {
            "ServiceNamespace": identity["namespace"],
            "ResourceId": identity["resourceId"],
            "ScalableDimension": identity["dimension"],
            "MinCapacity": state["minCapacity"],
            "MaxCapacity": state["maxCapacity"],
            "SuspendedState": {aws: state["suspendedState"][key] for key, aws in _SUSPENDED_KEYS.items()},
        }
        if "roleARN" in state:
            arguments["RoleARN"] = state["roleARN"]
        if tags:
            arguments["Tags"] = tags
        return dict(await client.register_scalable_target(**arguments))

    async def read_tags(self, identity: Identity) -> dict[str, str] | None:
        client = await self.aws.client("application-autoscaling")
        found = (await client.describe_scalable_targets(
            ServiceNamespace=identity["namespace"], ResourceIds=[identity["resourceId"]],
            ScalableDimension=identity["dimension"])).get("ScalableTargets", [])
        if not found:
            raise ResourceGone(identity["resourceId"])
        arn = found[0].get("ScalableTargetARN")
        if not arn or not self._tags_readable:
            return None
        try:
            tags = dict((await client.list_tags_for_resource(ResourceARN=arn)).get("Tags", {}))
        except ClientError as error:
            # moto gap: ListTagsForResource answers 500 (not implemented). The inventory decides then.
            if int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0) >= 500:
                self._tags_readable = False
                return None
            raise
        # Targets registered before they could be tagged, or adopted (adoption does not re-register),
        # carry no mark: then the inventory decides, as it does for every conflict of this kind.
        return tags if OWNER_TAG in tags else None

    async def delete(self, identity: Identity) -> None:
        client = await self.aws.client("application-autoscaling")
        try:
            await client.deregister_scalable_target(
                ServiceNamespace=identity["namespace"],
                ResourceId=identity["resourceId"],
                ScalableDimension=identity["dimension"],
            )
        except client.exceptions.ObjectNotFoundException:
            return

    @staticmethod
    def _outputs(desired: Desired[ScalableTarget], target: dict[str, Any]) -> Outputs:
        identity = desired.identity
        outputs = {
            "serviceNamespace": identity["namespace"],
            "resourceId": identity["resourceId"],
            "scalableDimension": identity["dimension"],
        }
        if target.get("ScalableTargetARN"):
            outputs["arn"] = target["ScalableTargetARN"]
        ecs = desired.resource.spec.ecs_cluster_and_service
        if ecs is not None:
            outputs["ecsCluster"], outputs["ecsService"] = ecs
        return outputs


def _key(resource: ScalableTarget) -> TargetKey:
    return resource.spec.namespace, resource.spec.resource, resource.spec.dimension


def on_target(name: str, target: Ref, refs: RefResolver) -> Identity:
    """The identity of something that lives on a scalable target (a policy, a scheduled action): its name,
    and the target's namespace, resource id and dimension, read from the target spec's outputs."""
    return {"name": name, "namespace": refs.output(target, "serviceNamespace"),
            "resourceId": refs.output(target, "resourceId"), "dimension": refs.output(target, "scalableDimension")}


def target_touched_by(parameters: dict[str, Any]) -> dict[str, str] | None:
    """The target an Application Auto Scaling call names, as identity fields; None when it names it by
    its ARN alone (TagResource), which holds an opaque id: the resync covers those."""
    target = {key: parameters.get(wire) for key, wire in
              (("namespace", "serviceNamespace"), ("resourceId", "resourceId"), ("dimension", "scalableDimension"))}
    return {key: str(value) for key, value in target.items()} if all(isinstance(v, str) for v in target.values()) \
        else None


# The calls that write a target itself, and (AWS deletes them with a deregistered target) everything on it.
TARGET_EVENTS = frozenset({"RegisterScalableTarget", "DeregisterScalableTarget"})


def touched_on_target(kind: str, name_parameter: str) -> EventMapper:
    """The events mapper of a kind that lives on a target (a policy, a scheduled action): its own calls
    name it by `name_parameter` and the target; the target's own calls touch every one on the target."""
    def touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
        target = target_touched_by(parameters)
        if target is None:
            return
        if name_parameter in parameters:
            yield touch(kind, name=parameters[name_parameter], **target)
        elif event in TARGET_EVENTS:
            yield touch(kind, **target)

    return touched_by


async def find_on_target(client: Any, operation: str, identity: Identity, *, results: str, name_key: str,
                         names_filter: str) -> dict[str, Any] | None:
    """The one item named identity["name"] on the identity's target, from a Describe* paginator. The name
    is matched here as well: moto ignores DescribeScalingPolicies' PolicyNames filter."""
    found = None
    async for page in client.get_paginator(operation).paginate(
        ServiceNamespace=identity["namespace"], ResourceId=identity["resourceId"],
        ScalableDimension=identity["dimension"], **{names_filter: [identity["name"]]},
    ):
        found = next((item for item in page[results] if item[name_key] == identity["name"]), found)
    return found


def _touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    target = target_touched_by(parameters)
    if target is not None and event in TARGET_EVENTS:
        yield touch("ScalableTarget", **target)


DESCRIPTOR = KindDescriptor(
    model=ScalableTarget, client=ScalableTargetClient, delete_rank=5, events=_touched_by,
    outputs=("serviceNamespace", "resourceId", "scalableDimension", "arn", "ecsCluster", "ecsService"),
    iam=IamGrant(
        # Application Auto Scaling has no resource-level permissions for these actions.
        unscoped_actions=("application-autoscaling:DescribeScalableTargets",
                          "application-autoscaling:RegisterScalableTarget",
                          "application-autoscaling:DeregisterScalableTarget",
                          "application-autoscaling:ListTagsForResource"),
        implied_actions=("application-autoscaling:TagResource",),  # Tags in RegisterScalableTarget
        # A target's roleARN, checked as iam:PassRole inside RegisterScalableTarget
        # (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html).
        passes_role_to="application-autoscaling.amazonaws.com",
    ),
)
