"""The directory source's watcher (controller/sources/watch.py): file events through watchfiles wake it
long before its poll, a burst of changes wakes it once, and where no watch can be set it polls.

Each test waits for the wake it expects, bounded by a time far under the watcher's poll, so a wake that
came from the poll instead of an event fails; none sleeps to show that nothing happened."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from watchfiles import Change

from controller.sources.watch import SourceWatcher, _wakes

LONG_POLL = 30  # a wake sooner than this came from a file event


@pytest.fixture
async def watch() -> AsyncIterator[list[SourceWatcher]]:
    """Start watchers with `await start(root)`; each is closed after the test."""
    started: list[SourceWatcher] = []
    yield started
    for watcher in started:
        await asyncio.wait_for(watcher.close(), 2)  # the stop reaches watchfiles' thread within a step


async def _started(started: list[SourceWatcher], root: Path, poll_seconds: float = LONG_POLL) -> SourceWatcher:
    watcher = SourceWatcher(root, poll_seconds)
    started.append(watcher)
    await watcher.start()
    return watcher


async def _wakes_soon(watcher: SourceWatcher) -> None:
    started = time.monotonic()
    await watcher.changed()
    assert time.monotonic() - started < 1


async def test_the_watcher_wakes_on_a_change_long_before_its_poll(tmp_path: Path,
                                                                  watch: list[SourceWatcher]) -> None:
    (tmp_path / "deep").mkdir()
    watcher = await _started(watch, tmp_path)
    assert watcher.mode == "events"  # event-driven, polling only as a backstop
    (tmp_path / "deep" / "new.yaml").write_text("a: 1\n")
    await _wakes_soon(watcher)
    (tmp_path / "deep" / "newer").mkdir()  # a new folder is watched too
    await _wakes_soon(watcher)
    (tmp_path / "deep" / "newer" / "x.yml").write_text("b: 2\n")
    await _wakes_soon(watcher)


async def test_a_burst_of_file_changes_is_read_as_one_revision(tmp_path: Path, watch: list[SourceWatcher]) -> None:
    watcher = await _started(watch, tmp_path)

    async def burst() -> None:
        for index in range(3):
            (tmp_path / f"{index}.yaml").write_text("a: 1\n")
            await asyncio.sleep(0.05)

    writer = asyncio.create_task(burst())
    await watcher.changed()
    assert writer.done(), "woke before the burst settled"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(watcher.changed(), 0.5)  # nothing left over: one wake for the burst


async def test_a_file_written_in_steps_wakes_the_watcher_once_it_is_whole(tmp_path: Path,
                                                                         watch: list[SourceWatcher]) -> None:
    # watchfiles counts a path's repeated changes once per batch: the writes still go on being seen.
    watcher = await _started(watch, tmp_path)

    async def write_in_steps() -> None:
        with (tmp_path / "queues.yaml").open("w") as handle:
            for index in range(8):
                handle.write(f"key{index}: {index}\n")
                handle.flush()
                await asyncio.sleep(0.04)

    writer = asyncio.create_task(write_in_steps())
    await watcher.changed()
    assert writer.done(), "woke while the file was half-written"


async def test_a_root_made_after_the_start_is_watched_once_it_exists(tmp_path: Path,
                                                                    watch: list[SourceWatcher]) -> None:
    root = tmp_path / "specs"
    watcher = await _started(watch, root)
    assert watcher.mode == "events"  # its folder is watched until it exists
    root.mkdir()
    await _wakes_soon(watcher)
    (root / "deep").mkdir()
    await _wakes_soon(watcher)
    (root / "deep" / "queues.yaml").write_text("a: 1\n")
    await _wakes_soon(watcher)


async def test_a_file_root_replaced_by_a_rename_wakes_the_watcher(tmp_path: Path,
                                                                 watch: list[SourceWatcher]) -> None:
    spec = tmp_path / "queues.yaml"
    spec.write_text("a: 1\n")
    watcher = await _started(watch, spec)
    (tmp_path / "queues.yaml.new").write_text("a: 2\n")
    os.replace(tmp_path / "queues.yaml.new", spec)  # an editor's save, or a ConfigMap's
    await _wakes_soon(watcher)
    spec.write_text("a: 3\n")  # the new file is watched as the old one was
    await _wakes_soon(watcher)


async def test_a_configmap_update_wakes_the_watcher(tmp_path: Path, watch: list[SourceWatcher]) -> None:
    # A ConfigMap volume: each spec file links through ..data, itself a link to a hidden folder of the
    # current version; an update writes a new hidden folder and renames a new ..data over the old.
    (tmp_path / "..v1").mkdir()
    (tmp_path / "..v1" / "queues.yaml").write_text("a: 1\n")
    (tmp_path / "..data").symlink_to("..v1")
    (tmp_path / "queues.yaml").symlink_to("..data/queues.yaml")
    watcher = await _started(watch, tmp_path)
    (tmp_path / "..v2").mkdir()
    (tmp_path / "..v2" / "queues.yaml").write_text("a: 2\n")
    (tmp_path / "..data_tmp").symlink_to("..v2")
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
    await _wakes_soon(watcher)


def test_changes_inside_hidden_folders_wake_nothing_but_hidden_entries_do() -> None:
    root = "/specs"
    assert _wakes(root, Change.modified, "/specs/team/queues.yaml")
    assert _wakes(root, Change.added, "/specs/.trimtab")  # the entry itself: cheap, and may be a link swap
    assert _wakes(root, Change.added, "/specs/..data")
    assert not _wakes(root, Change.modified, "/specs/.trimtab/state.db")  # a state dir inside the tree
    assert not _wakes(root, Change.modified, "/specs/.git/objects/ab/cdef")
    assert not _wakes(root, Change.added, "/specs/..v2/queues.yaml")


async def test_without_a_watch_the_watcher_polls_at_its_own_pace(tmp_path: Path,
                                                                 watch: list[SourceWatcher]) -> None:
    # Neither the root nor its folder exists: watchfiles has nothing to watch, so changed() returns on the
    # short poll (0.2 s by default) instead of the backstop's.
    watcher = await _started(watch, tmp_path / "missing" / "specs", poll_seconds=0.1)
    assert watcher.mode == "polling"
    for _ in range(3):
        await _wakes_soon(watcher)


async def test_forced_polling_in_watchfiles_still_wakes_the_watcher(tmp_path: Path, watch: list[SourceWatcher],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # For a filesystem that sends no events (some network mounts): watchfiles polls the tree itself.
    monkeypatch.setenv("WATCHFILES_FORCE_POLLING", "1")
    watcher = await _started(watch, tmp_path)
    assert watcher.mode == "events"
    (tmp_path / "queues.yaml").write_text("a: 1\n")
    await _wakes_soon(watcher)


async def test_a_poke_wakes_the_watcher_at_once(tmp_path: Path, watch: list[SourceWatcher]) -> None:
    watcher = await _started(watch, tmp_path)
    watcher.poke()  # `trimtab resync --source`
    await _wakes_soon(watcher)
