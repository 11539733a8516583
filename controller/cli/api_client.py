"""Talking to a running controller's HTTP API: the reads and admin requests of the commands (`get
--url`, `resync`, `suspend`, `prune --confirm --url`, ...)."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import urlencode

import aiohttp

from controller.cli.errors import UserError
from controller.cli.secret import API_TOKEN_ENV, read_secret

DEFAULT_URL = "http://127.0.0.1:8080"
EXIT_OK, EXIT_ERROR = 0, 1


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


def add_admin_arguments(parser: argparse.ArgumentParser) -> None:
    """--url and --token-file: a running controller's API, and the token its admin endpoints want."""
    parser.add_argument("--url", default=DEFAULT_URL, help="the controller's API (default: %(default)s)")
    parser.add_argument("--token-file", default=None, help="bearer token file (else TRIMTAB_API_TOKEN)")
