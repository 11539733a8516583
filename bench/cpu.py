"""CPU seconds (user + system) of the processes in a measurement, read from /proc/PID/stat.

Why: a phase's wall time alone cannot say whether trimtab is slow because a process is saturated
(trimtab's event loop, or moto, which serves one request at a time under the GIL) or because the
pipeline leaves the endpoint idle. CPU over wall time for each side answers that. /proc rather than
psutil: no dependency for two numbers, and every machine the bench runs on is Linux.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
# Fields of /proc/PID/stat after the ")" closing the command name: state is the first, utime the
# 12th and stime the 13th (fields 14 and 15 of proc(5)).
_UTIME, _STIME = 11, 12


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` so far, all its threads included (0 once it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[_UTIME]) + int(fields[_STIME])) / _TICKS


def child_pid(fragment: str) -> int:
    """The pid of this process's child whose command line contains `fragment`.

    controller.emulator.LocalEmulator keeps its moto process private; its pid is found among our
    children instead of reaching into the object.
    """
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            if fragment in command:
                return int(pid)
    raise LookupError(f"no child process running {fragment!r}")


@dataclass
class Usage:
    """One measured stretch: wall seconds, and CPU seconds per role ("trimtab", "emulator", "client")."""

    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, other: Usage) -> None:
        """Sum stretches that make one phase (the cold floor's two waves)."""
        self.seconds += other.seconds
        for role, value in other.cpu.items():
            self.cpu[role] = self.cpu.get(role, 0.0) + value

    def report(self) -> dict[str, float]:
        """`{role}_cpu_s` and `{role}_cpu_share` (CPU / wall: 1.0 is one core kept busy) per role."""
        out: dict[str, float] = {}
        for role, value in sorted(self.cpu.items()):
            out[f"{role}_cpu_s"] = round(value, 2)
            out[f"{role}_cpu_share"] = round(value / self.seconds, 2) if self.seconds > 0 else 0.0
        return out


@dataclass
class Processes:
    """The processes whose CPU a phase reports, by role. A role registered during a phase (trimtab
    during the cold converge: it starts inside it) counts from 0, so all its CPU is in that phase."""

    pids: dict[str, int] = field(default_factory=dict)

    def snapshot(self) -> dict[str, float]:
        return {role: cpu_seconds(pid) for role, pid in self.pids.items()}

    @contextmanager
    def measure(self) -> Iterator[Usage]:
        """Fills the yielded Usage when the block ends."""
        usage = Usage()
        before = self.snapshot()
        started = time.perf_counter()
        try:
            yield usage
        finally:
            usage.seconds = time.perf_counter() - started
            usage.cpu = {role: value - before.get(role, 0.0) for role, value in self.snapshot().items()}
