"""The HTTP interface of `trimtab run`: metrics, health, status, and the admin endpoints.

Read endpoints and /metrics are open; resync and prune confirmation need `Authorization: Bearer`,
compared in constant time. With no token configured the admin endpoints answer 403. The git
webhook (/hooks/git) authenticates by its own signature (webhook.py).
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.aws import AwsClients
from controller.engine.events import EventLog
from controller.engine.manager import Manager
from controller.engine.prune import CONFIRM_SETTING, HOLD_SETTING
from controller.engine.status import source_document, status_document
from controller.engine.workqueue import Priority
from controller.metrics import Metrics
from controller.store.base import Store
from controller.webhook import git_hook

MAX_BODY_BYTES = 64 * 1024
WEDGED_AFTER_SECONDS = 300.0  # a reconcile running longer than this means a stuck worker
AWS_QUIET_READY_SECONDS = 900.0  # /readyz wants an AWS call to have succeeded within this
_MANAGER: web.AppKey[Manager] = web.AppKey("manager", Manager)
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
    longest = request.app[_MANAGER].queue.longest_running_seconds()
    if longest > WEDGED_AFTER_SECONDS:
        return _error(503, f"a worker has been busy with one item for {longest:.0f}s")
    return _json({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    manager, context = request.app[_MANAGER], request.app[_CONTEXT]
    aws: AwsClients = context["aws"]
    checks: dict[str, str] = {}
    fetches = manager.source.fetches
    if manager.state is None:
        checks["source"] = f"not loaded: {fetches.error}" if fetches.error else "not loaded"
    elif fetches.error:
        checks["source"] = f"failing: {fetches.error}; revision {manager.state.revision} stays live"
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
    return _json({"ready": ready, "checks": checks}, 200 if ready else 503)


async def list_resources(request: web.Request) -> web.Response:
    statuses = request.app[_MANAGER].statuses
    return _json([status_document(statuses[key]) for key in sorted(statuses)])


async def get_source(request: web.Request) -> web.Response:
    manager = request.app[_MANAGER]
    return _json(source_document(manager.source.description, manager.state, manager.source.fetches,
                                 manager.applied))


async def get_resource(request: web.Request) -> web.Response:
    key = f"{request.match_info['kind']}/{request.match_info['name']}"
    status = request.app[_MANAGER].statuses.get(key)
    if status is None:
        return _error(404, f"no resource {key}")
    return _json(status_document(status))


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
    if not isinstance(body, dict):
        return _error(400, 'the body must be a JSON object such as {"items": ["Queue/orders"]}')
    return body


async def resync(request: web.Request) -> web.Response:
    refused = _authorise(request)
    if refused is not None:
        return refused
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    manager = request.app[_MANAGER]
    revision = None
    if body.get("source") is True:  # `trimtab resync --source`: fetch first, then resync what it holds
        revision = await manager.refresh_source()
    known = set(manager.state.graph.records) if manager.state else set()
    items = body.get("items")
    if items is None:
        keys = sorted(known)
    elif isinstance(items, list) and all(isinstance(item, str) for item in items):
        unknown = sorted(set(items) - known)
        if unknown:
            return _error(404, f"not in the live revision: {', '.join(unknown)}")
        keys = list(dict.fromkeys(items))
    else:
        return _error(400, '"items" must be a list of "Kind/name" strings')
    elsewhere = [key for key in keys if not manager.shards.owns(key)]  # another task's shard: resync it there
    keys = [key for key in keys if manager.shards.owns(key)]
    for key in keys:
        manager.queue.add(key, Priority.HIGH)  # jumps the periodic resyncs
    manager.events.emit("ResyncRequested", "manual resync (API)", queued=len(keys))
    return _json({"queued": len(keys), "items": keys, "heldByOtherTasks": elsewhere, "revision": revision or (
        manager.state.revision if manager.state else None), "sourceError": manager.source.fetches.error}, 202)


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
    manager: Manager, aws: AwsClients, store: Store, metrics: Metrics, events: EventLog, *, token: str | None,
    webhook_secret: str | None = None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[_MANAGER] = manager
    app[_CONTEXT] = {"aws": aws, "store": store, "metrics": metrics, "events": events, "token": token}
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/v1/source", get_source)
    app.router.add_get("/api/v1/resources", list_resources)
    app.router.add_get("/api/v1/resources/{kind}/{name}", get_resource)
    app.router.add_post("/api/v1/resync", resync)
    app.router.add_post("/api/v1/prune/confirm", confirm_prune)
    app.router.add_post("/hooks/git", git_hook(manager.source, webhook_secret, events))
    return app
