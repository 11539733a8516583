"""From a set of files to validated desired state: parse, validate, cross-check, and fingerprint."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
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


def fingerprint(files: Mapping[str, bytes]) -> str:
    """A content hash of the tree, standing in for a commit SHA where there is no git."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:12]


def parse_files(files: Mapping[str, bytes], revision: str | None = None, limits: Limits | None = None) -> DesiredState:
    records: list[SpecRecord] = []
    errors: list[SpecError] = []
    invalid_keys: set[str] = set()
    for name in sorted(files):
        documents, load_errors = load_documents(files[name], name, limits)
        errors.extend(load_errors)
        for document in documents:
            resource, problems = parse_document(document)
            if resource is None:
                errors.extend(problems)
                subject = problems[0].subject if problems else "-"
                if "?" not in subject and subject != "-":
                    invalid_keys.add(subject)
                continue
            records.append(SpecRecord(resource, document))
    graph = build_graph(records, invalid_keys)
    graph.errors = sorted(errors + graph.errors)
    return DesiredState(revision or fingerprint(files), graph, len(files))
