"""The directory source: every .yaml/.yml file below a path, read once per revision."""

from __future__ import annotations

import os
from pathlib import Path

from controller.api.yamldoc import Limits
from controller.sources.base import Source, SourceError
from controller.sources.desired import DesiredState, ParseCache, parse_files
from controller.sources.watch import SourceWatcher

SPEC_SUFFIXES = (".yaml", ".yml")


def read_tree(root: Path, limits: Limits | None = None) -> dict[str, bytes]:
    """Spec files by display path (relative to the working directory where possible).

    Oversized files are not read past the limit: the parser reports them by size.
    """
    limits = limits or Limits()
    if not root.exists():
        raise SourceError(f"{root}: no such file or directory")
    paths = [root] if root.is_file() else sorted(
        Path(folder) / name
        for folder, dirs, names in os.walk(root)
        for name in names
        if name.endswith(SPEC_SUFFIXES) and not name.startswith(".")
        # hidden folders (.git, .trimtab) never hold specs
        if not any(part.startswith(".") for part in Path(folder).relative_to(root).parts)
    )
    files: dict[str, bytes] = {}
    for path in paths:
        try:
            with path.open("rb") as handle:
                files[_display(path)] = handle.read(limits.max_file_bytes + 1)
        except OSError as error:
            raise SourceError(f"{path}: {error.strerror}") from error
    return files


def load_directory(root: Path, limits: Limits | None = None, cache: ParseCache | None = None) -> DesiredState:
    files = read_tree(root, limits)
    if not files:
        raise SourceError(f"{root}: no .yaml or .yml files; an empty source is an error, not 'delete everything'")
    return parse_files(files, limits=limits, cache=cache)


def is_spec_path(path: str) -> bool:
    """A .yaml/.yml file outside hidden folders (.git, .trimtab never hold specs)."""
    parts = path.split("/")
    return parts[-1].endswith(SPEC_SUFFIXES) and not any(part.startswith(".") for part in parts)


class DirectorySource(Source):
    """A directory tree, watched with inotify (polling where it is missing); the revision is a content hash."""

    def __init__(self, root: Path, poll_seconds: float = 0.2) -> None:
        super().__init__()
        self.root = root
        self._watcher = SourceWatcher(root, poll_seconds)
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._state: DesiredState | None = None
        self._cache = ParseCache()

    @property
    def description(self) -> str:
        return str(self.root)

    async def start(self) -> None:
        self._watcher.start()

    async def close(self) -> None:
        self._watcher.close()

    @property
    def mode(self) -> str:
        return self._watcher.mode

    async def load(self) -> DesiredState:
        try:
            signature = tree_signature(self.root)
            if self._state is None or signature != self._signature:
                self._state = load_directory(self.root, cache=self._cache)
                self._signature = signature
        except (SourceError, OSError) as error:
            self.fetches.failed(str(error))
            raise SourceError(str(error)) from error
        self.fetches.succeeded()
        return self._state

    async def wait_for_change(self) -> None:
        await self._watcher.changed()

    def request_fetch(self) -> None:
        self._signature = None  # re-read even if no file seems to have changed
        self._watcher.poke()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def tree_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, size) of every spec file: a cheap check for "something changed" between reads."""
    if root.is_file():
        stat = root.stat()
        return ((str(root), stat.st_mtime_ns, stat.st_size),)
    entries = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in names:
            if name.endswith(SPEC_SUFFIXES) and not name.startswith("."):
                path = os.path.join(folder, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue  # removed while we looked: the next pass sees the new tree
                entries.append((path, stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(entries))
