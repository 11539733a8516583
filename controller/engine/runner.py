"""Run the reconciler over a whole spec graph: dependencies first, independent items in parallel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from controller.api.envelope import Resource
from controller.api.fields import Ref
from controller.api.graph import SpecGraph
from controller.engine.reconciler import CHANGING, Action, Outcome, Reconciler
from controller.engine.retire import retire
from controller.kinds.base import Outputs, RefResolver

DEFAULT_CONCURRENCY = 16


class DependencyNotReady(Exception):
    def __init__(self, ref: Ref, reason: str) -> None:
        super().__init__(f"waiting for {ref}: {reason}")
        self.ref = ref


class OutputsResolver(RefResolver):
    """Resolves references from the outputs of dependencies reconciled earlier in this run.

    In a dry run, a dependency that is yet to be created has no outputs; its values show as
    placeholders, as Terraform's "(known after apply)".
    """

    def __init__(self, outputs: dict[str, Outputs], dry_run: bool,
                 grants: Mapping[str, tuple[dict[str, Any], ...]] | None = MappingProxyType({})) -> None:
        self._outputs = outputs
        self._dry_run = dry_run
        self._grants = grants  # None: not known (SpecGraph.known_grants)

    def granted(self, key: str) -> tuple[dict[str, Any], ...] | None:
        return None if self._grants is None else self._grants.get(key, ())

    def output(self, ref: Ref, key: str) -> str:
        values = self._outputs.get(str(ref))
        if values is not None and key in values:
            return values[key]
        if self._dry_run:
            return f"(known after apply: {ref}.{key})"
        raise DependencyNotReady(ref, f"it has no output {key!r} yet")


@dataclass
class RunResult:
    outcomes: dict[str, Outcome]

    def count(self, action: Action, *, applied: bool | None = None) -> int:
        return sum(
            1 for outcome in self.outcomes.values()
            if outcome.action is action and (applied is None or outcome.applied == applied)
        )

    @property
    def in_sync(self) -> bool:
        # Pending: nothing trimtab can change until someone outside confirms (an email subscription).
        return all(outcome.action in (Action.IN_SYNC, Action.PENDING) for outcome in self.outcomes.values())

    @property
    def failed(self) -> bool:
        return any(
            outcome.action in (Action.CONFLICT, Action.ERROR, Action.BLOCKED) for outcome in self.outcomes.values()
        )


async def run_graph(
    graph: SpecGraph,
    reconciler: Reconciler,
    *,
    dry_run: bool,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> RunResult:
    outputs: dict[str, Outputs] = {}
    done: dict[str, asyncio.Event] = {key: asyncio.Event() for key in graph.records}
    outcomes: dict[str, Outcome] = {}
    slots = asyncio.Semaphore(concurrency)
    resolver = OutputsResolver(outputs, dry_run, graph.known_grants)

    async def run_one(key: str) -> None:
        try:
            for needed in sorted(graph.dependencies.get(key, ())):
                if needed in done:
                    await done[needed].wait()
            outcome = _blocked(key, graph, outcomes, dry_run)
            if outcome is None:
                async with slots:
                    outcome = await reconciler.reconcile(graph.records[key].resource, resolver, dry_run=dry_run)
                if outcome.ready or outcome.action is Action.UPDATE:
                    outputs[key] = outcome.outputs
                if outcome.applied and outcome.replaced:
                    await _retire_replaced(outcome, reconciler)
            outcomes[key] = outcome
            if on_outcome is not None:
                on_outcome(outcome)
        finally:
            done[key].set()

    await _prefetch(graph, reconciler)
    async with asyncio.TaskGroup() as group:
        for key in graph.records:
            group.create_task(run_one(key))
    return RunResult(dict(sorted(outcomes.items())))


async def _retire_replaced(outcome: Outcome, reconciler: Reconciler) -> None:
    """`apply` of a renamed identity: the new resource is ready, so the old one is deleted (if owned and
    deletionPolicy Delete) or forgotten; what happened is added to the outcome's message."""
    notes = []
    for entry in outcome.replaced:
        old = entry.identity.get("name", json.dumps(entry.identity))
        try:
            result, why = await retire(entry, reconciler.clients[entry.kind], reconciler.store,
                                       reconciler.controller_id, delete=entry.deletion_policy == "Delete")
            notes.append(f"old {old}: {result.value}" + (f" ({why})" if why else ""))
        except Exception as error:  # the new one stands; the old one stays in the inventory for `run`
            notes.append(f"old {old}: delete failed: {error}")
    outcome.message = "; ".join([outcome.message, *notes]) if outcome.message else "; ".join(notes)


async def _prefetch(graph: SpecGraph, reconciler: Reconciler) -> None:
    """Let each kind read its resources in full batches (100 alarms per call) before the workers start."""
    by_kind: dict[str, list[Resource]] = {}
    for record in graph.records.values():
        by_kind.setdefault(record.resource.KIND, []).append(record.resource)
    try:
        async with asyncio.TaskGroup() as group:
            for kind, resources in by_kind.items():
                group.create_task(reconciler.clients[kind].prefetch(resources))
    except* Exception:  # an optimisation only: each observe then reads, and reports errors, on its own
        pass


def _blocked(key: str, graph: SpecGraph, outcomes: dict[str, Outcome], dry_run: bool) -> Outcome | None:
    """An outcome for an item whose dependencies cannot be used, or None when it may proceed."""
    for needed in sorted(graph.dependencies.get(key, ())):
        if needed in graph.invalid_keys:
            return Outcome(key, Action.BLOCKED, message=f"waiting for {needed}: its spec is invalid")
        result = outcomes.get(needed)
        if result is None:
            return Outcome(key, Action.BLOCKED, message=f"waiting for {needed}: it was not reconciled")
        usable = result.ready or (dry_run and result.action in CHANGING)
        if not usable:
            reason = result.message or result.action.value
            return Outcome(key, Action.BLOCKED, message=f"waiting for {needed}: {result.action.value}: {reason}")
    return None
