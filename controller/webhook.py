"""POST /hooks/git: a push notification from GitHub or GitLab makes the git source fetch at once.

GitHub signs the raw body with HMAC-SHA256 (`X-Hub-Signature-256: sha256=<hex>`); GitLab sends the
shared secret itself (`X-Gitlab-Token`). Both are compared in constant time. A bad or missing
signature gets 401 and changes nothing. Pushes to refs the source does not follow are acknowledged
and ignored. Hooks arriving in a burst coalesce into one fetch (the source's wake-up is a flag).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

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
    except (ValueError, UnicodeDecodeError):
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    return ref if isinstance(ref, str) else None


def git_hook(source: Source, secret: str | None, events: EventLog) -> Handler:
    warned = False

    async def handle(request: web.Request) -> web.Response:
        nonlocal warned
        if not secret:
            if not warned:
                events.emit("Error", "webhook refused: no secret configured (set TRIMTAB_WEBHOOK_SECRET or "
                                     "--webhook-secret-file)")
                warned = True
            return web.json_response({"error": "the webhook is disabled: no secret is configured"}, status=403)
        body = await request.content.read(MAX_HOOK_BYTES + 1)
        if len(body) > MAX_HOOK_BYTES:
            return web.json_response({"error": f"body over {MAX_HOOK_BYTES} bytes"}, status=413)
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
