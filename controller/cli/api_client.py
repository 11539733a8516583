"""Talking to a running controller's HTTP API: `trimtab resync`, and the reads and admin requests of
the other commands (`get --url`, `suspend`, `prune --confirm --url`, ...)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from controller.cli.errors import UserError
from controller.cli.secret import API_TOKEN_ENV, read_secret

DEFAULT_URL = "http://127.0.0.1:8080"
EXIT_OK, EXIT_ERROR = 0, 1
Subparsers = Any


class ApiError(UserError):
    """The API could not be reached, or refused: one line saying which request and why."""


async def _request(method: str, url: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session, session.request(
            method, url, json=body, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        raise ApiError(f"{method} {url}: {error or type(error).__name__}") from error


async def get_json(base: str, path: str, **query: str) -> Any:
    """GET an API path (with query parameters); ApiError unless it answers 200."""
    url = f"{base.rstrip('/')}{path}"
    if query:
        url += "?" + urlencode(query)
    status, body = await _request("GET", url)
    if status != 200:
        raise ApiError(f"GET {path} answered {status}: {_reason(body)}")
    return body


async def post_admin(base: str, path: str, token: str | None, body: Any = None) -> Any:
    """POST to an admin endpoint with the bearer token; ApiError, saying why, unless it answers 202."""
    status, answer = await _request("POST", f"{base.rstrip('/')}{path}", token, body)
    if status != 202:
        raise ApiError(f"POST {path} refused ({status}): {_reason(answer)}")
    return answer


def _reason(body: Any) -> Any:
    return body.get("error", body) if isinstance(body, dict) else body


async def fetch_source(base: str) -> dict[str, Any]:
    return dict(await get_json(base, "/api/v1/source"))


async def confirm_prune_remote(base: str, token: str | None) -> int:
    """`trimtab prune --confirm --url`: POST /api/v1/prune/confirm on a running controller."""
    try:
        status, body = await _request("POST", f"{base.rstrip('/')}/api/v1/prune/confirm", token)
    except ApiError as error:
        print(f"trimtab: {error}", file=sys.stderr)
        return EXIT_ERROR
    if status == 409:
        print("no prune is held")
        return EXIT_OK
    if status != 202:
        print(f"trimtab: prune confirmation refused ({status}): {_reason(body)}", file=sys.stderr)
        return EXIT_ERROR
    print(f"released: the controller deletes {len(body['released'])} resources")
    return EXIT_OK


async def fetch_resources(base: str) -> list[dict[str, Any]]:
    return list(await get_json(base, "/api/v1/resources"))


def api_token(args: argparse.Namespace) -> str | None:
    """The bearer token `--token-file` names, else TRIMTAB_API_TOKEN's (controller.cli.secret)."""
    return read_secret(args.token_file, API_TOKEN_ENV)


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


def add_admin_arguments(parser: argparse.ArgumentParser) -> None:
    """--url and --token-file: a running controller's API, and the token its admin endpoints want."""
    parser.add_argument("--url", default=DEFAULT_URL, help="the controller's API (default: %(default)s)")
    parser.add_argument("--token-file", default=None, help="bearer token file (else TRIMTAB_API_TOKEN)")


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
