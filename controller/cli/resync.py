"""`trimtab resync`: ask a running controller to reconcile now, and with --wait, report the results."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from controller.cli.api_client import ApiError, add_admin_arguments, api_token, fetch_resources, post_admin

EXIT_OK, EXIT_ERROR = 0, 1
Subparsers = Any


async def _resync(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    try:
        before = {} if not args.wait else {
            f"{r['kind']}/{r['name']}": r["lastReconcileTime"] for r in await fetch_resources(base)
        }
        request: dict[str, Any] = {"items": args.items} if args.items else {}
        if args.source:
            request["source"] = True
        body = await post_admin(base, "/api/v1/resync", api_token(args), request or None)
        if args.source:
            print(f"source revision {body.get('revision')}")
        print(f"queued {body['queued']} item(s)")
        if body.get("heldByOtherTasks"):
            print(f"held by other tasks (resync them there): {', '.join(body['heldByOtherTasks'])}", file=sys.stderr)
        if args.source and body.get("sourceError"):
            # The resync happened, but not from a fresh look at the source: a failure, for scripts and CI.
            print(f"trimtab: the source fetch failed, so the revision above stays live: {body['sourceError']}",
                  file=sys.stderr)
            return EXIT_ERROR
        if not args.wait:
            return EXIT_OK
        return await _wait(base, body["items"], before, args.timeout)
    except ApiError as error:
        print(f"trimtab: {error}", file=sys.stderr)
        return EXIT_ERROR


async def _wait(base: str, keys: list[str], before: dict[str, str], seconds: float) -> int:
    """Until every item has a reconcile newer than before the request; prints each result."""
    deadline = time.monotonic() + seconds
    pending = set(keys)
    failed = False
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        for resource in await fetch_resources(base):
            key = f"{resource['kind']}/{resource['name']}"
            if key in pending and resource["lastReconcileTime"] != before.get(key):
                pending.discard(key)
                conditions = {c["type"]: c for c in resource["conditions"]}
                ready, synced = conditions.get("Ready", {}), conditions.get("Synced", {})
                failed |= synced.get("status") != "True"
                print(f"{key}: Ready={ready.get('status')} Synced={synced.get('status')} {synced.get('reason', '')} "
                      f"{synced.get('message', '')}".rstrip())
    if pending:
        print(f"trimtab: timed out waiting for {', '.join(sorted(pending))}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_ERROR if failed else EXIT_OK


def register_resync(subcommands: Subparsers) -> None:
    parser = subcommands.add_parser(
        "resync", help="ask a running controller to reconcile now",
        description="POST /api/v1/resync: the named items (or all) jump the queue. Needs the API token. "
                    "With --source, exit 1 when the fetch failed (the items are resynced all the same).",
    )
    parser.add_argument("--source", action="store_true",
                        help="fetch the source first (git: ls-remote and fetch now), then resync what it holds")
    parser.add_argument("items", nargs="*", metavar="KIND/NAME",
                        help="items to resync, e.g. Queue/orders or queue/orders (default: all)")
    add_admin_arguments(parser)
    parser.add_argument("--wait", action="store_true", help="wait until those items have reconciled; print results")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to --wait (default: 120)")
    parser.set_defaults(handler=lambda args: asyncio.run(_resync(args)))
