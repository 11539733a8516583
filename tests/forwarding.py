"""What the tests' HTTP proxies between trimtab and moto share: which service a signed request is for,
forwarding it upstream unchanged, and answering the client (tests/counting_proxy.py records every call,
tests/fault_proxy.py behaves like an overloaded AWS)."""

from __future__ import annotations

import http.client
import re
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import SplitResult

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
# Hop-by-hop headers, and the length, which the proxy sets itself for the body it sends on.
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def service_of(headers: Any) -> str:
    """The service a SigV4-signed request is for, as its credential scope names it (sqs, dynamodb, ...)."""
    found = _SERVICE.search(headers.get("Authorization", ""))
    return found.group(1) if found else "unknown"


def forward(handler: BaseHTTPRequestHandler, upstream: SplitResult, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send the handler's request upstream as it came; the answer's status, end-to-end headers and body."""
    connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=60)
    try:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
        connection.request(handler.command, handler.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, {k: v for k, v in response.getheaders() if k.lower() not in _HOP}, payload
    finally:
        connection.close()


def reply(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
