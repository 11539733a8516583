"""What plan and apply share: AWS settings from flags, the optional embedded emulator, the store."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.api.graph import SpecGraph
from controller.api.scalable_target import ScalableTarget
from controller.aws import AwsClients, AwsSettings, default_region
from controller.cli.argtypes import positive_float
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator, seed_ecs_services
from controller.engine.reconciler import Reconciler
from controller.kinds.ownership import DEFAULT_CONTROLLER_ID
from controller.kinds.registry import build_clients
from controller.metrics import Metrics
from controller.store.base import Store
from controller.store.dynamodb import STORE_SCHEME, DynamoStore
from controller.store.sqlite import SqliteStore

DEFAULT_STATE_DIR = Path(".trimtab")
# Local runs keep their own state, reset at every start: each starts a new, empty emulator, so what a
# previous local run remembered describes resources that no longer exist. Never mixed with real AWS state.
LOCAL_STATE_DIR = DEFAULT_STATE_DIR / "local"


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    emulators = parser.add_mutually_exclusive_group()
    emulators.add_argument(
        "--local", action="store_true",
        help="run against an embedded AWS emulator (moto) started for this command; no AWS account needed",
    )
    emulators.add_argument(
        "--emulator", metavar="URL", default=None,
        help="run against an AWS emulator already running at URL (moto in deploy/docker-compose.yml); like "
             "--local, it uses the emulator's credentials and creates the ECS services scalable targets need, "
             "but state stays in --state-dir, since the emulator outlives this command",
    )
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION, else us-east-1)")
    parser.add_argument(
        "--state-dir", type=Path, default=None,
        help=f"where status and the inventory of managed resources live (default: {DEFAULT_STATE_DIR}/; "
             f"with --local, {LOCAL_STATE_DIR}/, reset at start since the emulator starts empty)",
    )
    parser.add_argument(
        "--store", default=None, metavar="dynamodb://TABLE",
        help="where status, inventory and leases live: SQLite in --state-dir (default), or a DynamoDB table "
             "shared by several tasks (deploy/ecs/trimtab.yaml creates it)",
    )
    parser.add_argument(
        "--aws-max-rate", type=positive_float, default=AwsSettings.max_calls_per_second, metavar="CALLS_PER_SECOND",
        help="client-side limit on AWS calls per second, per service and per task; it halves whenever AWS "
             "throttles and recovers slowly (default: %(default)s)",
    )
    parser.add_argument(
        "--controller-id", default=DEFAULT_CONTROLLER_ID,
        help="the owner written into ownership tags; controllers with different ids never touch "
             "each other's resources (default: %(default)s)",
    )


@dataclass
class Session:
    aws: AwsClients
    reconciler: Reconciler
    store: Store


def ecs_services_of(graph: SpecGraph | None) -> list[tuple[str, str]]:
    """(cluster, service) of every scalable target: what --emulator creates in ECS for them."""
    if graph is None:
        return []
    return [
        pair for record in graph.records.values()
        if isinstance(record.resource, ScalableTarget)
        and (pair := record.resource.spec.ecs_cluster_and_service) is not None
    ]


def prepare_state_dir(args: Any) -> Path:
    """--state-dir, else the default; a --local run starts from an empty local state dir."""
    if args.state_dir is not None:
        return Path(args.state_dir)
    if args.local:
        shutil.rmtree(LOCAL_STATE_DIR, ignore_errors=True)
        return LOCAL_STATE_DIR
    return DEFAULT_STATE_DIR


@asynccontextmanager
async def open_session(
    args: Any, ecs_services: list[tuple[str, str]], metrics: Metrics | None = None
) -> AsyncIterator[Session]:
    """AWS clients, the store and the reconciler. Takes the ECS services to seed in an emulator rather
    than the graph: a long-running caller must not keep its first revision alive for its whole life."""
    async with AsyncExitStack() as stack:
        region = args.region or default_region()
        state_dir = prepare_state_dir(args)
        emulator_url: str | None = args.emulator
        if args.local:
            emulator_url = stack.enter_context(LocalEmulator()).url
            print(f"trimtab: started the embedded AWS emulator (moto) at {emulator_url}; "
                  "everything it holds is gone when this command exits", file=sys.stderr)
        if emulator_url is not None:
            settings = AwsSettings(region=region, endpoint_url=emulator_url, static_credentials=EMULATOR_CREDENTIALS,
                                   max_calls_per_second=args.aws_max_rate)
        else:
            settings = AwsSettings(region=region, max_calls_per_second=args.aws_max_rate)
        aws = await stack.enter_async_context(AwsClients(settings, metrics=metrics))
        store: Store
        if args.store and args.store.startswith(STORE_SCHEME):
            store = DynamoStore(aws, args.store.removeprefix(STORE_SCHEME))
            await store.check()
        elif args.store:
            raise SystemExit(f"trimtab: --store must be {STORE_SCHEME}TABLE (got {args.store!r})")
        else:
            store = SqliteStore(state_dir)
        stack.callback(store.close)
        if emulator_url is not None:
            seeded = await seed_ecs_services(aws, ecs_services)
            if seeded:
                print(f"trimtab: created ECS services in the emulator for scalable targets: {', '.join(seeded)}",
                      file=sys.stderr)
        reconciler = Reconciler(build_clients(aws), store, args.controller_id)
        yield Session(aws, reconciler, store)
