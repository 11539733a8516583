"""POST /hooks/git: signed pushes fetch at once, bad signatures change nothing, bursts coalesce, the
signature is checked over the whole body however it arrives, bodies over the limit get 413;
and `trimtab run --config`, whose values the command line overrides."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from controller.engine.events import EventLog
from controller.sources.base import Source
from controller.sources.desired import DesiredState
from controller.webhook import MAX_HOOK_BYTES, git_hook
from tests.conftest import REPO
from tests.controller_process import ControllerProcess
from tests.git_remote import GitRepo
from tests.test_api import http
from tests.test_gitops import queue

SECRET = "webhook-secret-for-tests"
PUSH_MAIN = json.dumps({"ref": "refs/heads/main", "after": "0" * 40}).encode()


def hook(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(f"{url}/hooks/git", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def github(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push"}


def fetches(url: str) -> float:
    text = http("GET", f"{url}/metrics")[1]
    return sum(float(value) for value in re.findall(r'^trimtab_source_fetches_total\{outcome="\w+"\} (\S+)$', text,
                                                    re.MULTILINE))


def wakes(controller: ControllerProcess) -> int:
    """How many hooks woke the source: each is logged as WebhookReceived in the handler, before it answers."""
    return sum(event["event"] == "WebhookReceived" for event in controller.events())


def test_signed_webhooks_fetch_at_once_and_bad_ones_change_nothing(
    tmp_path: Path, cli_env: dict[str, str], boto: Any
) -> None:
    repo = GitRepo(tmp_path / "git")
    repo.commit({"orders.yaml": queue("orders")})
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(SECRET + "\n")
    config = tmp_path / "trimtab.yaml"
    config.write_text(f"source: {repo.file_url}\ngit-poll-interval: 1s\nwebhook-secret-file: {secret_file}\n"
                      "resync-interval: 10m\n")
    # The config polls every second; the flag overrides it to an hour, so only the webhook can fetch.
    controller = ControllerProcess(None, tmp_path / "state", cli_env, "--config", str(config),
                                   "--git-poll-interval", "1h")
    try:
        url = controller.url
        controller.wait_for(lambda: "Queue/orders" in controller.ready_keys(), what="first commit")
        settled = fetches(url)
        assert http("GET", f"{url}/api/v1/source")[1]["pollSeconds"] == 3600, "the flag overrides the config"

        new = repo.commit({"audit.yaml": queue("audit")})
        woken = wakes(controller)
        assert hook(url, PUSH_MAIN, {})[0] == 401
        assert hook(url, PUSH_MAIN, github(PUSH_MAIN, "wrong-secret"))[0] == 401
        assert hook(url, PUSH_MAIN, {"X-Gitlab-Token": "wrong"})[0] == 401
        tampered = PUSH_MAIN.replace(b"main", b"evil")
        assert hook(url, tampered, github(PUSH_MAIN))[0] == 401  # the signature covers the exact body
        other = json.dumps({"ref": "refs/heads/feature"}).encode()
        status, body = hook(url, other, github(other))
        assert (status, body["status"]) == (202, "ignored")
        # The handler logs WebhookReceived as it wakes the source, before it answers: none of these woke it.
        assert wakes(controller) == woken

        received = time.monotonic()
        assert hook(url, PUSH_MAIN, github(PUSH_MAIN))[0] == 202
        assert wakes(controller) == woken + 1
        controller.wait_for(lambda: controller.statuses().get("Queue/audit") is not None
                            and controller.statuses()["Queue/audit"].revision == new, what="applied")
        print(f"webhook receipt to applied: {time.monotonic() - received:.2f}s")
        assert fetches(url) == settled + 1, "one look since the first commit settled: the valid hook's"

        gitlab = repo.commit({"audit.yaml": queue("audit", 50)})
        assert hook(url, PUSH_MAIN, {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook"})[0] == 202
        controller.wait_for(lambda: controller.statuses()["Queue/audit"].revision == gitlab, what="gitlab hook")

        before = fetches(url)
        with ThreadPoolExecutor(max_workers=10) as pool:
            codes = list(pool.map(lambda _: hook(url, PUSH_MAIN, github(PUSH_MAIN))[0], range(50)))
        assert codes == [202] * 50
        # Every hook has been answered, so each has set the wake: once the source has fetched and has no
        # look asked for or under way, no further fetch can come (the poll is an hour).
        controller.wait_for(lambda: fetches(url) > before and not http("GET", f"{url}/api/v1/source")[1][
            "fetchPending"], what="the burst's fetches done")
        burst = fetches(url) - before
        assert 1 <= burst <= 3, f"50 webhooks made {burst} fetches"
    finally:
        controller.kill()


def test_a_bad_config_file_names_the_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "trimtab.yaml"
    config.write_text("source: specs/\nresync-intervall: 5m\n")
    result = subprocess.run([sys.executable, "-m", "controller", "run", "--config", str(config)],
                            capture_output=True, text=True, cwd=REPO, check=False, timeout=60)
    assert result.returncode == 1
    assert f"{config}:2:1: resync-intervall: is not an option of `trimtab run` (did you mean 'resync-interval'?)" in (
        result.stderr)
    config.write_text("source: specs/\nworkers: many\n")
    result = subprocess.run([sys.executable, "-m", "controller", "run", "--config", str(config)],
                            capture_output=True, text=True, cwd=REPO, check=False, timeout=60)
    assert result.returncode == 1 and f"{config}:2:1: workers:" in result.stderr


# ---- the body, byte by byte: an in-process hook served by aiohttp, spoken to over a raw socket ----------

class FollowsMain(Source):
    """A source that follows refs/heads/main and counts the fetches asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches_requested = 0

    @property
    def description(self) -> str:
        return "test source"

    async def load(self) -> DesiredState:
        raise NotImplementedError

    async def wait_for_change(self) -> None:
        raise NotImplementedError

    def request_fetch(self) -> None:
        self.fetches_requested += 1

    def tracks_ref(self, ref: str) -> bool:
        return ref == "refs/heads/main"


class HookServer:
    def __init__(self) -> None:
        self.source = FollowsMain()
        self.entered = asyncio.Event()  # set when a request reaches the handler
        self.port = 0

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


@pytest.fixture
async def hook_server() -> AsyncIterator[HookServer]:
    server = HookServer()

    @web.middleware
    async def entered(request: web.Request, handler: Any) -> web.StreamResponse:
        server.entered.set()
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[entered])
    app.router.add_post("/hooks/git", git_hook(server.source, SECRET, EventLog(io.StringIO(), human=False)))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.port = runner.addresses[0][1]
    try:
        yield server
    finally:
        await runner.cleanup()


def request_head(headers: dict[str, str]) -> bytes:
    lines = ["POST /hooks/git HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, Any]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = int(re.search(r"(?im)^content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    return int(head.split()[1]), json.loads(await reader.readexactly(length))


async def test_a_signed_push_in_two_segments_is_verified_over_the_whole_body(hook_server: HookServer) -> None:
    body = json.dumps({"ref": "refs/heads/main", "after": "1" * 40, "commits": [{"message": "m" * 4000}]}).encode()
    half = len(body) // 2
    reader, writer = await hook_server.connect()
    writer.write(request_head({"Content-Length": str(len(body)), **github(body)}) + body[:half])
    await writer.drain()
    # The handler has begun and holds the first half: a single read returned just that and was refused.
    await asyncio.wait_for(hook_server.entered.wait(), 10)
    writer.write(body[half:])
    await writer.drain()
    status, answer = await asyncio.wait_for(read_response(reader), 10)
    writer.close()
    assert (status, answer) == (202, {"status": "fetch queued"})
    assert hook_server.source.fetches_requested == 1


async def _send_pieces(writer: asyncio.StreamWriter, pieces: list[bytes]) -> None:
    with contextlib.suppress(ConnectionError):  # the server may answer and close before the last piece
        for piece in pieces:
            writer.write(piece)
            await writer.drain()


async def test_a_body_over_the_limit_sent_in_pieces_gets_413(hook_server: HookServer) -> None:
    # Chunked, so no declared size: the limit is found while reading. Signed, so only the size refuses it.
    piece = b" " * (1024 * 1024)
    count = MAX_HOOK_BYTES // len(piece) + 1
    digest = hmac.new(SECRET.encode(), piece * count, hashlib.sha256).hexdigest()
    chunks = [f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for _ in range(count)] + [b"0\r\n\r\n"]
    reader, writer = await hook_server.connect()
    head = request_head({"Transfer-Encoding": "chunked", "X-Hub-Signature-256": f"sha256={digest}",
                         "X-GitHub-Event": "push"})
    sending = asyncio.create_task(_send_pieces(writer, [head, *chunks]))
    status, answer = await asyncio.wait_for(read_response(reader), 30)
    await asyncio.wait_for(sending, 30)
    writer.close()
    assert (status, answer) == (413, {"error": f"body over {MAX_HOOK_BYTES} bytes"})
    assert hook_server.source.fetches_requested == 0


async def test_a_body_declared_over_the_limit_is_refused_before_it_is_sent(hook_server: HookServer) -> None:
    reader, writer = await hook_server.connect()
    writer.write(request_head({"Content-Length": str(MAX_HOOK_BYTES + 1), **github(b"")}))
    await writer.drain()
    status, _ = await asyncio.wait_for(read_response(reader), 10)  # not one byte of the body sent
    writer.close()
    assert status == 413 and hook_server.source.fetches_requested == 0


async def test_a_signed_body_nested_too_deeply_is_not_a_server_error(hook_server: HookServer) -> None:
    # A signed body that does not parse names no ref: the push is taken as one to the followed ref.
    body = b"[" * 100_000 + b"]" * 100_000
    reader, writer = await hook_server.connect()
    writer.write(request_head({"Content-Length": str(len(body)), **github(body)}) + body)
    await writer.drain()
    status, answer = await asyncio.wait_for(read_response(reader), 10)
    writer.close()
    assert (status, answer) == (202, {"status": "fetch queued"})
