"""ScalableTarget: an Application Auto Scaling scalable target, e.g. an ECS service's task count."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.aws_params import Hand, Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, ManagedSpec, Resource
from controller.api.fields import FieldError, SpecModel

ECS_DESIRED_COUNT = "ecs:service:DesiredCount"
REGISTER_URL = "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html"
# ECS names: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed"
# (the ECS model has no constraints on these strings).
_ECS_NAME = r"^[A-Za-z0-9_-]+$"
_ECS_CLUSTER = Hand("https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html",
                    min_length=1, max_length=255, pattern=_ECS_NAME)
_ECS_SERVICE = Hand("https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
                    min_length=1, max_length=255, pattern=_ECS_NAME)


class EcsService(SpecModel):
    cluster: str = Field(description="Cluster name.")
    service: str = Field(description="Service name.")


class SuspendedState(SpecModel):
    dynamic_scaling_in_suspended: bool = Field(default=False, description="Stop scale-in by policies.")
    dynamic_scaling_out_suspended: bool = Field(default=False, description="Stop scale-out by policies.")
    scheduled_scaling_suspended: bool = Field(default=False, description="Stop scheduled actions.")


class ScalableTargetSpec(ManagedSpec):
    ecs_service: EcsService | None = Field(
        default=None, description="Shorthand for namespace ecs, resource service/CLUSTER/SERVICE, DesiredCount."
    )
    service_namespace: str | None = Field(default=None, description="Generic form: the namespace.")
    resource_id: str | None = Field(default=None, description="Generic form.")
    scalable_dimension: str | None = Field(default=None, description="Generic form, e.g. ecs:service:DesiredCount.")
    min_capacity: int = Field(description="Lowest capacity scaling may set.")
    max_capacity: int = Field(description="Highest capacity scaling may set.")
    suspended_state: SuspendedState = Field(default_factory=SuspendedState, description="Always managed.")
    role_arn: str | None = Field(
        default=None, alias="roleARN",
        description="The IAM role Application Auto Scaling acts with; omitted, it is not managed (AWS uses "
                    "the service-linked role where the namespace has one).")

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        generic = (self.service_namespace, self.resource_id, self.scalable_dimension)
        if self.ecs_service is not None and any(part is not None for part in generic):
            raise FieldError(
                "ecsService", "use either ecsService or serviceNamespace/resourceId/scalableDimension, not both"
            )
        if self.ecs_service is None and any(part is None for part in generic):
            raise ValueError("needs ecsService, or all of serviceNamespace, resourceId and scalableDimension")
        if self.scalable_dimension and self.service_namespace:
            prefix = self.scalable_dimension.split(":", 1)[0]
            if prefix != self.service_namespace:
                raise FieldError(
                    "scalableDimension",
                    f"dimension {self.scalable_dimension!r} does not belong to namespace {self.service_namespace!r}",
                )
        if self.min_capacity > self.max_capacity:
            raise FieldError(
                "minCapacity",
                f"minCapacity ({self.min_capacity}) must not exceed maxCapacity ({self.max_capacity})",
            )
        return self

    @property
    def namespace(self) -> str:
        return "ecs" if self.ecs_service else str(self.service_namespace)

    @property
    def resource(self) -> str:
        if self.ecs_service:
            return f"service/{self.ecs_service.cluster}/{self.ecs_service.service}"
        return str(self.resource_id)

    @property
    def dimension(self) -> str:
        return ECS_DESIRED_COUNT if self.ecs_service else str(self.scalable_dimension)

    @property
    def ecs_cluster_and_service(self) -> tuple[str, str] | None:
        """The ECS cluster and service this target scales, in either form."""
        if self.namespace != "ecs":
            return None
        parts = self.resource.split("/")
        if len(parts) == 3 and parts[0] == "service":
            return parts[1], parts[2]
        return None


_AAS, _REGISTER = "application-autoscaling", "RegisterScalableTarget"
# Capacity is a count of units; "the minimum value allowed is 0" (the model says only `integer`).
_CAPACITY = Hand(REGISTER_URL, minimum=0)

SCALABLE_TARGET_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "ecsService": TrimtabOnly("a shorthand: ServiceNamespace ecs, ResourceId service/CLUSTER/SERVICE, "
                              "ScalableDimension ecs:service:DesiredCount"),
    "ecsService.cluster": Param("ecs", "CreateCluster", "clusterName", (_ECS_CLUSTER,)),
    "ecsService.service": Param("ecs", "CreateService", "serviceName", (_ECS_SERVICE,)),
    "serviceNamespace": Param(_AAS, _REGISTER, "ServiceNamespace"),
    "resourceId": Param(_AAS, _REGISTER, "ResourceId"),
    "scalableDimension": Param(_AAS, _REGISTER, "ScalableDimension"),
    "minCapacity": Param(_AAS, _REGISTER, "MinCapacity", (_CAPACITY,)),
    "maxCapacity": Param(_AAS, _REGISTER, "MaxCapacity", (_CAPACITY,)),
    "suspendedState": Param(_AAS, _REGISTER, "SuspendedState"),
    "suspendedState.dynamicScalingInSuspended": Param(_AAS, _REGISTER, "SuspendedState.DynamicScalingInSuspended"),
    "suspendedState.dynamicScalingOutSuspended": Param(_AAS, _REGISTER, "SuspendedState.DynamicScalingOutSuspended"),
    "suspendedState.scheduledScalingSuspended": Param(_AAS, _REGISTER, "SuspendedState.ScheduledScalingSuspended"),
    "roleARN": Param(_AAS, _REGISTER, "RoleARN"),
}


class ScalableTarget(Resource):
    KIND: ClassVar[str] = "ScalableTarget"
    AWS_PARAMS: ClassVar[ParamTable] = SCALABLE_TARGET_PARAMS
    SUMMARY: ClassVar[str] = "An Application Auto Scaling scalable target with min/max capacity."
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("MIN", ".spec.minCapacity", "integer"),
        ("MAX", ".spec.maxCapacity", "integer"),
    )

    kind: Literal["ScalableTarget"]
    spec: ScalableTargetSpec

    def external_name(self) -> str:
        return f"{self.spec.namespace}|{self.spec.resource}|{self.spec.dimension}"
