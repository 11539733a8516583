"""The git source: a branch, tag or commit of a remote repository, polled, fetched shallowly into the
state dir, and read as a whole commit, so desired state never mixes two commits.

Polling asks `git ls-remote` for the ref (cheap: no objects move) and fetches only when its commit
changed. A webhook or `trimtab resync --source` wakes the poll at once; wake-ups during a fetch
coalesce into one more fetch. A failed fetch keeps the last good commit live and retries with a
backoff that grows to the poll interval; an unreachable remote never empties desired state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from controller.api.yamldoc import Limits
from controller.sources.base import Source, SourceError, settle
from controller.sources.desired import DesiredState, ParseCache, parse_files
from controller.sources.directory import is_spec_path
from controller.sources.git_remote import GitRemote

COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
FIRST_RETRY_SECONDS = 2.0
WAKE_QUIET_SECONDS, WAKE_MAX_SETTLE_SECONDS = 0.2, 1.0
_TRACKING_REF = "refs/trimtab/tracked"
_SYMLINK_MODE = "120000"


@dataclass(frozen=True)
class GitSettings:
    ref: str | None = None  # branch, tag or full commit SHA; None: the remote's default branch
    path: str = ""  # the subdirectory holding the specs
    poll_seconds: float = 60.0


class GitSource(Source):
    def __init__(self, remote: GitRemote, settings: GitSettings, cache_root: Path,
                 limits: Limits | None = None) -> None:
        super().__init__()
        self.remote = remote
        self.settings = settings
        self.limits = limits or Limits()
        # One bare repository per remote URL, so switching sources never mixes their objects.
        self._repo = cache_root / hashlib.sha256(remote.url.encode()).hexdigest()[:16]
        self._wake = asyncio.Event()
        self._looking = False  # from the end of a wait (a wake or the poll) to the end of the load after it
        self._retry_after = 0.0
        self._state: DesiredState | None = None
        self._cache = ParseCache()
        self.tracked_ref: str | None = None  # the full ref followed, e.g. refs/heads/main

    @property
    def description(self) -> str:
        where = f"{self.remote.url}@{self.settings.ref or 'HEAD'}"
        return f"{where}:{self.settings.path}" if self.settings.path else where

    @property
    def poll_seconds(self) -> float | None:
        return self.settings.poll_seconds

    @property
    def pinned(self) -> bool:
        return bool(self.settings.ref and COMMIT_SHA.fullmatch(self.settings.ref))

    def tracks_ref(self, ref: str) -> bool:
        if self.pinned:
            return False  # a commit never moves
        return self.tracked_ref is None or ref == self.tracked_ref

    def request_fetch(self) -> None:
        self._wake.set()

    @property
    def fetch_pending(self) -> bool:
        return self._wake.is_set() or self._looking

    async def wait_for_change(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._retry_after or self.settings.poll_seconds)
        self._looking = True
        # Webhooks come in bursts (several pushes, retries, several hooks per repository): one fetch.
        await settle(self._wake, WAKE_QUIET_SECONDS, WAKE_MAX_SETTLE_SECONDS)

    async def load(self) -> DesiredState:
        try:
            return await self._load()
        finally:
            self._looking = False

    async def _load(self) -> DesiredState:
        try:
            commit = self.settings.ref if self.pinned else await self._resolve()
            assert commit is not None
            if self._state is None or commit != self._state.revision:
                commit = await self._fetch(commit)
                self._state = parse_files(await self._read(commit), revision=commit, limits=self.limits,
                                          cache=self._cache)
        except SourceError as error:
            self.fetches.failed(str(error))
            self._retry_after = min(max(FIRST_RETRY_SECONDS, self._retry_after * 2), self.settings.poll_seconds)
            raise
        self.fetches.succeeded()
        self._retry_after = 0.0
        return self._state

    async def _resolve(self) -> str:
        """The commit the ref points at now, by `git ls-remote`."""
        # Patterns match ref names from the end, so "main" finds refs/heads/main and refs/tags/main
        # without listing every ref of a large repository.
        patterns = [self.settings.ref, f"{self.settings.ref}^{{}}"] if self.settings.ref else ["HEAD"]
        listing = (await self.remote.git("ls-remote", "--symref", self.remote.url, *patterns)).decode()
        refs: dict[str, str] = {}
        default_branch = None
        for line in listing.splitlines():
            target, _, name = line.partition("\t")
            if target.startswith("ref: ") and name == "HEAD":
                default_branch = target.removeprefix("ref: ")
            else:
                refs[name] = target
        if default_branch and "HEAD" in refs:
            refs.setdefault(default_branch, refs["HEAD"])  # asked for HEAD only: its line stands for the branch
        wanted = self.settings.ref
        candidates = [default_branch or ""] if wanted is None else [wanted, f"refs/heads/{wanted}",
                                                                     f"refs/tags/{wanted}"]
        for name in candidates:
            if name in refs:
                self.tracked_ref = name
                return refs.get(f"{name}^{{}}", refs[name])  # an annotated tag: the commit it points at
        raise SourceError(f"ref {wanted or 'HEAD'!r} not found on {self.remote.url}")

    async def _fetch(self, commit: str) -> str:
        """A shallow fetch of just the wanted commit; returns the commit actually fetched."""
        if not (self._repo / "HEAD").exists():
            self._repo.parent.mkdir(parents=True, exist_ok=True)
            await self.remote.git("init", "--quiet", "--bare", str(self._repo))
        # By name where there is one: the ref may have moved since ls-remote, and fetching a bare
        # SHA needs the server to allow it (protocol v2 servers and GitHub do).
        wanted = commit if self.pinned or self.tracked_ref is None else self.tracked_ref
        await self.remote.git("fetch", "--quiet", "--depth", "1", "--no-tags", "--force", self.remote.url,
                              f"+{wanted}:{_TRACKING_REF}", cwd=self._repo)
        fetched = await self.remote.git("rev-parse", "--verify", f"{_TRACKING_REF}^{{commit}}", cwd=self._repo)
        return fetched.decode().strip()

    async def _read(self, commit: str) -> dict[str, bytes]:
        """Every spec file of one commit below the path, by path in the repository."""
        prefix = self.settings.path.strip("/")
        listing = await self.remote.git("ls-tree", "-r", "-z", "--full-tree", "-l", commit,
                                        *(["--", f"{prefix}/"] if prefix else []), cwd=self._repo)
        wanted: dict[str, tuple[str, int]] = {}
        for entry in filter(None, listing.split(b"\0")):
            meta, _, raw_name = entry.partition(b"\t")
            mode, kind, obj, size = meta.decode().split()
            name = raw_name.decode(errors="replace")
            if kind == "blob" and mode != _SYMLINK_MODE and is_spec_path(name.removeprefix(f"{prefix}/")):
                wanted[name] = (obj, int(size))
        # A commit without specs is a deliberate, complete statement (unlike an unreadable directory):
        # it loads as empty, and the mass-deletion guard holds the prune it implies for a person to confirm.
        files: dict[str, bytes] = {}
        small = {name: obj for name, (obj, size) in wanted.items() if size <= self.limits.max_file_bytes}
        for name in wanted:
            if name not in small:
                # Not read: the loader rejects a file by its size alone, so a stand-in of that size will do.
                files[name] = b" " * (self.limits.max_file_bytes + 1)
        if small:
            batch = await self.remote.git("cat-file", "--batch", cwd=self._repo,
                                          stdin="".join(f"{obj}\n" for obj in small.values()).encode())
            files.update(_split_batch(batch, list(small)))
        return files


def _split_batch(output: bytes, names: list[str]) -> dict[str, bytes]:
    """`git cat-file --batch` answers "<sha> <type> <size>\\n<content>\\n" per object, in order."""
    files, offset = {}, 0
    for name in names:
        header_end = output.index(b"\n", offset)
        size = int(output[offset:header_end].split()[2])
        files[name] = output[header_end + 1:header_end + 1 + size]
        offset = header_end + 1 + size + 1
    return files
