"""The benchmark harness at a smoke size: it runs end to end, and the steady state makes no mutating
call (a behaviour, not a timing: times are only reported, in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_benchmark_runs_and_a_steady_resync_changes_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "bench", "--resources", "40", "--no-docs"], capture_output=True,
                            text=True, cwd=REPO, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout)
    assert measured["resources"] == 40
    assert measured["steady"]["mutating"] == 0
    assert measured["steady"]["reads"] > 0 and measured["steady"]["floor_skipped"] == []
    assert measured["change_latency"]["edits"] == 20
