"""The HTTP interface of `trimtab run`: metrics, health, status, events, and the admin endpoints.

Read endpoints and /metrics are open; resync, suspend, resume and prune confirmation need
`Authorization: Bearer`, compared in constant time. With no token configured the admin endpoints
answer 403. The git webhook (/hooks/git) authenticates by its own signature (webhook.py). Items are
named as on the command line (controller/api/selectors.py): `queue/orders` is `Queue/orders`.

The port may face the network (ECS, the webhook), so the server bounds what a client can hold:
request bodies (MAX_BODY_BYTES; JSON too deeply nested to parse is a 400, never a 500), the time to
send a request's head (HEADER_TIMEOUT_SECONDS, also the idle keep-alive time), and the number of open
connections (MAX_CONNECTIONS). aiohttp has the body limit but, before 3.14, no timeout for a client
that connects and never finishes a request, and no connection cap: `start_server` adds both around
aiohttp's own protocol, which it otherwise leaves alone.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.api.selectors import SelectorError, parse_key, parse_selector
from controller.aws import AwsClients
from controller.engine.events import EventLog
from controller.engine.journal import event_document
from controller.engine.prune import CONFIRM_SETTING, HOLD_SETTING
from controller.engine.status import inventory_document, status_document
from controller.engine.view import ControllerView
from controller.metrics import Metrics
from controller.store.base import Store
from controller.webhook import git_hook

MAX_BODY_BYTES = 64 * 1024
HEADER_TIMEOUT_SECONDS = 10.0  # to send a complete request head, from connecting or from the last response
MAX_CONNECTIONS = 256  # open at once; more are answered 503 and closed (Prometheus and webhooks need a few)
WEDGED_AFTER_SECONDS = 300.0  # a reconcile running longer than this means a stuck worker
AWS_QUIET_READY_SECONDS = 900.0  # /readyz wants an AWS call to have succeeded within this
_VIEW: web.AppKey[ControllerView] = web.AppKey("controller", ControllerView)
_CONTEXT: web.AppKey[dict[str, Any]] = web.AppKey("context", dict)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda value: json.dumps(value, indent=2))


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


async def metrics_handler(request: web.Request) -> web.Response:
    registry = request.app[_CONTEXT]["metrics"].registry
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthz(request: web.Request) -> web.Response:
    # Answering at all proves the event loop runs; a worker stuck in one item is the other failure.
    longest = request.app[_VIEW].longest_running_seconds()
    if longest > WEDGED_AFTER_SECONDS:
        return _error(503, f"a worker has been busy with one item for {longest:.0f}s")
    return _json({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    view, context = request.app[_VIEW], request.app[_CONTEXT]
    aws: AwsClients = context["aws"]
    checks: dict[str, str] = {}
    fetches = view.fetches
    if view.revision is None:
        checks["source"] = f"not loaded: {fetches.error}" if fetches.error else "not loaded"
    elif fetches.error:
        checks["source"] = f"failing: {fetches.error}; revision {view.revision} stays live"
    else:
        checks["source"] = "ok"
    try:
        await context["store"].get_setting(HOLD_SETTING)
        checks["store"] = "ok"
    except Exception as error:  # any failure to read the store means not ready
        checks["store"] = f"unreachable: {error}"
    calls = aws.stats.total()
    quiet = time.monotonic() - aws.last_success
    checks["aws"] = "ok" if calls == 0 or quiet < AWS_QUIET_READY_SECONDS else (
        f"no AWS call has succeeded for {quiet:.0f}s")
    ready = all(value == "ok" for value in checks.values())
    document: dict[str, Any] = {"ready": ready, "checks": checks}
    if degraded := context["degraded"]():
        document["degraded"] = degraded  # said, but still ready: the task reconciles, only less promptly
    return _json(document, 200 if ready else 503)


async def list_resources(request: web.Request) -> web.Response:
    statuses = request.app[_VIEW].statuses()
    return _json([status_document(statuses[key]) for key in sorted(statuses)])


async def get_source(request: web.Request) -> web.Response:
    return _json(request.app[_VIEW].source_document())


async def get_resource(request: web.Request) -> web.Response:
    try:
        key = parse_key(f"{request.match_info['kind']}/{request.match_info['name']}")
    except SelectorError as error:
        return _error(404, str(error))
    status = request.app[_VIEW].statuses().get(key)
    if status is None:
        return _error(404, f"no resource {key}")
    return _json(status_document(status))


async def list_events(request: web.Request) -> web.Response:
    """Events this task heard or read, oldest first; `?item=KIND[/NAME]` for a kind or one item."""
    try:
        selector = parse_selector(request.query.get("item"))
    except SelectorError as error:
        return _error(400, str(error))
    key = str(selector) if selector.name else None
    events = request.app[_VIEW].events(key)
    return _json([event_document(k, event) for k, event in events if selector.matches(k)])


async def list_inventory(request: web.Request) -> web.Response:
    """The AWS resources trimtab owns, from the store; `?item=KIND/NAME` for those of one spec."""
    store: Store = request.app[_CONTEXT]["store"]
    item = request.query.get("item")
    try:
        entries = await store.owned_by(parse_key(item)) if item else await store.inventory()
    except SelectorError as error:
        return _error(400, str(error))
    return _json([inventory_document(entry) for entry in entries])


def _authorise(request: web.Request) -> web.Response | None:
    context = request.app[_CONTEXT]
    token: str | None = context["token"]
    if not token:
        if not context.get("warned"):
            context["events"].emit("Error", "admin endpoint refused: no API token configured "
                                   "(set TRIMTAB_API_TOKEN or --api-token-file)")
            context["warned"] = True
        return _error(403, "admin endpoints are disabled: no API token is configured on the controller")
    header = request.headers.get("Authorization", "")
    offered = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
    if not hmac.compare_digest(offered.encode(), token.encode()):
        return web.json_response({"error": "missing or wrong bearer token"}, status=401,
                                 headers={"WWW-Authenticate": 'Bearer realm="trimtab"'})
    return None


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"request body over {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        return _error(400, f"malformed JSON body: {error}")
    except RecursionError:  # json's decoder recurses per level and stops at the interpreter's limit
        return _error(400, "malformed JSON body: nested too deeply")
    if not isinstance(body, dict):
        return _error(400, 'the body must be a JSON object such as {"items": ["Queue/orders"]}')
    return body


async def _admin_body(request: web.Request) -> dict[str, Any] | web.Response:
    """The JSON body of an admin request whose token is right; else the answer refusing it."""
    refused = _authorise(request)
    return refused if refused is not None else await _body(request)


async def _admin_items(request: web.Request) -> tuple[dict[str, Any], list[str]] | web.Response:
    """An admin request's body and the live items it names; else the answer refusing it."""
    body = await _admin_body(request)
    if isinstance(body, web.Response):
        return body
    keys = _live_items(body, request.app[_VIEW])
    return keys if isinstance(keys, web.Response) else (body, keys)


async def resync(request: web.Request) -> web.Response:
    body = await _admin_body(request)
    if isinstance(body, web.Response):
        return body
    view = request.app[_VIEW]
    revision = None
    if body.get("source") is True:  # `trimtab resync --source`: fetch first, then resync what it holds
        revision = await view.refresh_source()
    wanted: list[str] | None = None
    if body.get("items") is not None:
        items = _live_items(body, view)
        if isinstance(items, web.Response):
            return items
        wanted = items
    keys, elsewhere = view.resync(wanted)  # jumps the periodic resyncs; another task's shard resyncs there
    request.app[_CONTEXT]["events"].emit("ResyncRequested", "manual resync (API)", queued=len(keys))
    return _json({"queued": len(keys), "items": keys, "heldByOtherTasks": elsewhere,
                  "revision": revision or view.revision, "sourceError": view.fetches.error}, 202)


def _live_items(body: dict[str, Any], view: ControllerView) -> list[str] | web.Response:
    """The body's "items" as keys of the live revision, in order and once each; else the error answer."""
    items = body.get("items")
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return _error(400, '"items" must be a list of "Kind/name" strings')
    try:
        keys = list(dict.fromkeys(parse_key(item) for item in items))
    except SelectorError as error:
        return _error(400, str(error))
    unknown = [key for key in keys if key not in view.live_keys()]
    if unknown:
        return _error(404, f"not in the live revision: {', '.join(unknown)}")
    return keys


async def suspend(request: web.Request) -> web.Response:
    """`trimtab suspend`: {"items": [...], "reason": "..."}. Kept in the store until resumed."""
    asked = await _admin_items(request)
    if isinstance(asked, web.Response):
        return asked
    body, keys = asked
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        return _error(400, '"reason" must be a string')
    await request.app[_VIEW].suspend(keys, reason)
    return _json({"suspended": keys}, 202)


async def resume(request: web.Request) -> web.Response:
    """`trimtab resume`: {"items": [...]}; says which stay suspended by their annotation."""
    asked = await _admin_items(request)
    if isinstance(asked, web.Response):
        return asked
    _, keys = asked
    view = request.app[_VIEW]
    resumed = await view.resume(keys)
    still = {key: why for key in keys if (why := view.suspended_why(key)) is not None}
    idle = [key for key in keys if key not in resumed and key not in still]
    return _json({"resumed": resumed, "stillSuspended": still, "notSuspended": idle}, 202)


async def confirm_prune(request: web.Request) -> web.Response:
    refused = _authorise(request)
    if refused is not None:
        return refused
    store: Store = request.app[_CONTEXT]["store"]
    hold = await store.get_setting(HOLD_SETTING)
    if hold is None:
        return _error(409, "no prune is held")
    await store.put_setting(CONFIRM_SETTING, hold)
    return _json({"released": json.loads(hold)}, 202)


def build_app(
    view: ControllerView, aws: AwsClients, store: Store, metrics: Metrics, events: EventLog, *, token: str | None,
    webhook_secret: str | None = None, degraded: Callable[[], dict[str, str]] | None = None,
) -> web.Application:
    """`degraded`: what works less well than it should without making the task unready (the event feed
    falling back to polling), for /readyz's detail."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[_VIEW] = view
    app[_CONTEXT] = {"aws": aws, "store": store, "metrics": metrics, "events": events, "token": token,
                     "degraded": degraded or dict}
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/v1/source", get_source)
    app.router.add_get("/api/v1/resources", list_resources)
    app.router.add_get("/api/v1/resources/{kind}/{name}", get_resource)
    app.router.add_get("/api/v1/events", list_events)
    app.router.add_get("/api/v1/inventory", list_inventory)
    app.router.add_post("/api/v1/resync", resync)
    app.router.add_post("/api/v1/suspend", suspend)
    app.router.add_post("/api/v1/resume", resume)
    app.router.add_post("/api/v1/prune/confirm", confirm_prune)
    app.router.add_post("/hooks/git", git_hook(view.source, webhook_secret, events))
    return app


# ---- serving -----------------------------------------------------------------------------------------

_REFUSED = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
            b"Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n")


class _Guarded(asyncio.Protocol):
    """One connection: aiohttp's protocol behind the cap and the first request head's deadline.

    After the first request aiohttp's own keep-alive timeout (set to the same value) closes a
    connection that does not send its next request head in time, and it never closes one mid-request.
    """

    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream = cast(asyncio.Transport, transport)  # a TCP server's transports are streams
        if len(self._guard.open) >= self._guard.max_connections:
            stream.write(_REFUSED)
            stream.close()  # after the answer is written
            return
        self._transport = stream
        self._guard.open[stream] = self
        self._deadline = asyncio.get_running_loop().call_later(self._guard.header_timeout, stream.close)
        self._inner = self._guard.factory()
        self._inner.connection_made(stream)

    def first_request(self) -> None:
        """A request head arrived: from now on aiohttp's keep-alive timeout applies."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.first_request()  # nothing left to time out
        if self._transport is not None:
            self._guard.open.pop(self._transport, None)
        if self._inner is not None:
            self._inner.connection_lost(exc)


class ConnectionGuard:
    """The listening socket's protocol factory: aiohttp's (`factory`), with the cap and the head deadline."""

    def __init__(self, factory: Callable[[], asyncio.Protocol], header_timeout: float, max_connections: int) -> None:
        self.factory = factory
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.open: dict[asyncio.BaseTransport, _Guarded] = {}  # admitted and not yet closed

    def __call__(self) -> _Guarded:
        return _Guarded(self)

    def request_started(self, request: web.Request) -> None:
        guarded = self.open.get(request.transport) if request.transport is not None else None
        if guarded is not None:
            guarded.first_request()


class _GuardedSite(web.BaseSite):
    """A TCP site serving through a ConnectionGuard. It registers with its runner as aiohttp's TCPSite
    does, so `runner.addresses` and `runner.cleanup()` work unchanged."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, guard: ConnectionGuard) -> None:
        super().__init__(runner)
        self._host, self._port, self._guard = host, port, guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = await asyncio.get_running_loop().create_server(
            self._guard, self._host, self._port, backlog=self._backlog)
        self._server = server
        self._port = server.sockets[0].getsockname()[1]


async def start_server(
    app: web.Application, host: str, port: int, *, header_timeout: float = HEADER_TIMEOUT_SECONDS,
    max_connections: int = MAX_CONNECTIONS,
) -> web.AppRunner:
    """Serve `app` on host:port (port 0: a free one) until `runner.cleanup()`; returns the runner."""
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=header_timeout)

    def protocol() -> asyncio.Protocol:
        assert runner.server is not None  # set up before the socket listens
        return runner.server()

    guard = ConnectionGuard(protocol, header_timeout, max_connections)

    @web.middleware
    async def head_received(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard.request_started(request)
        return await handler(request)

    app.middlewares.append(head_received)  # before setup, which freezes the application
    await runner.setup()
    await _GuardedSite(runner, host, port, guard).start()
    return runner
