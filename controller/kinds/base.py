"""The contract between the generic reconciler and each kind's resource client.

After crossplane-runtime's ExternalClient: a kind renders the state its spec manages, observes the
same fields in AWS, and creates, updates or deletes. The engine decides which to call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from controller.api.envelope import Resource
from controller.api.fields import Ref
from controller.api.substitution import Environment, substituted
from controller.aws import AwsClients, CallerIdentity
from controller.kinds.diff import FieldChange, diff_states
from controller.kinds.tag_index import TagIndex
from controller.store.base import Identity

R = TypeVar("R", bound=Resource)
Outputs = dict[str, str]


class RefResolver(ABC):
    """Resolves a reference to one of the referenced spec's outputs (name, arn, url, ...)."""

    @abstractmethod
    def output(self, ref: Ref, key: str) -> str: ...

    def granted(self, key: str) -> tuple[dict[str, Any], ...] | None:
        """The policy statements other specs of the revision grant themselves in spec `key`'s resource
        policy (api/graph.py SpecGraph.grants), with its pseudo parameters still to substitute; None
        when the revision has an invalid spec, which may grant one nobody can read (the receiver then
        leaves the granted statements as they are: an error never removes one)."""
        return ()


class TerminalError(Exception):
    """An error that retrying cannot fix; the spec or the world must change first."""


class RetryLater(Exception):
    """AWS says the call can succeed after a known wait (a queue deleted less than 60 s ago): retry once
    then, rather than backing off. Raised by a client, or made from a code on the kind's descriptor."""

    def __init__(self, seconds: float, message: str, code: str = "RetryLater") -> None:
        super().__init__(message)
        self.seconds = seconds
        self.code = code


class OwnedElsewhere(Exception):
    """A create found the resource already there, marked as another owner's: a conflict, not an error."""


class Pending(Exception):
    """The resource exists and waits on someone outside AWS and trimtab (an email subscription's recipient
    confirming it): nothing can be changed until then. Not an error: the row says Pending, and the slow
    resync looks again."""


class ResourceGone(Exception):
    """The resource does not exist (raised by `read_tags`)."""


@dataclass(frozen=True)
class Desired(Generic[R]):
    resource: R
    identity: Identity
    state: dict[str, Any]  # the managed fields, in the same shape observe reports them
    tags: dict[str, str] | None  # the full desired tag set, ownership tags included; None: untaggable


@dataclass
class Observation:
    exists: bool
    state: dict[str, Any] = field(default_factory=dict)
    # None when the kind cannot read tags (Application Auto Scaling in the emulator).
    tags: dict[str, str] | None = None
    outputs: Outputs = field(default_factory=dict)
    diff: list[FieldChange] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return self.exists and not self.diff


def compare(desired: Desired[Any], observation: Observation) -> Observation:
    """Fill in the observation's diff: every managed field, tags included, that differs."""
    if observation.exists:
        observation.diff = diff_states(desired.state, observation.state)
        if desired.tags is not None and observation.tags is not None:
            observation.diff += diff_states({"tags": desired.tags}, {"tags": observation.tags})
    return observation


class ResourceClient(ABC, Generic[R]):
    """One kind's view of AWS. Every operation is idempotent and safe to retry after a crash."""

    kind: ClassVar[str]
    service: ClassVar[str]  # the AWS service it calls, for per-service concurrency limits
    # Whether ownership can be read back from tags; if not, the store's inventory decides.
    tags_ownership: ClassVar[bool] = True
    # Whether the create call itself sets the ownership tags. If not (S3), the engine writes a
    # "create pending" record first, so a crash between create and tag cannot orphan the resource.
    tags_at_creation: ClassVar[bool] = True
    # For a kind whose state keeps AWS's member names (PascalCase): state path -> the spec's field path,
    # so plans, logs and `describe` name the fields people wrote (kinds/diff.py spec_named).
    spec_fields: ClassVar[Mapping[str, str]] = {}

    def __init__(self, aws: AwsClients, tag_index: TagIndex | None = None) -> None:
        self.aws = aws
        # Shared by the kinds of one run, so their tag reads batch together.
        self.tag_index = tag_index or TagIndex(aws)

    @abstractmethod
    def identity(self, resource: R, refs: RefResolver) -> Identity:
        """The AWS identity of the resource the spec describes (a policy's includes its target's)."""

    @abstractmethod
    def render(self, resource: R, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        """The fields the spec manages, normalised to the shape `observe` reports. `resource` comes with its
        pseudo parameters substituted (`desired`); `environment` is for ARNs the kind writes itself."""

    def region(self, resource: R) -> str:
        """The region the resource lives in: its ${AWS::Region}."""
        return self.aws.region

    def environment(self, resource: R, caller: CallerIdentity) -> Environment:
        """The values of `resource`'s pseudo parameters, for the account and partition of `caller`."""
        return Environment(caller.account_id, caller.partition, self.region(resource))

    async def prefetch(self, resources: list[R]) -> None:
        """Read many resources in few calls before they are observed one by one. Optional."""

    @abstractmethod
    async def observe(self, desired: Desired[R]) -> Observation:
        """Read only what the spec manages. Must not change anything."""

    @abstractmethod
    async def create(self, desired: Desired[R]) -> Outputs: ...

    @abstractmethod
    async def update(self, desired: Desired[R], observation: Observation) -> Outputs: ...

    @abstractmethod
    async def delete(self, identity: Identity) -> None:
        """Delete by identity alone: pruning has no spec any more. Absent already is success."""

    async def read_tags(self, identity: Identity) -> dict[str, str] | None:
        """The resource's tags read from the service itself, never from a cache: ownership is checked
        with it right after a create and right before a delete. Raises ResourceGone when the resource
        does not exist. None: this kind's ownership cannot be read from tags (the inventory decides)."""
        return None

    def desired(
        self, resource: R, refs: RefResolver, ownership_tags: Mapping[str, str], caller: CallerIdentity
    ) -> Desired[R]:
        """What the spec asks for in `caller`'s account: plan, apply and run all substitute its pseudo
        parameters here (controller/api/substitution.py), so the identity, the rendered state and what
        create and update send name the account's own resources."""
        environment = self.environment(resource, caller)
        resource = substituted(resource, environment)
        tags = dict(getattr(resource.spec, "tags", {}))
        tags.update(ownership_tags)
        return Desired(resource, self.identity(resource, refs), self.render(resource, refs, environment), tags)


def tag_changes(current: Mapping[str, str] | None, desired: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """(keys to remove, tags to set) to turn `current` into `desired`; AWS's own aws: tags are left alone."""
    current = current or {}
    stale = sorted(key for key in current if key not in desired and not key.startswith("aws:"))
    changed = {key: value for key, value in desired.items() if current.get(key) != value}
    return stale, changed
