"""What plan, apply and run share: AWS settings from flags, the emulator if any, the store, the state dir."""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from controller.api.graph import SpecGraph
from controller.api.scalable_target import ScalableTarget
from controller.aws import AwsClients, AwsSettings, default_region
from controller.cli.argtypes import positive_float, store_url
from controller.cli.errors import UserError, state_dir_problem
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator, is_moto, seed_ecs_services
from controller.engine.reconciler import Reconciler
from controller.kinds.ownership import DEFAULT_CONTROLLER_ID
from controller.kinds.registry import build_clients
from controller.metrics import Metrics
from controller.store import StoreNotFound, open_store
from controller.store.base import Store

DEFAULT_STATE_DIR = Path(".trimtab")
# `run --local` keeps its state here, for `get --local` to read, reset at every start: each run starts a
# new, empty emulator, so what a previous one remembered describes resources that no longer exist. A lock
# beside it (not in it: the reset removes the directory) keeps a second `run --local` from resetting it
# under the first. plan and apply with --local get a temporary state dir of their own, removed when they
# end, so they never touch it either. Never mixed with real AWS state.
LOCAL_STATE_DIR = DEFAULT_STATE_DIR / "local"
LOCAL_STATE_LOCK = DEFAULT_STATE_DIR / "local.lock"
# Open for the life of the process: the kernel releases the lock when it exits, however it exits.
_held_locks: list[IO[str]] = []


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
             "but state stays in --state-dir, since the emulator outlives this command (with AWS_ENDPOINT_URL "
             "naming a moto server, as `trimtab emulator` prints, those ECS services are created too)",
    )
    add_region_argument(parser)
    parser.add_argument(
        "--state-dir", type=Path, default=None,
        help=f"where status and the inventory of managed resources live (default: {DEFAULT_STATE_DIR}/; "
             f"with --local, a temporary one for plan and apply, and {LOCAL_STATE_DIR}/ for run, reset at "
             "start since the emulator starts empty)",
    )
    parser.add_argument(
        "--store", type=store_url, default=None, metavar="dynamodb://TABLE",
        help="where status, inventory and leases live: SQLite in --state-dir (default), or a DynamoDB table "
             "shared by several tasks (`trimtab store init dynamodb://TABLE` or deploy/ecs/trimtab.yaml "
             "creates it)",
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


def add_region_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION, else us-east-1)")


@dataclass
class Session:
    aws: AwsClients
    reconciler: Reconciler
    store: Store


def ecs_services_of(graph: SpecGraph | None) -> list[tuple[str, str]]:
    """(cluster, service) of every scalable target: what an emulator needs in ECS for them."""
    if graph is None:
        return []
    return [
        pair for record in graph.records.values()
        if isinstance(record.resource, ScalableTarget)
        and (pair := record.resource.spec.ecs_cluster_and_service) is not None
    ]


def state_dir_of(args: Any) -> Path:
    """The state dir a command names: --state-dir, else the local or the default one."""
    if getattr(args, "state_dir", None) is not None:
        return Path(args.state_dir)
    return LOCAL_STATE_DIR if getattr(args, "local", False) else DEFAULT_STATE_DIR


def prepare_state_dir(args: Any) -> Path:
    """The state dir of a command that keeps its state: --state-dir, else the default, else for `run
    --local` the local one, claimed for this process and reset (see LOCAL_STATE_DIR)."""
    if args.state_dir is not None or not args.local:
        return state_dir_of(args)
    _claim(LOCAL_STATE_LOCK, LOCAL_STATE_DIR)
    shutil.rmtree(LOCAL_STATE_DIR, ignore_errors=True)
    return LOCAL_STATE_DIR


def _claim(lock_path: Path, state_dir: Path) -> None:
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_path.open("a+")
    except OSError as error:
        raise UserError(state_dir_problem(lock_path.parent, error)) from error
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise UserError(f"another `trimtab run --local` (pid {holder}) is using {state_dir}/: stop it first, or "
                        "give this one a state dir of its own with --state-dir DIR") from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    _held_locks.append(lock)


def _one_shot_local(args: Any) -> bool:
    """plan or apply with --local: nothing reads their state after them, since their emulator is gone."""
    return bool(args.local) and args.state_dir is None and args.command != "run"


def aws_settings(region: str | None, emulator_url: str | None,
                 max_calls_per_second: float = AwsSettings.max_calls_per_second) -> AwsSettings:
    region = region or default_region()
    if emulator_url is None:
        return AwsSettings(region=region, max_calls_per_second=max_calls_per_second)
    return AwsSettings(region=region, endpoint_url=emulator_url, static_credentials=EMULATOR_CREDENTIALS,
                       max_calls_per_second=max_calls_per_second)


async def reaches_emulator(url: str | None) -> bool:
    """Whether this command's AWS is an emulator, which lacks the ECS services scalable targets point at:
    --local or --emulator URL, or AWS_ENDPOINT_URL where a moto server answers (`trimtab emulator` prints
    that export), so every way of reaching one gets them."""
    if url is not None:
        return True
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    return endpoint is not None and await is_moto(endpoint)


async def open_aws(stack: AsyncExitStack, settings: AwsSettings, metrics: Metrics | None = None) -> AwsClients:
    """AWS clients whose credentials were checked once, up front: missing or rejected credentials are one
    error (controller.cli.errors) before any work, not one per resource."""
    aws = await stack.enter_async_context(AwsClients(settings, metrics=metrics))
    await aws.caller_identity()
    return aws


@asynccontextmanager
async def open_session(
    args: Any, ecs_services: list[tuple[str, str]], metrics: Metrics | None = None
) -> AsyncIterator[Session]:
    """AWS clients, the store and the reconciler. Takes the ECS services to seed in an emulator rather
    than the graph: a long-running caller must not keep its first revision alive for its whole life."""
    async with AsyncExitStack() as stack:
        if _one_shot_local(args):
            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trimtab-local-")))
        else:
            state_dir = prepare_state_dir(args)
        url: str | None = args.emulator
        if args.local:
            url = stack.enter_context(LocalEmulator()).url
            print(f"trimtab: started the embedded AWS emulator (moto) at {url}; "
                  "everything it holds is gone when this command exits", file=sys.stderr)
        settings = aws_settings(args.region, url, args.aws_max_rate)
        aws = await open_aws(stack, settings, metrics)
        store = await _open_store(args, aws, state_dir)
        stack.callback(store.close)
        # Probed only when there is something to seed: specs without scalable targets need no ECS.
        if ecs_services and await reaches_emulator(url):
            await _seed(settings, ecs_services)
        reconciler = Reconciler(build_clients(aws), store, args.controller_id)
        yield Session(aws, reconciler, store)


async def _open_store(args: Any, aws: AwsClients, state_dir: Path) -> Store:
    try:
        return await open_store(args.store, state_dir, aws)
    except StoreNotFound as missing:
        raise UserError(f"the DynamoDB table {missing.table} does not exist in {aws.region}: create it with "
                        f"`trimtab store init {args.store}` (or deploy deploy/ecs/trimtab.yaml, which does), "
                        "or check --region") from None
    except (sqlite3.Error, OSError) as error:
        if args.store is not None:
            raise
        raise UserError(state_dir_problem(state_dir, error)) from error


async def _seed(settings: AwsSettings, ecs_services: list[tuple[str, str]]) -> None:
    # Clients of their own: setting up the emulator is not trimtab's work on the specs, so it is neither
    # counted in the command's AWS calls nor paced by its limiter.
    async with AwsClients(settings) as setup:
        seeded = await seed_ecs_services(setup, ecs_services)
    if seeded:
        print(f"trimtab: created ECS services in the emulator for scalable targets: {', '.join(seeded)}",
              file=sys.stderr)
