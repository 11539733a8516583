"""The one place that builds AWS clients: region, endpoint, retries, timeouts and per-call accounting.

Every kind and every command gets its clients from `AwsClients`, so behaviour toward AWS (retry
mode, timeouts, which endpoint, what is counted) is decided here and nowhere else.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Collection
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from controller.aws_models import lean_session, registered_services
from controller.fencing import Fence
from controller.metrics import Metrics
from controller.ratelimit import AdaptiveRateLimiter

DEFAULT_REGION = "us-east-1"
# Codes AWS uses for throttling across the services we call.
THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "RequestThrottled",
    "ProvisionedThroughputExceededException", "LimitExceededException",
})
_READ_PREFIXES = ("Get", "List", "Describe", "Head")


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


@dataclass(frozen=True)
class AwsSettings:
    region: str = field(default_factory=default_region)
    # None: botocore's own resolution, which honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.
    endpoint_url: str | None = None
    max_attempts: int = 3  # botocore standard mode: 3 attempts, jittered exponential backoff
    connect_timeout: float = 5.0
    # Without a read timeout a stalled endpoint hangs a worker for good.
    read_timeout: float = 30.0
    max_pool_connections: int = 32
    # Static credentials, for the embedded emulator only; otherwise the standard credential chain.
    static_credentials: tuple[str, str] | None = None
    # Client-side limit per AWS service, in calls per second; it halves on throttling (see ratelimit.py).
    # It paces the kinds' services (SQS, S3, CloudWatch, Application Auto Scaling), never the store's
    # own clients (`AwsClients.for_store`). High enough that it never paces a healthy resync (at 100/s,
    # 1,000 resources spent 60% of a steady resync waiting in it with nothing on the wire); AWS's own
    # throttling, which halves it, is what sets the pace when a quota is near.
    max_calls_per_second: float = 1000.0

    @property
    def custom_endpoint(self) -> str | None:
        return self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")


def is_mutating(operation: str) -> bool:
    return not operation.startswith(_READ_PREFIXES)


@dataclass
class CallStats:
    """AWS calls made, by (service, operation, outcome); outcome is ok, throttled or the error code."""

    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def record(self, service: str, operation: str, outcome: str) -> None:
        self.counts[(service, operation, outcome)] += 1

    def total(self, *, mutating: bool | None = None) -> int:
        return sum(
            count for (_, operation, _), count in self.counts.items()
            if mutating is None or is_mutating(operation) == mutating
        )


@dataclass(frozen=True)
class CallerIdentity:
    """Whose credentials these are: the account every ARN trimtab builds lives in, and its partition
    (aws, aws-cn, aws-us-gov, ...), from STS GetCallerIdentity."""

    account_id: str
    partition: str
    arn: str


class AwsClients:
    """Lazily opened, cached aiobotocore clients keyed by (service, region); close with `async with`.

    Every mutating call passes `fence` (controller/fencing.py) just before each attempt is sent; the
    store's clients (`for_store`) are neither fenced this way nor rate limited."""

    def __init__(
        self, settings: AwsSettings, session: aioboto3.Session | None = None, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.fence = Fence()
        self._for_store = False
        self.stats = CallStats()
        self.metrics = metrics
        self.last_success = 0.0  # monotonic time of the last call that succeeded, for /readyz
        self._session = session or lean_session()
        self._stack = AsyncExitStack()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = asyncio.Lock()
        self.limiters: dict[str, AdaptiveRateLimiter] = {}
        self._identity: CallerIdentity | None = None

    async def __aenter__(self) -> AwsClients:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()
        self._clients.clear()

    @property
    def region(self) -> str:
        return self.settings.region

    async def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.settings.region)
        found = self._clients.get(key)
        if found is not None:
            return found
        async with self._lock:
            if key not in self._clients:
                self._clients[key] = await self._open(service, key[1])
        return self._clients[key]

    async def caller_identity(self) -> CallerIdentity:
        """Read once per process: GetCallerIdentity needs no IAM permission, and the answer never changes
        for a set of credentials. It fails exactly when the credentials are missing or rejected."""
        if self._identity is None:
            sts = await self.client("sts")
            answer = await sts.get_caller_identity()
            arn = str(answer["Arn"])
            self._identity = CallerIdentity(str(answer["Account"]), arn.split(":", 2)[1], arn)
        return self._identity

    def for_store(self, *, max_pool_connections: int | None = None, read_timeout: float | None = None) -> AwsClients:
        """Clients for trimtab's own store, with their own connection pool: the same region, endpoint,
        credentials, retries and metrics, but no rate limiter and no fence check. `--aws-max-rate` paces
        the kinds' services; lease renewals and status writes queued behind it lose leases (63 lost in
        2.5 minutes at 3 calls/s with two tasks). Store writes are fenced by their own transactions.
        Their calls are counted in their own `stats`, so `/readyz` and apply's summary keep speaking of
        the kinds' AWS calls. Closed together with this AwsClients."""
        settings = replace(
            self.settings,
            max_pool_connections=max_pool_connections or self.settings.max_pool_connections,
            read_timeout=read_timeout or self.settings.read_timeout,
        )
        store = AwsClients(settings, self._session, self.metrics)
        store._stack = self._stack  # one owner closes every client
        store._for_store = True
        return store

    async def _open(self, service: str, region: str) -> Any:
        if service not in registered_services():  # its endpoints would be missing from the lean data
            raise ValueError(f"{service} is not a registered service: declare it on its kind's descriptor "
                             "(controller/kinds/registry.py) or in controller.aws_models.INFRASTRUCTURE_SERVICES")
        settings = self.settings
        config = AioConfig(
            retries={"mode": "standard", "max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_pool_connections=settings.max_pool_connections,
            # Path-style addressing: emulators and custom endpoints cannot serve bucket subdomains.
            s3={"addressing_style": "path"} if settings.custom_endpoint else None,
        )
        kwargs: dict[str, Any] = {"region_name": region, "config": config}
        if settings.endpoint_url:
            kwargs["endpoint_url"] = settings.endpoint_url
        if settings.static_credentials:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = settings.static_credentials
        client = await self._stack.enter_async_context(self._session.client(service, **kwargs))
        self._count_calls(client, service)
        if not self._for_store:
            self._limit_rate(client, service)
            self._fence_mutations(client)
        return client

    def _fence_mutations(self, client: Any) -> None:
        # Registered last, so it runs after the limiter's wait: the lease is judged when the attempt
        # leaves, not when it started queueing. Every attempt, retries included.
        def before_send(event_name: str = "", **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            if is_mutating(operation):
                self.fence.check(operation)

        client.meta.events.register_last("before-send", before_send)

    def _limit_rate(self, client: Any, service: str) -> None:
        limiter = self.limiters.setdefault(service, AdaptiveRateLimiter(self.settings.max_calls_per_second))

        async def before_send(**_: Any) -> None:
            await limiter.acquire()  # every attempt, retries included

        def needs_retry(response: Any = None, event_name: str = "", **_: Any) -> None:
            parsed = response[1] if isinstance(response, tuple) and len(response) == 2 else None
            code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            if code is not None and short_code(str(code)) in THROTTLE_CODES:
                limiter.on_throttle()
                if self.metrics is not None:
                    self.metrics.aws_throttles.labels(service, event_name.rsplit(".", 1)[-1]).inc()
            elif code is None and response is not None:
                limiter.on_success()
            if self.metrics is not None:
                self.metrics.aws_rate_limit.labels(service).set(limiter.rate)

        client.meta.events.register("before-send", before_send)
        client.meta.events.register("needs-retry", needs_retry)

    def _count_calls(self, client: Any, service: str) -> None:
        # Event names end in the operation: "after-call.sqs.GetQueueUrl". `context` is per call.
        def before_call(context: Any = None, **_: Any) -> None:
            if isinstance(context, dict):
                context["trimtab_started"] = time.monotonic()

        def finished(event_name: str, context: Any, outcome: str) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            self.stats.record(service, operation, outcome)
            if outcome == "ok":
                self.last_success = time.monotonic()
            if self.metrics is not None:
                self.metrics.aws_calls.labels(service, operation, outcome).inc()
                if outcome != "ok":
                    self.metrics.aws_errors.labels(service, operation, outcome).inc()
                started = context.get("trimtab_started") if isinstance(context, dict) else None
                if started is not None:
                    self.metrics.aws_latency.labels(service, operation).observe(time.monotonic() - started)

        def after_call(
            event_name: str = "", http_response: Any = None, parsed: Any = None, context: Any = None, **_: Any
        ) -> None:
            # after-call fires for AWS error responses too (botocore raises only afterwards), so the
            # status code, not the event, says whether the call succeeded.
            status = getattr(http_response, "status_code", 200)
            if status < 300:
                finished(event_name, context, "ok")
                return
            code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            finished(event_name, context, outcome_of(str(code or f"HTTP{status}")))

        def after_error(event_name: str = "", exception: Any = None, context: Any = None, **_: Any) -> None:
            finished(event_name, context, classify_exception(exception))

        client.meta.events.register("before-call", before_call)

        client.meta.events.register("after-call", after_call)
        # aiobotocore emits this for every failed call, with the exception in hand.
        client.meta.events.register("after-call-error", after_error)


def error_code(error: BaseException) -> str:
    """The code as botocore reports it (for status, events and metrics); compare codes with `code_in`."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "Unknown"))
    return type(error).__name__


# SQS speaks JSON but is "query compatible": AWS adds an x-amzn-query-error header, and botocore then
# reports the old query code (AWS.SimpleQueueService.QueueDeletedRecently, AWS.SimpleQueueService.
# NonExistentQueue) as Code and the JSON name (QueueDeletedRecently, QueueDoesNotExist) as QueryErrorCode.
# moto sends the header too. Without it (older botocore, errors built by hand) only one form is there.
_CODE_PREFIXES = ("AWS.SimpleQueueService.",)


def short_code(code: str) -> str:
    """A code without the service prefix some protocols put on it, so that every form compares equal.

    `AWS.SimpleQueueService.QueueDeletedRecently` -> `QueueDeletedRecently`; a Smithy shape id
    (`com.amazonaws.sqs#QueueDoesNotExist`) keeps only its name; any other code comes back unchanged.
    """
    code = code.rpartition("#")[2]
    for prefix in _CODE_PREFIXES:
        if code.startswith(prefix):
            return code[len(prefix):]
    return code


def error_codes(error: BaseException) -> frozenset[str]:
    """Every short form of the error's code: Code and, for query-compatible services, QueryErrorCode."""
    if not isinstance(error, ClientError):
        return frozenset({type(error).__name__})
    details = error.response.get("Error", {})
    return frozenset(short_code(str(details[key])) for key in ("Code", "QueryErrorCode") if details.get(key))


def code_in(error: BaseException, codes: Collection[str]) -> bool:
    """Whether the error's code is one of `codes`, however either side spells it (short or full form)."""
    return not error_codes(error).isdisjoint(short_code(code) for code in codes)


def error_message(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message", "")) or str(error)
    return str(error)


def outcome_of(code: str) -> str:
    """The `outcome` label for a failed call: throttles are one outcome, other errors keep their code."""
    return "throttled" if short_code(code) in THROTTLE_CODES else code


def classify_exception(error: object) -> str:
    return outcome_of(error_code(error)) if isinstance(error, BaseException) else "error"


# Errors a retry will not fix, whichever service says them: the input or the permissions must change
# first. Each kind adds its service's own (KindDescriptor.terminal_codes: BucketNotEmpty, KmsNotFound...).
TERMINAL_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidParameterValue",
    "InvalidParameterCombination", "InvalidParameterException", "ValidationError", "ValidationException",
    "InvalidClientTokenId", "UnsupportedOperation",
})
# Codes are compared in their short form (short_code), so these sets hold short forms.


def is_retryable(error: BaseException, terminal_codes: Collection[str] = ()) -> bool:
    """Throttling, server errors and transport failures are retried with backoff; terminal codes (every
    service's, and `terminal_codes`, the calling kind's) are not."""
    if isinstance(error, ClientError):
        codes = error_codes(error)
        if not codes.isdisjoint(TERMINAL_CODES) or not codes.isdisjoint(terminal_codes):
            return False
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return not codes.isdisjoint(THROTTLE_CODES) or status >= 500 or status == 0
    # An unparseable answer is a proxy's or a server's error page (botocore: "further retries may
    # succeed"); botocore's ResponseParserError is not a BotoCoreError.
    return isinstance(error, (BotoCoreError, ResponseParserError, asyncio.TimeoutError, OSError))
