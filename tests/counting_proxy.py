"""An HTTP proxy for tests between one trimtab task and moto that forwards everything unchanged and
records each request: when it arrived, the service, the operation, the body and moto's answer. A
test then knows every AWS call a task made, and which item each mutation was for, without trusting
the task's own accounting (tests/fault_proxy.py is the faulty sibling). `read_delay` holds reads
back, to keep a reconcile in flight while a test does something else."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from controller.aws import is_mutating
from tests.background_server import BackgroundServer
from tests.forwarding import forward, read_body, reply, service_of

# Store records that belong to one item (leases, members and settings belong to none).
_ITEM_RECORDS = {"status", "owned", "owned-by", "pending", "inventory", "owner"}


@dataclass(frozen=True)
class Call:
    received: float  # Unix time the request reached the proxy
    at: float  # the same moment, time.monotonic()
    service: str  # as in the signature's credential scope: sqs, dynamodb, ...
    operation: str
    body: str
    status: int  # moto's answer

    @property
    def mutating(self) -> bool:
        return is_mutating(self.operation)

    @property
    def is_read(self) -> bool:
        return not self.mutating

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


def _operation(method: str, path: str, headers: Any, body: bytes, service: str) -> str:
    target = headers.get("X-Amz-Target")
    if target:  # JSON protocol: SQS, DynamoDB, the tagging API
        return str(target).rsplit(".", 1)[-1]
    if service == "s3":  # REST: the method says read or write; the query names the sub-resource
        query = urlsplit(path).query.split("&")[0].split("=")[0]
        verb = {"GET": "Get", "HEAD": "Head", "PUT": "Put", "DELETE": "Delete", "POST": "Post"}.get(method, method)
        return f"{verb}Bucket{query.capitalize()}" if query else f"{verb}Bucket"
    if "/operation/" in path:  # smithy RPC v2 (CBOR), in newer botocore for CloudWatch
        return path.rstrip("/").rsplit("/", 1)[-1]
    form = parse_qs(body.decode(errors="replace")) if body else parse_qs(urlsplit(path).query)
    return form.get("Action", ["Unknown"])[0]  # query protocol


class CountingProxy(BackgroundServer):
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.calls: list[Call] = []
        self.read_delay = 0.0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def _serve(self) -> None:
                received, at = time.time(), time.monotonic()
                body = read_body(self)
                service = service_of(self.headers)
                operation = _operation(self.command, self.path, self.headers, body, service)
                if outer.read_delay and not is_mutating(operation):
                    time.sleep(outer.read_delay)  # fault timing: the reconcile waits on AWS meanwhile
                status, headers, payload = forward(self, target, body)
                with lock:
                    outer.calls.append(Call(received, at, service, operation, body.decode(errors="replace"), status))
                reply(self, status, headers, payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}"

    def since(self, moment: float) -> list[Call]:
        """The calls received at or after `moment` (Unix time)."""
        return [call for call in list(self.calls) if call.received >= moment]

    def reads_between(self, start: float, end: float) -> list[Call]:
        """The reads received in [start, end) (time.monotonic())."""
        return [call for call in list(self.calls) if start <= call.at < end and call.is_read]
