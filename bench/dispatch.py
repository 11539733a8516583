"""What a traced run (bench/trace.py) did in each phase: AWS calls on the wire over time, and what the
workers did instead of calling.

Why: "the pipeline leaves the endpoint idle" is a claim about time, so it is measured as time: the
share of a phase with no call on the wire, the time-weighted mean of calls in each state (by AWS
service for those on the wire), and the mean of workers in each state. moto serves one request at a
time; with 0 calls on the wire it is idle for certain, with several it is likely busy.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

CALL_STATES = ("pre", "wire", "parse", "post")
WORKER_STATES = ("slot", "reconcile", "record")
TIMELINE_STEP = 1.0  # seconds per timeline bucket: per AWS service (calls) or kind (workers)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    data["events"].sort(key=lambda event: event[0])
    return data


def summarise(trace: dict[str, Any], start: float, end: float, workers: int) -> dict[str, Any]:
    """The window [start, end] (time.monotonic(), the same clock in every process) of one phase."""
    span = max(end - start, 1e-9)
    counts: defaultdict[tuple[str, str], int] = defaultdict(int)  # (state, label) -> how many now
    weighted: defaultdict[tuple[str, str], float] = defaultdict(float)  # (state, label) -> count x seconds
    wire_total = 0
    idle = 0.0  # seconds with nothing on the wire
    at_least_8 = 0.0  # seconds with 8 or more on the wire (moto gains nothing beyond about 8)
    buckets: defaultdict[int, defaultdict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    last = start

    def advance(now: float) -> None:
        nonlocal last, idle, at_least_8
        now = min(max(now, start), end)
        if now <= last:
            return
        seconds = now - last
        for key, count in counts.items():
            if count:
                weighted[key] += count * seconds
        if wire_total == 0:
            idle += seconds
        elif wire_total >= 8:
            at_least_8 += seconds
        # Timeline: each state's mean count per bucket, split across the buckets the stretch covers.
        live = [(key, count) for key, count in counts.items() if count]
        begin, finish = last - start, now - start
        for index in range(int(begin // TIMELINE_STEP), int(finish // TIMELINE_STEP) + 1):
            overlap = min(finish, (index + 1) * TIMELINE_STEP) - max(begin, index * TIMELINE_STEP)
            if overlap > 0:
                for key, count in live:
                    buckets[index][key] += count * overlap
        last = now

    for when, state, label, delta in trace["events"]:
        if when > end:
            break
        advance(when)
        counts[(state, label)] += delta
        if state == "wire":
            wire_total += delta
    advance(end)

    def mean(state: str) -> float:
        return round(sum(value for (s, _), value in weighted.items() if s == state) / span, 2)

    wire_by_service = {label: round(value / span, 2) for (state, label), value in sorted(weighted.items())
                       if state == "wire" and value}
    busy_workers = sum(mean(state) for state in WORKER_STATES)
    lag = sum(late for when, late in trace["lags"] if start <= when <= end)
    store: defaultdict[str, float] = defaultdict(float)
    for when, method, seconds in trace["store_calls"]:
        if start <= when <= end:
            store[method] += seconds
    timeline = [{"t": index, **{state: {label: round(value / TIMELINE_STEP, 1)
                                        for (s, label), value in sorted(row.items()) if s == state and value >= 0.05}
                                for state in ("wire", "pre", "slot", "reconcile")}}
                for index, row in sorted(buckets.items())]
    return {
        "wire_idle_share": round(idle / span, 2),
        "wire_8_or_more_share": round(at_least_8 / span, 2),
        "calls_mean": {state: mean(state) for state in CALL_STATES},
        "wire_mean_by_service": wire_by_service,
        "workers_mean": {**{state: mean(state) for state in WORKER_STATES},
                         "idle": round(workers - busy_workers, 2)},
        "loop_lag_s": round(lag, 2),
        "store_s": {method: round(seconds, 3) for method, seconds in sorted(store.items())},
        "timeline": timeline,
    }
