"""The composition root of `trimtab run` (controller/app.py), driven without the CLI: what it opens,
and with what, before it serves."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from controller import app
from controller.api.graph import SpecGraph
from controller.engine.sharding import LeaseSettings
from controller.engine.supervisor import ControllerConfig
from controller.metrics import Metrics
from controller.sources.directory import DirectorySource
from tests.helpers import copy_request_processor

REPO = Path(__file__).resolve().parent.parent
SETTINGS = app.RunSettings(controller=ControllerConfig(), leases=LeaseSettings(), task_id="task", events_queue=None,
                           listen="127.0.0.1:0", api_token=None, webhook_secret=None)


class Opened(Exception):
    """Raised by the test's opener, in place of a session: the root got as far as opening one."""


@pytest.fixture(autouse=True)
def _root_logger_restored(root_logging: None) -> None:
    """app.run sends every library's log records into its event log; pytest's own handlers come back after."""


async def test_a_directory_without_specs_ends_run_before_any_session(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[SpecGraph | None] = []

    def opener(graph: SpecGraph | None, metrics: Metrics) -> AbstractAsyncContextManager[app.Session]:
        asked.append(graph)
        raise Opened

    assert await app.run(SETTINGS, DirectorySource(tmp_path), opener) == app.EXIT_ERROR
    assert asked == []  # no AWS clients, no store, no emulator for a source that cannot run
    assert "no .yaml or .yml files" in capsys.readouterr().err


async def test_the_session_is_opened_for_the_first_revision(tmp_path: Path) -> None:
    copy_request_processor(tmp_path / "specs")
    asked: list[SpecGraph | None] = []

    def opener(graph: SpecGraph | None, metrics: Metrics) -> AbstractAsyncContextManager[app.Session]:
        asked.append(graph)
        raise Opened

    with pytest.raises(Opened):
        await app.run(SETTINGS, DirectorySource(tmp_path / "specs"), opener)
    [graph] = asked
    assert graph is not None and any(key.startswith("ScalableTarget/") for key in graph.records)
