"""Checks across specs, and the dependency graph that orders reconciliation.

Per-document validation cannot see duplicates, two specs claiming one AWS resource, references
to specs that do not exist or are of the wrong kind, reference cycles, or rules that span two
specs (a FIFO queue's dead-letter queue must be FIFO too). This module can.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from controller.api.envelope import Resource
from controller.api.errors import SpecError
from controller.api.fields import Ref, find_references, share_fields_sets
from controller.api.yamldoc import Document, KeptDocument, parse_path
from controller.kinds.registry import GRANTS, PAIR_RULES


@dataclass(frozen=True)
class SpecRecord:
    """A validated spec and the document it came from."""

    resource: Resource
    document: Document | KeptDocument

    @classmethod
    def kept(cls, resource: Resource, document: Document) -> SpecRecord:
        """The record as a revision keeps it: its document slimmed to what later errors need, its
        models sharing their fields-sets."""
        share_fields_sets(resource)
        return cls(resource, document.kept())

    @property
    def key(self) -> str:
        return self.resource.key

    @cached_property
    def generation(self) -> str:
        """A hash of the spec, standing in for Kubernetes' metadata.generation (cached, like references)."""
        document = self.resource.model_dump(mode="json", by_alias=True)
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:12]

    @cached_property
    def references(self) -> tuple[tuple[str, Ref], ...]:
        """(field path, reference) of every reference in the spec; kept with the record, which the parse
        cache reuses while its file is unchanged, so a one-file edit does not walk every spec again."""
        return tuple(find_references(self.resource.spec))

    def error(self, field_path: str, message: str) -> SpecError:
        return self.document.error_at(parse_path(field_path), self.key, message)


@dataclass
class SpecGraph:
    """The specs that passed every check, their dependencies, and the errors of those that did not."""

    records: dict[str, SpecRecord] = field(default_factory=dict)
    # Tuples, not sets: most specs need none or one other, and a set is 216 bytes even when empty.
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)
    # Keys of specs that exist in the source but are invalid: dependents wait for them.
    invalid_keys: set[str] = field(default_factory=set)
    # Policy statements granted to a spec by the specs that refer to it (an SQS subscription's in its
    # queue's policy): key -> statements, for the few specs that have any.
    grants: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)

    @property
    def known_grants(self) -> dict[str, tuple[dict[str, Any], ...]] | None:
        """The grants, or None while the revision has invalid specs: an invalid subscription (or its
        invalid topic) still exists in AWS and still needs its statement, which no one can compute now."""
        return None if self.invalid_keys else self.grants

    def generation(self, key: str) -> str:
        """The spec's generation, and the statements others grant in it: a subscription added or removed
        changes its queue's desired policy, so the queue is reconciled as changed."""
        generation = self.records[key].generation
        if key not in self.grants:
            return generation
        granted = json.dumps(self.grants[key], sort_keys=True).encode()
        return hashlib.sha256(generation.encode() + granted).hexdigest()[:12]

    @cached_property
    def dependents(self) -> dict[str, tuple[str, ...]]:
        """The reverse of `dependencies`: for each key, the keys that wait for it."""
        reverse: dict[str, list[str]] = {}
        for key, needs in self.dependencies.items():
            for needed in needs:
                reverse.setdefault(needed, []).append(key)
        return {key: tuple(waiting) for key, waiting in reverse.items()}

    def critical_first(self, keys: Iterable[str]) -> list[str]:
        """`keys`, those heading the longest chains of dependents first (critical-path list scheduling):
        a scalable target before its policies before their alarms, so a cold start does not finish
        with one slow chain, and dependents rarely run before what they need."""
        chain = self._chain_lengths
        return sorted(keys, key=lambda key: -chain.get(key, 0))

    @cached_property
    def _chain_lengths(self) -> dict[str, int]:
        """For each key, the length of the longest chain of dependents below it (0: nothing waits on it)."""
        lengths: dict[str, int] = {}
        entered: set[str] = set()  # guards against a cycle, which build_graph has already rejected
        for root in self.dependents:
            stack = [(root, False)]
            while stack:  # iterative post-order: a chain can be longer than Python's recursion limit
                key, expanded = stack.pop()
                if key in lengths:
                    continue
                waiting = [d for d in self.dependents.get(key, ()) if d not in lengths and d not in entered]
                if expanded or not waiting:
                    lengths[key] = 1 + max((lengths.get(d, 0) for d in self.dependents.get(key, ())), default=-1)
                else:
                    entered.add(key)
                    stack.append((key, True))
                    stack.extend((d, False) for d in waiting)
        return lengths


def build_graph(records: Iterable[SpecRecord], invalid_keys: Iterable[str] = ()) -> SpecGraph:
    graph = SpecGraph(invalid_keys=set(invalid_keys))
    candidates = _drop_duplicates(list(records), graph)
    _drop_shared_resources(candidates, graph)
    by_key = {record.key: record for record in candidates}
    names_by_kind: dict[str, set[str]] = {}
    for record in candidates:
        names_by_kind.setdefault(record.resource.KIND, set()).add(record.resource.metadata.name)
    for key in graph.invalid_keys:
        kind, _, name = key.partition("/")
        names_by_kind.setdefault(kind, set()).add(name)

    rejected: set[str] = set()
    for record in candidates:
        needs: set[str] = set()
        for path, ref in record.references:
            problem = _reference_problem(ref, names_by_kind)
            if problem:
                graph.errors.append(record.error(path, problem))
                rejected.add(record.key)
            needs.add(str(ref))
        graph.dependencies[record.key] = tuple(sorted(needs))
    for key in _cycle_members(graph.dependencies):
        record = by_key[key]
        path, ref = next((p, r) for p, r in record.references
                         if _reaches(graph.dependencies, str(r), key))
        graph.errors.append(record.error(path, f"reference cycle through {ref}"))
        rejected.add(key)
    for record in candidates:
        for rule in PAIR_RULES[record.resource.KIND]:
            violation = rule(record, by_key)
            if violation:
                graph.errors.append(record.error(*violation))
                rejected.add(record.key)

    for key in rejected:
        graph.dependencies.pop(key, None)
        graph.invalid_keys.add(key)
    graph.records = {key: record for key, record in by_key.items() if key not in rejected}
    # By Sid: two subscriptions of one topic (one the other's dead-letter queue) grant it once.
    granted: dict[str, dict[str, dict[str, Any]]] = {}
    for record in graph.records.values():
        for grant in GRANTS:
            for key, statement in grant(record, graph.records):
                if key in graph.records:
                    granted.setdefault(key, {})[str(statement["Sid"])] = statement
    graph.grants = {key: tuple(statements[sid] for sid in sorted(statements)) for key, statements in granted.items()}
    graph.errors.sort()
    return graph


def _drop_duplicates(records: list[SpecRecord], graph: SpecGraph) -> list[SpecRecord]:
    first_seen: dict[str, SpecRecord] = {}
    duplicated: set[str] = set()
    for record in records:
        earlier = first_seen.get(record.key)
        if earlier is None:
            first_seen[record.key] = record
            continue
        duplicated.add(record.key)
        where = f"{earlier.document.file}:{earlier.document.start.line}"
        graph.errors.append(record.error("metadata.name", f"duplicate {record.key}; first defined at {where}"))
    # Neither copy is applied: trimtab cannot know which one the author meant.
    graph.invalid_keys.update(duplicated)
    return [record for record in first_seen.values() if record.key not in duplicated]


def _drop_shared_resources(records: list[SpecRecord], graph: SpecGraph) -> None:
    owners: dict[tuple[str, str], SpecRecord] = {}
    for record in list(records):
        identity = (record.resource.KIND, record.resource.external_name())
        earlier = owners.get(identity)
        if earlier is None:
            owners[identity] = record
            continue
        graph.errors.append(record.error(
            "metadata.name",
            f"maps to the same AWS resource as {earlier.key} ({earlier.document.file}:"
            f"{earlier.document.start.line}): {identity[1]}",
        ))
        records.remove(record)
        graph.invalid_keys.add(record.key)


def _reference_problem(ref: Ref, names_by_kind: dict[str, set[str]]) -> str | None:
    if ref.name in names_by_kind.get(ref.kind, set()):
        return None
    elsewhere = sorted(kind for kind, names in names_by_kind.items() if ref.name in names)
    if elsewhere:
        return f"refers to {ref}, but {ref.name!r} is a {' and a '.join(elsewhere)}, not a {ref.kind}"
    return f"refers to {ref}, which is not defined in the source"


def _reaches(dependencies: dict[str, tuple[str, ...]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    stack = [start]
    while stack:
        key = stack.pop()
        if key == goal:
            return True
        if key in seen:
            continue
        seen.add(key)
        stack.extend(dependencies.get(key, ()))
    return False


def _cycle_members(dependencies: dict[str, tuple[str, ...]]) -> list[str]:
    return sorted(key for key, needs in dependencies.items() if any(_reaches(dependencies, n, key) for n in needs))
