"""Scalable targets: each service namespace has its own scalable dimensions and resource id format.

Source: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
(ResourceId and ScalableDimension). The ecsService shorthand always yields a valid pair.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.api import substitution
from controller.api.rules.base import Violation, rule
from controller.api.rules.services import DIMENSIONS, RESOURCE_IDS, resource_type_key
from controller.api.scalable_target import ScalableTarget


@rule(ScalableTarget)
def dimension_belongs_to_namespace(target: ScalableTarget) -> Iterator[Violation]:
    """Each namespace has a fixed set of scalable dimensions ("ScalableDimension ... consists of the service
    namespace, resource type, and scaling property", then the list).
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html"""
    spec = target.spec
    if spec.ecs_service is not None or spec.scalable_dimension is None:
        return
    known = DIMENSIONS.get(spec.namespace)
    if known is not None and spec.scalable_dimension not in known:
        yield Violation(("spec", "scalableDimension"),
                        f"{spec.scalable_dimension!r} is not a scalable dimension of namespace {spec.namespace!r}; "
                        f"it has {', '.join(known)}")


@rule(ScalableTarget)
def resource_id_has_namespace_format(target: ScalableTarget) -> Iterator[Violation]:
    """The resource id's format depends on the resource type, e.g. an ECS service is service/CLUSTER/SERVICE,
    a DynamoDB index table/TABLE/index/INDEX, an Aurora cluster cluster:NAME. An ARN written with ${AWS::...}
    pseudo parameters is checked as it becomes with stand-in values.
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html"""
    spec = target.spec
    if spec.ecs_service is not None or spec.scalable_dimension not in DIMENSIONS.get(spec.namespace, ()):
        return
    expected = RESOURCE_IDS.get(resource_type_key(spec.dimension))
    resource = substitution.substitute(spec.resource, substitution.values(target, substitution.STAND_IN))
    if expected is not None and not expected[0].match(resource):
        yield Violation(("spec", "resourceId"),
                        f"for {spec.dimension}, resourceId has the form {expected[1]} (got {spec.resource!r})")


@rule(ScalableTarget)
def lambda_qualifier_is_not_latest(target: ScalableTarget) -> Iterator[Violation]:
    """Lambda provisioned concurrency: "the function name with a function version or alias name suffix that
    is not $LATEST". https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html"""
    spec = target.spec
    if spec.namespace == "lambda" and spec.resource.startswith("function:") and spec.resource.endswith(":$LATEST"):
        yield Violation(("spec", "resourceId"),
                        "provisioned concurrency needs a published version or an alias, not $LATEST")
