"""A kind, described once: everything the rest of trimtab needs to know about it, in one object.

After ACK's resource manager factory (a descriptor plus one registration call): each kind module
declares a `KindDescriptor`, and controller/kinds/registry.py lists them. Every table that used to be
kept by hand elsewhere is derived from that list: the metrics' kinds, the delete order, the AWS
services (and so their endpoint prefixes, from botocore's models), the IAM policy and the stack's
task role, the terminal and "retry later" error codes, the CRDs' plurals, the rules between two
specs, and the CloudTrail events that say a resource of the kind changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from controller.api.envelope import Resource
from controller.aws import code_in, is_retryable
from controller.aws_models import endpoint_prefix, service_model
from controller.kinds.base import ResourceClient

if TYPE_CHECKING:
    from controller.api.graph import SpecRecord

# (record, records by key) -> (field path, message) when two specs together break a rule AWS enforces.
PairRule = Callable[["SpecRecord", "dict[str, SpecRecord]"], "tuple[str, str] | None"]


@dataclass(frozen=True)
class Touched:
    """A resource an event says was written: a kind, and the identity fields the event names (a
    subset of the inventory's identity: DeregisterScalableTarget touches the target and, by its
    namespace, resource id and dimension alone, every policy on it)."""

    kind: str
    fields: tuple[tuple[str, str], ...]

    def matches(self, kind: str, identity: Mapping[str, Any]) -> bool:
        return kind == self.kind and all(str(identity.get(name)) == value for name, value in self.fields)


def touch(kind: str, **fields: Any) -> Touched:
    return Touched(kind, tuple(sorted((name, str(value)) for name, value in fields.items())))


# (record, records by key) -> (key of another spec, policy statement) for each statement this spec grants
# itself in that spec's resource policy (an SQS subscription's in its queue's); ${...} pseudo parameters and
# ${Self.Arn} are the receiving spec's, substituted when it renders.
# A granted statement's Sid starts with this: a receiver removes such statements when nothing grants them now.
GRANTED_SID_PREFIX = "trimtab-"
GrantRule = Callable[["SpecRecord", "dict[str, SpecRecord]"], "Iterator[tuple[str, dict[str, Any]]]"]


# (eventName, requestParameters, awsRegion) of one CloudTrail API call -> the resources it wrote.
EventMapper = Callable[[str, dict[str, Any], str], Iterator[Touched]]


@dataclass(frozen=True)
class IamGrant:
    """Least privilege (`trimtab iam-policy`, the stack's task role): the IAM actions the client's
    calls need, and the ARN pattern they can be scoped to ("{prefix}" is the name prefix)."""

    actions: tuple[str, ...] = ()
    resource: str = "*"
    unscoped_actions: tuple[str, ...] = ()  # actions AWS only authorises on "*"
    # Of `actions`, those granted only on resources tagged trimtab.io/owner=<controller id>, where the
    # service evaluates aws:ResourceTag: deletion, the one change that cannot be undone.
    owner_tagged_actions: tuple[str, ...] = ()
    # Actions AWS checks as part of another call, never called on their own (tags passed to a create).
    implied_actions: tuple[str, ...] = ()
    # The service a role named in a spec is handed to, which IAM checks as iam:PassRole inside the call
    # that names it (granted for any role, to that service only); None: the kind passes no role.
    passes_role_to: str | None = None


@dataclass(frozen=True)
class ErrorVerdict:
    retryable: bool  # back off and retry soon, or wait for the spec or the world to change
    retry_after: float | None = None  # retry then, when AWS states the wait; None: the usual backoff


@dataclass(frozen=True)
class KindDescriptor:
    model: type[Resource]
    client: type[ResourceClient[Any]]
    # Pruning deletes lower ranks first: what depends on others (an alarm on a queue) before them.
    delete_rank: int
    iam: IamGrant
    # The service's CloudTrail eventSource is "<endpoint prefix>.amazonaws.com"; None: events not mapped.
    events: EventMapper | None = None
    # Error codes (short form, aws.short_code) a retry will not fix, beyond the ones of every service.
    terminal_codes: frozenset[str] = frozenset()
    # Error codes AWS says pass after a known wait: code -> seconds, retried then rather than backed off.
    retry_later: Mapping[str, float] = field(default_factory=dict)
    pair_rules: tuple[PairRule, ...] = ()  # rules between a spec of this kind and the specs it refers to
    grants: GrantRule | None = None  # statements it puts in the policies of the specs it refers to
    outputs: tuple[str, ...] = ("name", "arn")  # what other specs' references can read (RefResolver.output)
    plural: str = ""  # the CRD's plural; "" is the kind, lowercased, plus "s"
    iam_service: str = ""  # IAM's prefix for the service's actions; "" is botocore's name of the service

    def __post_init__(self) -> None:
        if self.client.kind != self.model.KIND:
            raise ValueError(f"{self.client.__name__} is for {self.client.kind}, not {self.model.KIND}")

    def verdict(self, error: BaseException) -> ErrorVerdict:
        """Whether a failed call of this kind is worth retrying, and when: a code of `retry_later` says
        its wait, a terminal code (every service's, or this kind's) never, and the rest by backoff.
        (A client that knows the wait itself raises kinds.base.RetryLater, which the reconciler honours.)"""
        for code, seconds in self.retry_later.items():
            if code_in(error, (code,)):
                return ErrorVerdict(retryable=True, retry_after=seconds)
        return ErrorVerdict(retryable=is_retryable(error, self.terminal_codes))

    @property
    def kind(self) -> str:
        return self.model.KIND

    @property
    def service(self) -> str:
        """botocore's name of the AWS service the client calls ("sqs", "cloudwatch", ...)."""
        return self.client.service

    @property
    def endpoint_prefix(self) -> str:
        """The service's endpoint prefix as botocore's model states it ("monitoring" for CloudWatch)."""
        return endpoint_prefix(self.service)

    @property
    def iam_prefix(self) -> str:
        return self.iam_service or self.service

    @property
    def service_id(self) -> str:
        """botocore's service id, as its event names spell it ("application-auto-scaling")."""
        return str(service_model(self.service).service_id.hyphenize())

    @property
    def event_source(self) -> str:
        return f"{self.endpoint_prefix}.amazonaws.com"

    @property
    def crd_plural(self) -> str:
        return self.plural or self.kind.lower() + "s"
