"""POST /hooks/git: a push notification from GitHub or GitLab makes the git source fetch at once.

GitHub signs the raw body with HMAC-SHA256 (`X-Hub-Signature-256: sha256=<hex>`); GitLab sends the
shared secret itself (`X-Gitlab-Token`). Both are compared in constant time. A bad or missing
signature gets 401 and changes nothing. Pushes to refs the source does not follow are acknowledged
and ignored. Hooks arriving in a burst coalesce into one fetch (the source's wake-up is a flag).

The signature covers the whole body, so the whole body is read (up to MAX_HOOK_BYTES) before it is
checked: one read returns only what has arrived so far, and a push split over TCP segments would
otherwise be verified over its first part and refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import StreamReader, web

from controller.engine.events import EventLog
from controller.sources.base import Source

# GitHub caps push payloads at 25 MB; bodies are read up to this and rejected beyond.
MAX_HOOK_BYTES = 25 * 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.Response]]


def signature_valid(secret: str, body: bytes, headers: Any) -> bool:
    """GitHub's X-Hub-Signature-256 over the raw body, or GitLab's X-Gitlab-Token."""
    github = headers.get("X-Hub-Signature-256")
    if github is not None:
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(github.encode(), expected.encode())
    gitlab = headers.get("X-Gitlab-Token")
    if gitlab is not None:
        return hmac.compare_digest(gitlab.encode(), secret.encode())
    return False


def pushed_ref(body: bytes) -> str | None:
    """The ref a push event names (GitHub and GitLab both say "ref"); None when the body has none."""
    try:
        payload = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deeply to parse
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    return ref if isinstance(ref, str) else None


async def read_body(content: StreamReader, limit: int) -> bytes | None:
    """The whole body, to its end; None as soon as it is found to be over `limit` bytes."""
    body = bytearray()
    while chunk := await content.read(limit + 1 - len(body)):  # what has arrived, at most one byte over
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def git_hook(source: Source, secret: str | None, events: EventLog, max_bytes: int = MAX_HOOK_BYTES) -> Handler:
    warned = False

    async def handle(request: web.Request) -> web.Response:
        nonlocal warned
        if not secret:
            if not warned:
                events.emit("Error", "webhook refused: no secret configured (set TRIMTAB_WEBHOOK_SECRET or "
                                     "--webhook-secret-file)")
                warned = True
            return web.json_response({"error": "the webhook is disabled: no secret is configured"}, status=403)
        declared = request.content_length  # a body declared too large is refused before any of it is read
        body = None if declared is not None and declared > max_bytes else await read_body(request.content, max_bytes)
        if body is None:
            return web.json_response({"error": f"body over {max_bytes} bytes"}, status=413)
        if not signature_valid(secret, body, request.headers):
            return web.json_response({"error": "missing or bad signature"}, status=401)
        if request.headers.get("X-GitHub-Event") == "ping":
            return web.json_response({"status": "pong"})
        ref = pushed_ref(body)
        if ref is not None and not source.tracks_ref(ref):
            return web.json_response({"status": "ignored", "reason": f"{ref} is not the ref trimtab follows"},
                                     status=202)
        source.request_fetch()
        events.emit("WebhookReceived", "fetching now", ref=ref)
        return web.json_response({"status": "fetch queued"}, status=202)

    return handle
