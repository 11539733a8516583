"""docs/metrics.md lists every metric trimtab exports, and only those."""

from __future__ import annotations

import re

from controller.metrics import Metrics
from tests.conftest import REPO


def test_the_metric_reference_matches_the_registry() -> None:
    exported = set()
    for family in Metrics().registry.collect():
        suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
        exported.add(family.name + suffix)
    documented = set(re.findall(r"`((?:controller_runtime|workqueue|trimtab|process)_[a-z_]+)`",
                                (REPO / "docs" / "metrics.md").read_text()))
    assert exported - documented == set(), "exported but not documented"
    assert documented - exported == set(), "documented but not exported"
