"""The directory source: every .yaml/.yml file below a path, read once per revision.

A symlinked spec file is read only when its target resolves inside the source's root (as in a
Kubernetes ConfigMap volume, whose files link into a hidden folder beside them); one leading outside
is a spec error naming the file, so a source never reads what lies beyond its root. Symlinked folders
are not followed. A tree whose files are all empty is an error, as a tree with no files is.
"""

from __future__ import annotations

import os
from pathlib import Path

from controller.api.errors import SpecError
from controller.api.yamldoc import Limits
from controller.sources.base import Source, SourceError
from controller.sources.desired import DesiredState, ParseCache, fingerprint, parse_files
from controller.sources.watch import SourceWatcher

SPEC_SUFFIXES = (".yaml", ".yml")


def read_tree(root: Path, limits: Limits | None = None, refused: list[SpecError] | None = None) -> dict[str, bytes]:
    """Spec files by display path (relative to the working directory where possible).

    Oversized files are not read past the limit: the parser reports them by size. A symlink whose
    target is outside the root is not read: it is appended to `refused` as a spec error, or raises
    SourceError when no list is given.
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
    inside = root.resolve()
    for path in paths:
        problem = None if path == root else _escaping_link(path, inside)
        if problem is not None:
            if refused is None:
                raise SourceError(str(problem))
            refused.append(problem)
            continue
        try:
            with path.open("rb") as handle:
                files[_display(path)] = handle.read(limits.max_file_bytes + 1)
        except OSError as error:
            raise SourceError(f"{path}: {error.strerror}") from error
    return files


def load_directory(root: Path, limits: Limits | None = None, cache: ParseCache | None = None) -> DesiredState:
    refused: list[SpecError] = []
    files = read_tree(root, limits, refused)
    if not files and not refused:
        raise SourceError(f"{root}: no .yaml or .yml files; an empty source is an error, not 'delete everything'")
    # A refused file is part of the revision: linking it elsewhere, or removing it, is a new revision.
    revision = fingerprint({**files, **{problem.file: problem.message.encode() for problem in refused}})
    state = parse_files(files, revision, limits=limits, cache=cache, unread=refused)
    if state.empty:
        # Truncated files (an editor, a failed checkout, `> file`) say as little as no files at all.
        raise SourceError(f"{root}: no specs: every .yaml or .yml file is empty; an empty source is an error, "
                          "not 'delete everything'")
    return state


def _escaping_link(path: Path, inside: Path) -> SpecError | None:
    """The spec error for a symlink that leads out of the resolved root `inside`; None for any other file."""
    if not path.is_symlink():
        return None
    name = str(Path(_display(path.parent)) / path.name)  # the link, not what it points at
    try:
        target = path.resolve()  # a dangling link inside the root then fails to open, as any unreadable file
    except (OSError, RuntimeError) as error:  # a loop: RuntimeError before Python 3.13, OSError since
        return SpecError(name, 1, 1, "-", "", f"symlink cannot be resolved: {error}")
    if target.is_relative_to(inside):
        return None
    return SpecError(name, 1, 1, "-", "", f"symlink to {target}, outside the source root {inside}: not read")


def is_spec_path(path: str) -> bool:
    """A .yaml/.yml file outside hidden folders (.git, .trimtab never hold specs)."""
    parts = path.split("/")
    return parts[-1].endswith(SPEC_SUFFIXES) and not any(part.startswith(".") for part in parts)


class DirectorySource(Source):
    """A directory tree, watched for file events (polling where none come); the revision is a content hash."""

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
        await self._watcher.start()

    async def close(self) -> None:
        await self._watcher.close()

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
