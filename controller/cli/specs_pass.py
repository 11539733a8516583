"""What validate, plan and apply share: load the specs (every error printed), and for plan and apply,
one pass of the reconciler over them, its report and its exit code."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from controller.cli.output import print_applied_item, print_plan_item, summary
from controller.cli.plan_report import plan_document, plan_markdown
from controller.cli.session import ecs_services_of, open_session
from controller.engine.runner import RunResult, run_graph
from controller.sources.base import SourceError
from controller.sources.desired import DesiredState
from controller.sources.directory import load_directory

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def load_specs(path: Path) -> DesiredState | None:
    """Load and validate a source, printing every error; None when the source cannot be read."""
    try:
        state = load_directory(path)
    except SourceError as error:
        print(f"trimtab: {error}", file=sys.stderr)
        return None
    for problem in state.errors:
        print(problem, file=sys.stderr)
    return state


async def plan_or_apply(args: argparse.Namespace, dry_run: bool) -> int:
    state = load_specs(args.path)
    if state is None:
        return EXIT_ERROR
    report = getattr(args, "format", "text")
    async with open_session(args, ecs_services_of(state.graph)) as session:
        if dry_run:
            result = await run_graph(state.graph, session.reconciler, dry_run=True, concurrency=args.concurrency)
            if report == "text":
                for outcome in result.outcomes.values():
                    print_plan_item(outcome, args.verbose)
        else:
            total = len(state.graph.records)
            print(f"trimtab: applying {total} specs (revision {state.revision})", file=sys.stderr)
            done = itertools.count(1)
            result = await run_graph(
                state.graph, session.reconciler, dry_run=False, concurrency=args.concurrency,
                on_outcome=lambda outcome: print_applied_item(outcome, progress=f"[{next(done)}/{total}]"),
            )
        stats = session.aws.stats
    exit_code = _exit_code(state, result, dry_run)
    if report == "json":
        print(json.dumps(plan_document(result, state, exit_code), indent=2))
    elif report == "markdown":
        print(plan_markdown(result, state, exit_code))
    else:
        print(summary(result, dry_run=dry_run))
    print(f"AWS calls: {stats.total()} ({stats.total(mutating=True)} mutating)", file=sys.stderr)
    if state.errors:
        print(f"{len(state.errors)} invalid spec error(s); those specs were skipped", file=sys.stderr)
    return exit_code


def _exit_code(state: DesiredState, result: RunResult, dry_run: bool) -> int:
    if state.errors or result.failed:
        return EXIT_ERROR
    if dry_run and not result.in_sync:
        return EXIT_CHANGES
    return EXIT_OK


def add_concurrency(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=16, help="items reconciled at once (default: 16)")
