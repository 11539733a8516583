"""An HTTP proxy for tests between one trimtab task and moto that forwards everything unchanged and
records each request: when it arrived, the service, the operation, the body and moto's answer. A
test then knows every AWS call a task made, and which item each mutation was for, without trusting
the task's own accounting (tests/fault_proxy.py is the faulty sibling)."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from controller.aws import is_mutating
from tests.background_server import BackgroundServer

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
# Store records that belong to one item (leases, members and settings belong to none).
_ITEM_RECORDS = {"status", "owned", "owned-by", "pending", "inventory", "owner"}


@dataclass(frozen=True)
class Call:
    received: float  # Unix time the request reached the proxy
    service: str  # as in the signature's credential scope: sqs, dynamodb, ...
    operation: str
    body: str
    status: int  # moto's answer

    @property
    def mutating(self) -> bool:
        return is_mutating(self.operation)

    def items(self) -> set[str]:
        """The specs (Kind/name) this call writes for, as far as its body says."""
        payload = json.loads(self.body) if self.body.startswith("{") else {}
        if self.service == "sqs":
            name = payload.get("QueueName") or str(payload.get("QueueUrl", "")).rsplit("/", 1)[-1]
            if not name and self.body:  # the query protocol
                form = parse_qs(self.body)
                name = (form.get("QueueName") or [""])[0] or (form.get("QueueUrl") or [""])[0].rsplit("/", 1)[-1]
            return {f"Queue/{name}"} if name else set()
        if self.service != "dynamodb":
            return set()
        writes = [payload] if "TransactItems" not in payload else [
            next(iter(action.values())) for action in payload["TransactItems"] if "ConditionCheck" not in action]
        found = set()
        for write in writes:
            record = write.get("Item") or write.get("Key") or {}
            pk, sk = record.get("pk", {}).get("S"), record.get("sk", {}).get("S", "")
            if pk not in _ITEM_RECORDS:
                continue
            if "key" in record:
                found.add(record["key"]["S"])
            elif pk in ("status", "inventory"):
                found.add(sk)
            elif pk == "owned-by":
                found.add(sk.split("\n", 1)[0])
            else:  # an identity key, "Queue:{"name":"q001"}"
                kind, _, identity = sk.partition(":")
                found.add(f"{kind}/{json.loads(identity).get('name', identity)}")
        return found


class CountingProxy(BackgroundServer):
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.calls: list[Call] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def _serve(self) -> None:
                received = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                found = _SERVICE.search(self.headers.get("Authorization", ""))
                target_header = self.headers.get("X-Amz-Target", "")
                text = body.decode(errors="replace")
                operation = target_header.rsplit(".", 1)[-1] if target_header else (
                    parse_qs(text).get("Action") or [self.command])[0]
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                connection.close()
                with lock:
                    outer.calls.append(Call(received, found.group(1) if found else "unknown", operation, text,
                                            response.status))
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in _HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}"

    def since(self, moment: float) -> list[Call]:
        return [call for call in list(self.calls) if call.received >= moment]
