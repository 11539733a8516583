"""An HTTP proxy for tests, between trimtab and moto, that behaves like an overloaded AWS: a per-service
request-rate limit answered with throttling errors in each protocol's own shape (JSON
ThrottlingException, query Throttling, S3 503 SlowDown), plus random 500s, added latency, and
connection resets (before forwarding, or after it, so the change happened but the answer is lost).
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.background_server import BackgroundServer
from tests.forwarding import forward, read_body, reply, service_of


@dataclass
class Faults:
    rate_per_service: float = 20.0  # requests per second a service accepts before throttling
    error_500: float = 0.07
    reset: float = 0.05
    latency: float = 0.05
    latency_seconds: float = 0.2
    seed: int = 7


@dataclass
class Record:
    """What the proxy did, by Unix time, for the test to look at."""

    throttled: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    resets: list[float] = field(default_factory=list)  # answered with a reset, forwarded or not
    forwarded: list[float] = field(default_factory=list)  # reached moto (a reset may follow)
    # Every request the rate limit judged: (time, service, throttled), to follow each service's trend.
    judged: list[tuple[float, str, bool]] = field(default_factory=list)

    def throttled_services(self) -> set[str]:
        """The services (as their signatures name them: sqs, s3, monitoring) that were throttled."""
        return {service for _, service, throttled in self.judged if throttled}

    @property
    def requests(self) -> int:
        """Every request the proxy received: refused ones, plus those that reached moto."""
        lost_before = len(self.resets) - self.resets_after
        return len(self.throttled) + len(self.errors) + lost_before + len(self.forwarded)

    resets_after: int = 0


class _Bucket:
    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.updated = rate, rate, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FaultProxy(BackgroundServer):
    def __init__(self, upstream: str, faults: Faults) -> None:
        target = urlsplit(upstream)
        self.record = Record()
        chance = random.Random(faults.seed)
        lock = threading.Lock()
        buckets: dict[str, _Bucket] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                reply(self, status, headers, body)

            def _reset(self) -> None:
                # SO_LINGER 0: close with RST, as a load balancer dropping the connection does.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def _error(self, service: str, status: int, code: str, message: str) -> None:
                """An AWS error in the shape the service's protocol uses, so the SDK parses it."""
                if "json" in self.headers.get("Content-Type", ""):
                    self._reply(status, f'{{"__type":"{code}","message":"{message}"}}'.encode(),
                                {"Content-Type": "application/x-amz-json-1.0"})
                elif service == "s3":
                    self._reply(status, f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode(),
                                {"Content-Type": "application/xml"})
                else:
                    self._reply(status, f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>"
                                f"{message}</Message></Error></ErrorResponse>".encode(), {"Content-Type": "text/xml"})

            def _throttle(self, service: str) -> None:
                if service == "s3":
                    self._error(service, 503, "SlowDown", "Reduce your request rate.")
                elif "json" in self.headers.get("Content-Type", ""):
                    self._error(service, 400, "ThrottlingException", "Rate exceeded")
                else:
                    self._error(service, 400, "Throttling", "Rate exceeded")

            def _serve(self) -> None:
                body = read_body(self)
                service = service_of(self.headers)
                with lock:
                    allowed = buckets.setdefault(service, _Bucket(faults.rate_per_service)).take()
                    roll = chance.random()
                    reset_after = chance.random() < 0.5
                now = time.time()
                outer.record.judged.append((now, service, not allowed))
                if not allowed:
                    outer.record.throttled.append(now)
                    self._throttle(service)
                    return
                if roll < faults.error_500:
                    outer.record.errors.append(now)
                    self._error(service, 500, "InternalError" if service == "s3" else "InternalFailure", "injected")
                    return
                roll -= faults.error_500
                if roll < faults.reset and not reset_after:
                    outer.record.resets.append(now)
                    self._reset()
                    return
                if faults.reset <= roll < faults.reset + faults.latency:
                    time.sleep(faults.latency_seconds)
                status, headers, payload = forward(self, target, body)
                outer.record.forwarded.append(now)
                if roll < faults.reset and reset_after:  # the change happened; the answer is lost
                    outer.record.resets.append(now)
                    outer.record.resets_after += 1
                    self._reset()
                    return
                self._reply(status, payload, headers)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}"
