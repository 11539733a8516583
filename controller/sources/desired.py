"""From a set of files to validated desired state: parse, validate, cross-check, and fingerprint."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controller.api.errors import SpecError
from controller.api.graph import SpecGraph, SpecRecord, build_graph
from controller.api.validation import parse_document
from controller.api.yamldoc import Limits, load_documents


@dataclass(frozen=True)
class DesiredState:
    """One revision of the source, parsed. `complete` is false when any file or spec was invalid."""

    revision: str
    graph: SpecGraph
    file_count: int

    @property
    def errors(self) -> list[SpecError]:
        return self.graph.errors

    @property
    def complete(self) -> bool:
        return not self.graph.errors

    @property
    def empty(self) -> bool:
        """No spec and no error: every file held nothing but whitespace, comments or bare `---`.
        Sources treat this like a tree without files: it says nothing, least of all "delete everything"."""
        return not self.graph.records and not self.graph.errors


def fingerprint(files: Mapping[str, bytes]) -> str:
    """A content hash of the tree, standing in for a commit SHA where there is no git."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class ParsedFile:
    records: tuple[SpecRecord, ...]
    errors: tuple[SpecError, ...]
    invalid_keys: frozenset[str]


class ParseCache:
    """Parsed files by (name, content hash): a source re-parses only the files that changed, which
    keeps change latency flat as the number of specs grows. Holds only the latest revision's files."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, bytes], ParsedFile] = {}

    def get(self, name: str, content: bytes, limits: Limits | None) -> ParsedFile:
        key = (name, hashlib.sha256(content).digest())
        found = self._files.get(key)
        if found is None:
            found = self._files[key] = _parse_file(name, content, limits)
        return found

    def keep_only(self, files: Mapping[str, bytes]) -> None:
        wanted = {(name, hashlib.sha256(content).digest()) for name, content in files.items()}
        self._files = {key: value for key, value in self._files.items() if key in wanted}


def _parse_file(name: str, content: bytes, limits: Limits | None) -> ParsedFile:
    records: list[SpecRecord] = []
    documents, errors = load_documents(content, name, limits)
    invalid_keys: set[str] = set()
    for document in documents:
        resource, problems = parse_document(document)
        if resource is None:
            errors.extend(problems)
            subject = problems[0].subject if problems else "-"
            if "?" not in subject and subject != "-":
                invalid_keys.add(subject)
            continue
        records.append(SpecRecord.kept(resource, document))
    return ParsedFile(tuple(records), tuple(errors), frozenset(invalid_keys))


def parse_files(
    files: Mapping[str, bytes], revision: str | None = None, limits: Limits | None = None,
    cache: ParseCache | None = None, unread: Sequence[SpecError] = (),
) -> DesiredState:
    """`unread`: errors for files the source refused to read (they make the revision incomplete)."""
    records: list[SpecRecord] = []
    errors: list[SpecError] = list(unread)
    invalid_keys: set[str] = set()
    for name in sorted(files):
        parsed = cache.get(name, files[name], limits) if cache else _parse_file(name, files[name], limits)
        records.extend(parsed.records)
        errors.extend(parsed.errors)
        invalid_keys |= parsed.invalid_keys
    if cache:
        cache.keep_only(files)
    graph = build_graph(records, invalid_keys)
    graph.errors = sorted(errors + graph.errors)
    return DesiredState(revision or fingerprint(files), graph, len(files))
