"""Wake the controller when the source tree changes: inotify on Linux, polling elsewhere.

The watcher only says "something may have changed"; the manager then compares the tree's
signature and content hash, so a spurious wake-up costs one stat walk and nothing more. Polling
also runs under inotify, at a slow pace, as a backstop (inotify misses events on some network and
overlay filesystems).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
from pathlib import Path

from controller.sources.base import settle

# From <sys/inotify.h>.
_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x002, 0x004, 0x008
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x040, 0x080, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_NONBLOCK, _IN_CLOEXEC = 0o4000, 0o2000000
_MASK = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
         | _IN_DELETE_SELF | _IN_MOVE_SELF)
BACKSTOP_POLL_SECONDS = 5.0
# After a change, wait for this much quiet so a multi-file change (a `git pull`, a `cp -r`, an editor's
# save dance) is read as one revision, not as its half-written steps; capped to keep edits under 1 s.
QUIET_SECONDS = 0.15
MAX_SETTLE_SECONDS = 0.6


class SourceWatcher:
    """`await watcher.changed()` returns when the tree may have changed, or after `poll_seconds`."""

    def __init__(self, root: Path, poll_seconds: float) -> None:
        self.root = root
        self._poll = poll_seconds
        self._event = asyncio.Event()
        self._fd = -1
        self._libc: ctypes.CDLL | None = None
        self.mode = "polling"

    def start(self) -> None:
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name, use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            return  # not Linux, or no inotify: polling it is
        if fd < 0:
            return
        self._libc, self._fd = libc, fd
        self._watch_tree()
        asyncio.get_running_loop().add_reader(fd, self._on_readable)
        self.mode = "inotify"
        self._poll = max(self._poll, BACKSTOP_POLL_SECONDS)

    def _watch_tree(self) -> None:
        assert self._libc is not None
        folders = [self.root] if self.root.is_dir() else [self.root.parent]
        if self.root.is_dir():
            for parent, dirs, _ in os.walk(self.root):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                folders.extend(Path(parent) / d for d in dirs)
        for folder in folders:  # adding a watch twice is harmless: inotify returns the same one
            self._libc.inotify_add_watch(self._fd, os.fsencode(folder), _MASK)

    def _on_readable(self) -> None:
        try:
            while os.read(self._fd, 65536):
                pass
        except BlockingIOError:
            pass
        self._watch_tree()  # new folders need watches of their own
        self._event.set()

    def poke(self) -> None:
        """Wake `changed` now, as a file event would."""
        self._event.set()

    async def changed(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), self._poll)
        if self.mode == "inotify":
            await settle(self._event, QUIET_SECONDS, MAX_SETTLE_SECONDS)
        self._event.clear()

    def close(self) -> None:
        if self._fd >= 0:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
