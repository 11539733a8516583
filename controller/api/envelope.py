"""The Kubernetes-shaped envelope every spec shares: apiVersion, kind, metadata, spec."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.aws_params import ParamTable, TrimtabOnly
from controller.api.fields import FieldError, ObjectName, SpecModel, parse_duration

RESYNC_ANNOTATION = "trimtab.io/resync-interval"
SUSPEND_ANNOTATION = "trimtab.io/suspend"
DeletionPolicy = Literal["Delete", "Retain"]
ManagementPolicy = Literal["Full", "ObserveOnly"]


class Metadata(SpecModel):
    name: ObjectName = Field(description="The spec's name; unique per kind. The AWS name defaults to it.")
    labels: dict[str, str] = Field(default_factory=dict, description="Free-form labels.")
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Free-form annotations. trimtab.io/resync-interval (e.g. 30s, 5m) sets this spec's drift "
        "check interval; trimtab.io/suspend: \"true\" pauses reconciling it.",
    )

    @model_validator(mode="after")
    def _controller_annotations(self) -> Self:
        interval = self.annotations.get(RESYNC_ANNOTATION)
        if interval is not None:
            try:
                if parse_duration(interval) < 1:
                    raise ValueError(f"must be at least 1s (got {interval!r})")
            except ValueError as error:
                raise FieldError(f"annotations.{RESYNC_ANNOTATION}", str(error)) from None
        suspend = self.annotations.get(SUSPEND_ANNOTATION)
        if suspend is not None and suspend not in ("true", "false"):
            raise FieldError(f"annotations.{SUSPEND_ANNOTATION}", f'must be "true" or "false" (got {suspend!r})')
        return self


class ManagedSpec(SpecModel):
    """Fields every kind's spec carries, after Crossplane's managed-resource policies."""

    deletion_policy: DeletionPolicy = Field(
        default="Delete",
        description="What happens to the AWS resource when the spec is removed: Delete it, or Retain it.",
    )
    management_policy: ManagementPolicy = Field(
        default="Full",
        description="Full: create, update and delete. ObserveOnly: report drift, change nothing.",
    )
    adopt: bool = Field(
        default=False,
        description="Take over an existing AWS resource that trimtab did not create (adds ownership tags).",
    )


# The ManagedSpec fields, in every kind's AWS_PARAMS: policies of trimtab's, no AWS parameter.
MANAGED_PARAMS: ParamTable = {
    "deletionPolicy": TrimtabOnly("what trimtab does when the spec is removed"),
    "managementPolicy": TrimtabOnly("whether trimtab changes the resource or only reports drift"),
    "adopt": TrimtabOnly("whether trimtab takes over a resource it did not create"),
}


class Resource(SpecModel):
    """One desired AWS resource. Subclasses pin `kind` and the spec type."""

    KIND: ClassVar[str]
    # Short description used in CRDs and the spec reference.
    SUMMARY: ClassVar[str]
    # Printer columns beyond READY/SYNCED/AGE: (header, JSONPath, type).
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    # Spec path -> the AWS parameter it is rendered into (controller/api/aws_params.py).
    AWS_PARAMS: ClassVar[ParamTable] = MANAGED_PARAMS

    api_version: Literal["trimtab.io/v1alpha1"] = Field(alias="apiVersion", default="trimtab.io/v1alpha1")
    kind: str
    metadata: Metadata
    spec: ManagedSpec

    @property
    def key(self) -> str:
        """The work-queue and store key: Kind/name."""
        return f"{self.KIND}/{self.metadata.name}"

    @abstractmethod
    def external_name(self) -> str:
        """The AWS resource's identity, for inventory and for detecting two specs on one resource."""
