"""`python -m bench.trace ARGS...`: `trimtab ARGS...` with its dispatch traced, for `python -m bench --trace`.

Why: the phases' wall and CPU times say that the endpoint sits idle, not where the pipeline waits.
This wrapper records, without changing what trimtab does, every state change of every AWS call and
every worker, so the harness can show (bench/dispatch.py) how many calls were on the wire at each
moment of a phase and what the workers were doing instead:

- an AWS call is `pre` from botocore's before-call to before-send (client-side rate limiter, request
  building, signing), `wire` until before-parse (sent, or waiting for one of the client's pooled
  connections, max_pool_connections; then waiting for the whole answer), `parse`, then
  `post` (retry decision, trimtab's accounting) until after-call;
- a worker is `slot` from taking an item until the kind's reconcile starts (waiting for its AWS
  service's semaphore), `reconcile`, then `record` (the status write and bookkeeping) until done;
- `lag` is how late a 5 ms timer fires: the event loop busy with something else;
- the SQLite store's methods are synchronous behind `async def`: their total time blocks the loop.

The events go to the file named by TRIMTAB_BENCH_TRACE when the process exits. For experiments with
parameters that have no flag (see `python -m bench --help`, --override), TRIMTAB_BENCH_OVERRIDE
holds NAME=VALUE pairs, comma-separated, applied before trimtab starts; diagnosis only.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import functools
import importlib
import inspect
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

TRACE_ENV, OVERRIDE_ENV = "TRIMTAB_BENCH_TRACE", "TRIMTAB_BENCH_OVERRIDE"
LAG_TICK = 0.005
# NAME -> what it sets; each is a parameter the diagnosis wants to vary without editing controller/.
OVERRIDES = {
    "per_service_concurrency": "the engine's per_service_concurrency (the per-AWS-service semaphore, default 8)",
    "tag_window": "controller.kinds.tag_index.WINDOW_SECONDS (the tag index's batching window, default 0.05)",
    "batch_window": "BatchLoader's default window_seconds (alarms, scalable targets; default 0.005)",
}

Event = tuple[float, str, str, int]  # (monotonic time, state, label, +1 or -1)
_events: list[Event] = []
_lags: list[tuple[float, float]] = []
_store_calls: list[tuple[float, str, float]] = []  # (monotonic end, method, seconds)
_call_state: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("call_state", default=None)
_worker_state: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("worker_state", default=None)


def _move(var: contextvars.ContextVar[tuple[str, str] | None], state: str | None, label: str) -> None:
    """Leave the current task's state, enter `state` (None: leave only). Each task runs one call or
    one item at a time, so a context variable pairs the transitions without ids."""
    now = time.monotonic()
    old = var.get()
    if old is not None:
        _events.append((now, old[0], old[1], -1))
    if state is not None:
        _events.append((now, state, label, 1))
    var.set((state, label) if state is not None else None)


def _resolve(path: str) -> tuple[Any, str] | None:
    """("module:Class.attribute" or "module:attribute") -> (its owner, the attribute name), or None
    when it is not there."""
    module_name, _, qualified = path.partition(":")
    owner_name, _, attribute = qualified.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        owner: Any = getattr(module, owner_name) if owner_name else module
    except (ImportError, AttributeError):
        return None
    return (owner, attribute) if hasattr(owner, attribute) else None


def _patch(candidates: Sequence[str], make: Callable[[Any], Any]) -> bool:
    """Replace the first hook point of `candidates` that exists with `make(original)`.

    The trace patches controller/ by name, and controller/ is refactored under it: a hook point that
    moved costs that part of the trace (with a warning on stderr), never the benchmark run.
    """
    for path in candidates:
        found = _resolve(path)
        if found is not None:
            owner, attribute = found
            setattr(owner, attribute, make(getattr(owner, attribute)))
            return True
    print(f"bench.trace: none of {list(candidates)} exists; that part of the trace is skipped", file=sys.stderr)
    return False


def _trace_calls() -> None:
    def make(original: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def traced_open(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
            client = await original(self, service, *args, **kwargs)
            events = client.meta.events
            # Registered after trimtab's own handlers: before-send fires here once the rate limiter let it go.
            for event, state in (("before-call", "pre"), ("before-send", "wire"), ("before-parse", "parse"),
                                 ("response-received", "post"), ("after-call", None), ("after-call-error", None)):
                events.register(event, functools.partial(_on_call_event, state, service))
            return client
        return traced_open

    _patch(["controller.aws:AwsClients._open"], make)


def _on_call_event(state: str | None, service: str, **_: Any) -> None:
    _move(_call_state, state, service)


def _trace_workers() -> None:
    def make_item(original: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., Coroutine[Any, Any, None]]:
        async def traced_item(self: Any, key: str) -> None:
            _move(_worker_state, "slot", key.split("/", 1)[0])
            try:
                await original(self, key)
            finally:
                _move(_worker_state, None, "")
        return traced_item

    def make_reconcile(original: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def traced_reconcile(self: Any, resource: Any, *args: Any, **kwargs: Any) -> Any:
            _move(_worker_state, "reconcile", resource.KIND)
            try:
                return await original(self, resource, *args, **kwargs)
            finally:
                _move(_worker_state, "record", resource.KIND)
        return traced_reconcile

    # One worker's item, from taking the key to done: the engine's Dispatcher, or the older Manager.
    _patch(["controller.engine.dispatch:Dispatcher.process", "controller.engine.manager:Manager._reconcile"],
           make_item)
    _patch(["controller.engine.reconciler:Reconciler.reconcile"], make_reconcile)


def _trace_store() -> None:
    found = _resolve("controller.store.sqlite:SqliteStore.put_status")
    if found is None:
        print("bench.trace: no SqliteStore.put_status; store timings are skipped", file=sys.stderr)
        return
    store = found[0]

    def timed(name: str, method: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                _store_calls.append((time.monotonic(), name, time.perf_counter() - started))
        return wrapper

    for name, method in list(vars(store).items()):
        if inspect.iscoroutinefunction(method) and not name.startswith("_"):
            setattr(store, name, timed(name, method))


def _trace_loop_lag() -> None:
    """A 5 ms ticker beside trimtab's main coroutine (asyncio.run is wrapped, whatever the engine's
    shape); how late each tick fires is the loop's backlog, or the machine's."""
    run = asyncio.run

    async def ticker() -> None:
        while True:
            expected = time.monotonic() + LAG_TICK
            await asyncio.sleep(LAG_TICK)
            now = time.monotonic()
            if now - expected > 0.001:
                _lags.append((now, now - expected))

    async def beside(main: Coroutine[Any, Any, Any]) -> Any:
        task = asyncio.create_task(ticker(), name="bench-lag")
        try:
            return await main
        finally:
            task.cancel()

    def traced_run(main: Coroutine[Any, Any, Any], **kwargs: Any) -> Any:
        return run(beside(main), **kwargs)

    asyncio.run = traced_run


def apply_overrides(spec: str) -> None:
    """NAME=VALUE,... from OVERRIDES: set before trimtab builds anything that reads them."""
    for item in filter(None, spec.split(",")):
        name, _, value = item.partition("=")
        if name == "per_service_concurrency":
            def make(init: Callable[..., None], n: int = int(value)) -> Callable[..., None]:
                def patched(self: Any, *args: Any, **kwargs: Any) -> None:
                    init(self, *args, **kwargs)
                    object.__setattr__(self, "per_service_concurrency", n)  # the settings may be frozen
                return patched

            _patch(["controller.engine.dispatch:DispatchSettings.__init__",
                    "controller.engine.manager:ManagerConfig.__init__"], make)
        elif name == "tag_window":
            _patch(["controller.kinds.tag_index:WINDOW_SECONDS"], functools.partial(_constant, float(value)))
        elif name == "batch_window":
            def make_loader(init: Callable[..., None], window: float = float(value)) -> Callable[..., None]:
                def patched(self: Any, fetch: Any, max_batch: int, window_seconds: float | None = None) -> None:
                    init(self, fetch, max_batch, window if window_seconds is None else window_seconds)
                return patched

            _patch(["controller.kinds.batching:BatchLoader.__init__"], make_loader)
        else:
            raise SystemExit(f"bench.trace: unknown override {name!r}; known: {', '.join(OVERRIDES)}")


def _constant(value: float, _original: object) -> float:
    return value


def _dump(path: Path) -> None:
    path.write_text(json.dumps({"events": _events, "lags": _lags, "store_calls": _store_calls}))


def main() -> int:
    overrides = os.environ.get(OVERRIDE_ENV, "")
    if overrides:
        apply_overrides(overrides)
    trace = os.environ.get(TRACE_ENV)
    if trace:
        _trace_calls()
        _trace_workers()
        _trace_store()
        _trace_loop_lag()
        atexit.register(_dump, Path(trace))
    from controller.cli.main import main as trimtab  # noqa: PLC0415

    return trimtab(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
