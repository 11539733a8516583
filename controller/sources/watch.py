"""Wake the controller when the source tree changes: file events through watchfiles, polling where none come.

The watcher only says "something may have changed"; the manager then compares the tree's
signature and content hash, so a spurious wake-up costs one stat walk and nothing more. Polling
also runs under file events, at a slow pace, as a backstop (inotify misses events on some network and
overlay filesystems). Where no watch can be set (watchfiles fails: no such folder, an unreadable one,
the OS's watch limit reached), the watcher polls at its own pace and tries to watch again every
backstop period.

watchfiles watches the tree recursively, new folders included (inotify on Linux, the platform's own
API elsewhere; WATCHFILES_FORCE_POLLING=1 makes it poll the tree itself, for filesystems that send no
events at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from pathlib import Path

from watchfiles import Change, awatch

from controller.sources.base import settle

BACKSTOP_POLL_SECONDS = 5.0
# After a change, wait for this much quiet so a multi-file change (a `git pull`, a `cp -r`, an editor's
# save dance) is read as one revision, not as its half-written steps; capped to keep edits under 1 s.
QUIET_SECONDS = 0.15
MAX_SETTLE_SECONDS = 0.6
# watchfiles hands its changes over in batches. It looks every STEP_MS; a batch closes at a look that
# finds nothing new, or at the first look past BATCH_MS since it began to wait. So while changes go on,
# batches come at most two looks apart, under QUIET_SECONDS: `settle` does not call the tree quiet
# while it is still being written, and the quiet is measured here, once, not again by watchfiles.
STEP_MS, BATCH_MS = 50, 50


class SourceWatcher:
    """`await watcher.changed()` returns when the tree may have changed, or after `poll_seconds`."""

    def __init__(self, root: Path, poll_seconds: float) -> None:
        self.root = root
        self._poll = poll_seconds
        self._event = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.mode = "polling"  # "events" while a watch is set

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name=f"watch {self.root}")
        # awatch sets its watch up in its first step, before it first waits in a thread: after this one
        # turn of the loop, changes are recorded, so none falls between start() and the first read.
        await asyncio.sleep(0)

    def _target(self) -> tuple[Path, bool, int]:
        """What to watch, whether below it too, and its inode: the tree; for a file, or a root not there
        yet, its folder alone (so a file replaced by a rename, or the root's creation, is seen). The inode
        tells a root removed and made again, whose old watch hears nothing more."""
        root = self.root.absolute()  # absolute, as watchfiles reports the changed paths
        target, recursive = (root, True) if root.is_dir() else (root.parent, False)
        try:
            return target, recursive, target.stat().st_ino
        except OSError:
            return target, recursive, 0  # not there: awatch fails on it, and the watcher polls

    async def _watch(self) -> None:
        while not self._stop.is_set():
            armed = self._target()
            target, recursive, _ = armed
            folder = str(target)
            self.mode = "events"
            try:
                async with contextlib.aclosing(awatch(
                        folder, watch_filter=functools.partial(_wakes, folder), recursive=recursive,
                        stop_event=self._stop, step=STEP_MS, debounce=BATCH_MS)) as batches:
                    async for _ in batches:
                        self._event.set()
                        if self._target() != armed:
                            break  # the root appeared, went, or changed kind: watch what is there now
            except (OSError, RuntimeError):  # RuntimeError: watchfiles' own, such as the watch limit
                self.mode = "polling"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), BACKSTOP_POLL_SECONDS)

    def poke(self) -> None:
        """Wake `changed` now, as a file event would."""
        self._event.set()

    async def changed(self) -> None:
        watching = self.mode == "events"
        poll = max(self._poll, BACKSTOP_POLL_SECONDS) if watching else self._poll
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), poll)
        if watching:
            await settle(self._event, QUIET_SECONDS, MAX_SETTLE_SECONDS)
        self._event.clear()

    async def close(self) -> None:
        """Stop watching; returns once watchfiles' thread has seen the stop (within one STEP_MS)."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None


def _wakes(folder: str, _change: Change, path: str) -> bool:
    """Whether a change under the watched `folder` is worth a look. Hidden folders never hold specs (.git,
    a .trimtab state dir inside the tree): changes inside them wake nothing. A hidden entry itself does:
    a ConfigMap volume's update is the rename of its ..data link, which moves every spec file's target."""
    inner = os.path.relpath(path, folder).split(os.sep)[:-1]
    return not any(part.startswith(".") and part != ".." for part in inner)
