"""The composition root of `trimtab run`: the one place that wires the source, the session (AWS, the
store, the reconciler), the shard coordinator, the event feed, the supervisor, the HTTP server and the
signals together, and runs them until a stop signal drains the supervisor.

The command (controller/cli/run.py) turns flags into `RunSettings`, a `Source` and a way to open the
session, so this module reads no flags and imports nothing of the CLI: it sits below it in the layers
of docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from controller.api.graph import SpecGraph
from controller.aws import AwsClients
from controller.engine.events import EventLog, capture_library_logs
from controller.engine.reconciler import Reconciler
from controller.engine.sharding import LeaseSettings, ShardCoordinator
from controller.engine.supervisor import ControllerConfig, Supervisor
from controller.engine.view import ControllerView
from controller.metrics import Metrics
from controller.server import build_app, start_server
from controller.sources.base import Source, SourceError
from controller.sources.events import EventFeed
from controller.sources.git import GitSource
from controller.store.base import LeaseStore, Store

EXIT_OK, EXIT_ERROR = 0, 1


@dataclass(frozen=True, slots=True)
class RunSettings:
    controller: ControllerConfig
    leases: LeaseSettings  # used when the store is shared (a LeaseStore)
    task_id: str  # this task's name in the lease table
    events_queue: str | None  # the SQS queue of AWS's change events, if any
    listen: str  # HOST:PORT of the HTTP server (port 0: a free one)
    api_token: str | None  # None: the admin endpoints answer 403
    webhook_secret: str | None  # None: the webhook answers 403


class Session(Protocol):
    """What `run` uses of the session the command opens (controller/cli/session.py)."""

    aws: AwsClients
    reconciler: Reconciler
    store: Store


# Opens the session for the first revision's graph (None when the source could not be read yet), for
# what an emulator must hold before the first reconcile; the opener keeps only that, not the graph.
OpenSession = Callable[[SpecGraph | None, Metrics], AbstractAsyncContextManager[Session]]


async def run(settings: RunSettings, source: Source, open_session: OpenSession) -> int:
    events = EventLog()
    capture_library_logs(events)  # botocore's and aiohttp's warnings in the same JSON stream
    metrics = Metrics()
    try:
        graph: SpecGraph | None = (await source.load()).graph
    except SourceError as error:
        if not isinstance(source, GitSource):  # a local path that does not hold specs: a mistake to report now
            print(f"trimtab: {error}", file=sys.stderr)
            return EXIT_ERROR
        # A remote can be down at start-up: run, report it, and keep trying with backoff.
        events.emit("SourceError", str(error))
        graph = None
    session_context = open_session(graph, metrics)
    del graph  # a long-running controller must not keep its first revision alive for its whole life
    async with session_context as session:
        await _serve(settings, source, session, metrics, events)
    return EXIT_OK


async def _serve(settings: RunSettings, source: Source, session: Session, metrics: Metrics, events: EventLog) -> None:
    coordinator = None
    if isinstance(session.store, LeaseStore):  # a store shared by several tasks: items are split by lease
        coordinator = ShardCoordinator(session.store, settings.task_id, settings.leases, metrics, events)
        # Fencing: the store's item writes check the lease in DynamoDB; AWS mutations for the item
        # being worked on (controller.fencing.working_on) are checked just before they are sent.
        session.store.fence_with(coordinator)
        session.aws.fence.install(coordinator.owns)
    feed = None
    if settings.events_queue is not None:
        feed = EventFeed(session.aws, settings.events_queue, session.store.inventory,
                         lambda keys: _queue_event_keys(supervisor, coordinator, keys),
                         on_outcome=lambda outcome, count: metrics.events.labels(outcome).inc(count),
                         on_lag=metrics.event_lag.observe)
        metrics.events_degraded.set_function(lambda: len(_degraded(feed)))
        metrics.events_enabled.set(1)
    supervisor = Supervisor(settings.controller, source, reconciler=session.reconciler, store=session.store,
                            events=events, metrics=metrics, coordinator=coordinator,
                            background=(feed.run,) if feed is not None else (), degraded=lambda: _degraded(feed))
    app = build_app(ControllerView(supervisor), session.aws, session.store, metrics, events,
                    token=settings.api_token, webhook_secret=settings.webhook_secret, degraded=lambda: _degraded(feed))
    host, _, port = settings.listen.rpartition(":")
    runner = await start_server(app, host or "127.0.0.1", int(port))  # with a header timeout and a cap
    bound = runner.addresses[0]
    events.emit("Listening", f"http://{bound[0]}:{bound[1]}", admin="enabled" if settings.api_token else "disabled")
    loop = asyncio.get_running_loop()
    metrics.asyncio_tasks.set_function(lambda: len(asyncio.all_tasks(loop)))  # scraped on this loop
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, supervisor.stop)
    loop.add_signal_handler(
        signal.SIGHUP,
        lambda: events.emit("ResyncRequested", "SIGHUP: full resync", queued=len(supervisor.resync()[0])),
    )
    try:
        await supervisor.run()
    finally:
        await runner.cleanup()


def _degraded(feed: EventFeed | None) -> dict[str, str]:
    return {"events": feed.status.degraded} if feed is not None and feed.status.degraded else {}


async def _queue_event_keys(supervisor: Supervisor, coordinator: ShardCoordinator | None, keys: list[str]) -> None:
    """An event's specs, at high priority: those of the live revision (the inventory may still name a
    removed spec, which the pruner handles). With several tasks, the keys another task holds are
    forwarded to it through the store (its next lease round queues them), before the message goes."""
    state = supervisor.follower.state
    live = [key for key in keys if state is not None and key in state.graph.records]
    if live:
        _, elsewhere = supervisor.resync(live)
        if elsewhere and coordinator is not None:
            await coordinator.forward(elsewhere)
