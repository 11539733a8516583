"""`trimtab run` (the controller) and `trimtab prune` (release a held prune); `trimtab get` lives in
get.py and is registered from here, as commands.py expects."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from controller.cli.api_client import api_token, confirm_prune_remote
from controller.cli.argtypes import duration, events_queue, kind_interval
from controller.cli.get import register_get
from controller.cli.readers import add_state_arguments, open_existing, state_dir
from controller.cli.secret import API_TOKEN_ENV, read_secret
from controller.cli.session import add_aws_arguments, ecs_services_of, open_session, prepare_state_dir
from controller.cli.source_args import add_source_arguments, build_source, webhook_secret
from controller.engine.events import EventLog, capture_library_logs
from controller.engine.prune import CONFIRM_SETTING, HOLD_SETTING, PruneThreshold
from controller.engine.sharding import LeaseSettings, ShardCoordinator, default_task_id
from controller.engine.supervisor import ControllerConfig, Supervisor
from controller.engine.view import ControllerView
from controller.metrics import Metrics
from controller.server import build_app, start_server
from controller.sources.base import SourceError
from controller.sources.events import EventFeed
from controller.sources.git import GitSource
from controller.store.base import LeaseStore

__all__ = ["register_get", "register_prune", "register_run"]
EXIT_OK, EXIT_ERROR, EXIT_PRUNE_HELD = 0, 1, 3
Subparsers = Any


# ---- run ---------------------------------------------------------------------------------------------

async def _run(args: argparse.Namespace) -> int:
    events = EventLog()
    capture_library_logs(events)  # botocore's and aiohttp's warnings in the same JSON stream
    if args.source is None:
        print("trimtab: run needs --source (or `source:` in --config)", file=sys.stderr)
        return EXIT_ERROR
    args.state_dir = prepare_state_dir(args)
    try:
        source = build_source(args, args.state_dir)
        webhook = webhook_secret(args)
        ecs_services = ecs_services_of((await source.load()).graph)
    except SourceError as error:
        if not isinstance(source, GitSource):  # a local path that does not hold specs: a mistake to report now
            print(f"trimtab: {error}", file=sys.stderr)
            return EXIT_ERROR
        # A remote can be down at start-up: run, report it, and keep trying with backoff.
        events.emit("SourceError", str(error))
        ecs_services = []
    config = ControllerConfig(
        resync_interval=args.resync_interval,
        kind_resync=dict(args.kind_resync_interval),
        workers=args.workers,
        observe_only=args.observe_only,
        prune_threshold=PruneThreshold(args.prune_max_count, args.prune_max_fraction),
    )
    token = read_secret(args.api_token_file, API_TOKEN_ENV)
    metrics = Metrics()
    async with open_session(args, ecs_services, metrics) as session:
        coordinator = None
        if isinstance(session.store, LeaseStore):
            leases = LeaseSettings(args.shards, args.lease_duration, args.lease_renew_interval)
            coordinator = ShardCoordinator(session.store, args.task_id, leases, metrics, events)
            # Fencing: the store's item writes check the lease in DynamoDB; AWS mutations for the item
            # being worked on (controller.fencing.working_on) are checked just before they are sent.
            session.store.fence_with(coordinator)
            session.aws.fence.install(coordinator.owns)
        feed = None
        if args.events is not None:
            feed = EventFeed(session.aws, args.events, session.store.inventory,
                             lambda keys: _queue_event_keys(supervisor, keys),
                             on_outcome=lambda outcome, count: metrics.events.labels(outcome).inc(count),
                             on_lag=metrics.event_lag.observe)
            metrics.events_degraded.set_function(lambda: len(_degraded(feed)))
            metrics.events_enabled.set(1)
        supervisor = Supervisor(config, source, reconciler=session.reconciler, store=session.store,
                                events=events, metrics=metrics, coordinator=coordinator,
                                background=(feed.run,) if feed is not None else (), degraded=lambda: _degraded(feed))
        app = build_app(ControllerView(supervisor), session.aws, session.store, metrics, events, token=token,
                        webhook_secret=webhook, degraded=lambda: _degraded(feed))
        host, _, port = args.listen.rpartition(":")
        runner = await start_server(app, host or "127.0.0.1", int(port))  # with a header timeout and a cap
        bound = runner.addresses[0]
        events.emit("Listening", f"http://{bound[0]}:{bound[1]}", admin="enabled" if token else "disabled")
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
    return EXIT_OK


def _degraded(feed: EventFeed | None) -> dict[str, str]:
    return {"events": feed.status.degraded} if feed is not None and feed.status.degraded else {}


def _queue_event_keys(supervisor: Supervisor, keys: list[str]) -> None:
    """An event's specs, at high priority: those of the live revision (the inventory may still name a
    removed spec, which the pruner handles). With several tasks, a key another task holds waits for
    that task's resync: the event reached this task (docs/events.md)."""
    state = supervisor.follower.state
    live = [key for key in keys if state is not None and key in state.graph.records]
    if live:
        supervisor.resync(live)


def default_listen() -> str:
    # In a container the port must be reachable from outside it: ECS sets the metadata variable, and
    # the image (deploy/Dockerfile) sets TRIMTAB_LISTEN.
    if listen := os.environ.get("TRIMTAB_LISTEN"):
        return listen
    return "0.0.0.0:8080" if os.environ.get("ECS_CONTAINER_METADATA_URI_V4") else "127.0.0.1:8080"


def register_run(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "run", help="run the controller: keep AWS matching the specs, for as long as it runs",
        description="Follow --source (a directory, watched; or a git repository, polled and woken by POST "
                    "/hooks/git); create what is missing, correct drift on a jittered schedule, prune "
                    "removed specs that trimtab owns (with a guard against mass deletion), and keep status for "
                    "`trimtab get`. SIGTERM drains and exits 0; SIGHUP queues a full resync. Logs are JSON "
                    "lines (readable on a terminal). Every option can also be set in a --config file.",
    )
    parser.add_argument("--config", type=Path, default=None,
                        help="a YAML file of options, keyed by flag name without dashes (resync-interval: 5m); "
                             "flags given on the command line override it")
    add_source_arguments(parser)
    parser.add_argument("--resync-interval", type=duration, default=300.0,
                        help="drift-check interval, e.g. 30s or 5m (default: 5m); per spec: the annotation "
                             "trimtab.io/resync-interval")
    parser.add_argument("--kind-resync-interval", type=kind_interval, action="append", default=[],
                        metavar="KIND=DURATION", help="per-kind interval, e.g. Alarm=10m (repeatable)")
    parser.add_argument(
        "--workers", type=int, default=ControllerConfig.workers,
        help=f"items reconciled at once, at most {ControllerConfig.per_service_concurrency} per AWS service "
             "(default: %(default)s)",
    )
    parser.add_argument("--observe-only", action="store_true", help="report drift, change nothing")
    parser.add_argument("--events", type=events_queue, default=None, metavar="sqs://QUEUE",
                        help="also reconcile at once on AWS's own change events: CloudTrail writes delivered by "
                             "EventBridge to this SQS queue (docs/events.md); the resync stays as the backstop")
    parser.add_argument("--prune-max-count", type=int, default=10,
                        help="hold a prune deleting more than this many resources (default: 10)")
    parser.add_argument("--prune-max-fraction", type=float, default=0.25,
                        help="... or more than this share of managed resources (default: 0.25)")
    parser.add_argument("--listen", default=default_listen(),
                        help="HOST:PORT for /metrics, /healthz, /readyz and /api/v1 (default: TRIMTAB_LISTEN, else "
                             "127.0.0.1:8080, or 0.0.0.0:8080 on ECS; port 0 picks a free one and logs it)")
    parser.add_argument("--api-token-file", type=Path, default=None,
                        help="bearer token for the admin endpoints (else TRIMTAB_API_TOKEN; none: they answer 403)")
    add_aws_arguments(parser)
    shards = parser.add_argument_group("several tasks (with --store dynamodb://TABLE)")
    shards.add_argument("--shards", type=int, default=32,
                        help="items are split into this many shards, leased by the tasks (default: 32; the same "
                             "on every task)")
    shards.add_argument("--lease-duration", type=duration, default=15.0,
                        help="a shard lease expires this long after its last renewal (default: 15s)")
    shards.add_argument("--lease-renew-interval", type=duration, default=5.0,
                        help="how often leases are renewed and rebalanced (default: 5s)")
    shards.add_argument("--task-id", default=default_task_id(),
                        help="this task's name in the lease table (default: host-pid-random)")
    parser.set_defaults(handler=lambda args: asyncio.run(_run(args)), command_parser=parser)


# ---- prune -------------------------------------------------------------------------------------------

async def _prune(args: argparse.Namespace) -> int:
    if args.url:
        if not args.confirm:
            print("trimtab: with --url, prune needs --confirm (see the held prune with `trimtab get --url`)",
                  file=sys.stderr)
            return EXIT_ERROR
        return await confirm_prune_remote(args.url, api_token(args))
    store = open_existing(state_dir(args))
    if store is None:
        return EXIT_ERROR
    try:
        hold = await store.get_setting(HOLD_SETTING)
        if hold is None:
            print("no prune is held")
            return EXIT_OK
        keys = json.loads(hold)
        if not args.confirm:
            print(f"held: {len(keys)} resources would be deleted: {', '.join(keys)}")
            print("run `trimtab prune --confirm` to let the controller delete them")
            return EXIT_PRUNE_HELD
        await store.put_setting(CONFIRM_SETTING, hold)
        print(f"released: the controller deletes {len(keys)} resources within a second")
        return EXIT_OK
    finally:
        store.close()


def register_prune(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "prune", help="show or release a held prune",
        description="A prune larger than the threshold is held. This shows it; --confirm releases exactly that "
                    "set (a different later prune is held again).",
    )
    parser.add_argument("--confirm", action="store_true", help="release the held prune")
    parser.add_argument("--url", default=None,
                        help="confirm through a running controller's API (on ECS, with the DynamoDB store)")
    parser.add_argument("--token-file", default=None, help="with --url: bearer token file (else TRIMTAB_API_TOKEN)")
    add_state_arguments(parser)
    parser.set_defaults(handler=lambda args: asyncio.run(_prune(args)))
