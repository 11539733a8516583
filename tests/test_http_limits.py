"""What a hostile HTTP client can hold: a request head sent slowly or never (disconnected after the header
timeout), too many connections (the extra ones are answered 503 and closed), and JSON nested too deeply
to parse (400, not 500). The server tests run `start_server` in-process with small injected limits."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from controller.server import HEADER_TIMEOUT_SECONDS, MAX_BODY_BYTES, MAX_CONNECTIONS, start_server
from tests.controller_process import ControllerProcess
from tests.test_api import TOKEN, http
from tests.test_gitops import queue

Serve = Callable[..., Awaitable[int]]
PING = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start the production server on a free port around a small app; returns the port."""
    runners: list[web.AppRunner] = []

    async def start(**limits: Any) -> int:
        async def ping(_: web.Request) -> web.Response:
            return web.Response(text="pong")

        async def slow(_: web.Request) -> web.Response:
            await asyncio.sleep(3 * limits["header_timeout"])  # a handler may take longer than a head may
            return web.Response(text="done")

        app = web.Application()
        app.router.add_get("/ping", ping)
        app.router.add_get("/slow", slow)
        runner = await start_server(app, "127.0.0.1", 0, **limits)
        runners.append(runner)
        return int(runner.addresses[0][1])

    yield start
    for runner in runners:
        await runner.cleanup()


async def response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = int(re.search(r"(?im)^content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    return int(head.split()[1]), await reader.readexactly(length)


async def closed_by_server(reader: asyncio.StreamReader, within: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (bounded, so a hang fails the test)."""
    return await asyncio.wait_for(reader.read(), within)


def test_the_production_limits() -> None:
    assert HEADER_TIMEOUT_SECONDS == 10.0 and MAX_CONNECTIONS == 256


async def test_a_request_head_never_finished_is_disconnected_after_the_header_timeout(serve: Serve) -> None:
    port = await serve(header_timeout=0.5)
    started = time.monotonic()
    partial_reader, partial = await asyncio.open_connection("127.0.0.1", port)
    partial.write(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # slowloris: and then nothing
    await partial.drain()
    silent_reader, silent = await asyncio.open_connection("127.0.0.1", port)  # connects, sends nothing
    assert await closed_by_server(partial_reader) == b""
    assert await closed_by_server(silent_reader) == b""
    assert time.monotonic() - started >= 0.4  # the timeout, not an instant refusal
    partial.close()
    silent.close()

    # A client that does send its request in time is served, and a slow handler is not cut off.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(PING)
    assert await asyncio.wait_for(response(reader), 10) == (200, b"pong")
    writer.write(b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # the next head, on the kept-alive connection
    assert await asyncio.wait_for(response(reader), 10) == (200, b"done")
    assert await closed_by_server(reader) == b""  # then idle: closed after the same timeout
    writer.close()


async def test_connections_beyond_the_cap_are_refused_at_once(serve: Serve) -> None:
    port = await serve(header_timeout=30.0, max_connections=2)
    kept = []
    for _ in range(2):  # each serves a request, so the server has surely admitted it, then stays open idle
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(PING)
        assert await asyncio.wait_for(response(reader), 10) == (200, b"pong")
        kept.append((reader, writer))

    extra_reader, extra = await asyncio.open_connection("127.0.0.1", port)
    refused = await closed_by_server(extra_reader, within=5)  # well before the 30 s header timeout
    assert refused.startswith(b"HTTP/1.1 503 ") and refused.endswith(b"too many connections\n")
    extra.close()

    # A slot freed is a slot to use: once the server has seen one close, a new client is served.
    kept[0][1].close()
    deadline = time.monotonic() + 10
    while True:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(PING)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        writer.close()
        if answer.startswith(b"HTTP/1.1 200 "):
            break
        assert answer.startswith(b"HTTP/1.1 503 ") and time.monotonic() < deadline, answer
        await asyncio.sleep(0.05)
    kept[1][1].close()


def test_json_nested_too_deeply_is_a_400_not_a_500(tmp_path: Path, cli_env: dict[str, str]) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "orders.yaml").write_text(queue("orders"))
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    controller = ControllerProcess(specs, tmp_path / "state", cli_env, "--resync-interval", "10m",
                                   "--api-token-file", str(token_file))
    try:
        url = controller.url
        depth = (MAX_BODY_BYTES - 100) // 2  # about 32,000 levels: within the size limit, far past the parser's
        for body in (b"[" * depth + b"]" * depth, b'{"items": ' + b"[" * (depth - 10) + b"]" * (depth - 10) + b"}",
                     b'{"a": ' * (depth // 4)):
            status, answer = http("POST", f"{url}/api/v1/resync", body, token=TOKEN)
            assert status == 400, answer
            assert "malformed JSON body" in answer["error"]
        assert http("POST", f"{url}/api/v1/resync", b"[" * depth + b"]" * depth, token=TOKEN)[1] == {
            "error": "malformed JSON body: nested too deeply"}
        status, answer = http("POST", f"{url}/api/v1/resync", b"[" * 100_000 + b"]" * 100_000, token=TOKEN)
        assert (status, answer) == (413, {"error": f"request body over {MAX_BODY_BYTES} bytes"})
        assert http("POST", f"{url}/api/v1/resync", b'{"items": ["Queue/orders"]}', token=TOKEN)[0] == 202
        assert "Traceback" not in controller.log.read_text()
    finally:
        controller.kill()
