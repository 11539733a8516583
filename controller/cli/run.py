"""`trimtab run`: the controller. This module turns the flags into what the composition root
(controller/app.py) wires together; it runs nothing itself."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from controller import app
from controller.cli.argtypes import duration, events_queue, kind_interval
from controller.cli.secret import API_TOKEN_ENV, read_secret
from controller.cli.session import add_aws_arguments, ecs_services_of, open_session, prepare_state_dir
from controller.cli.source_args import add_source_arguments, build_source, webhook_secret
from controller.engine.prune import PruneThreshold
from controller.engine.sharding import LeaseSettings, default_task_id
from controller.engine.supervisor import ControllerConfig
from controller.sources.base import SourceError

EXIT_ERROR = 1
Subparsers = Any


async def _run(args: argparse.Namespace) -> int:
    if args.source is None:
        print("trimtab: run needs --source (or `source:` in --config)", file=sys.stderr)
        return EXIT_ERROR
    args.state_dir = prepare_state_dir(args)
    try:
        source = build_source(args, args.state_dir)
    except SourceError as error:  # a --source that names no source trimtab can follow
        print(f"trimtab: {error}", file=sys.stderr)
        return EXIT_ERROR
    settings = app.RunSettings(
        controller=ControllerConfig(
            resync_interval=args.resync_interval,
            kind_resync=dict(args.kind_resync_interval),
            workers=args.workers,
            observe_only=args.observe_only,
            prune_threshold=PruneThreshold(args.prune_max_count, args.prune_max_fraction),
        ),
        leases=LeaseSettings(args.shards, args.lease_duration, args.lease_renew_interval),
        task_id=args.task_id,
        events_queue=args.events,
        listen=args.listen,
        api_token=read_secret(args.api_token_file, API_TOKEN_ENV),
        webhook_secret=webhook_secret(args),
    )
    return await app.run(settings, source,
                         lambda graph, metrics: open_session(args, ecs_services_of(graph), metrics))


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
