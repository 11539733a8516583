"""`trimtab docs`: write (or check) the spec, configuration and CLI references, and the stack's task role."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from controller.api.reference import render as render_reference
from controller.cli import stack_template
from controller.cli.cli_reference import render_cli_reference
from controller.cli.config_reference import render_configuration
from controller.cli.generated import write_or_check
from controller.kinds.registry import MODELS

Subparsers = Any
Registrations = Iterable[Callable[[Subparsers], None]]


def _examples(root: Path) -> dict[str, list[str]]:
    """Per kind, example specs under `root` (as written, comments dropped) that together show every field
    any example sets (as the kind's AWS_PARAMS name them): the fullest first, then each that adds the most
    fields not yet shown."""
    candidates: dict[str, list[tuple[str, set[str]]]] = {}
    for path in sorted(root.rglob("*.yaml")):
        for text in path.read_text().split("\n---\n"):
            body = "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip("\n")
            document = yaml.safe_load(body) if body else None
            if not isinstance(document, dict) or document.get("kind") not in MODELS:
                continue
            kind = document["kind"]
            fields = _paths(document.get("spec")) & set(MODELS[kind].AWS_PARAMS)  # not map keys, not policies'
            candidates.setdefault(kind, []).append((body, fields))
    examples: dict[str, list[str]] = {}
    for kind, found in candidates.items():
        shown: set[str] = set()
        chosen = examples.setdefault(kind, [])
        while True:
            body, fields = max(found, key=lambda candidate: (len(candidate[1] - shown), len(candidate[0])))
            if chosen and not fields - shown:
                break
            chosen.append(body)
            shown |= fields
    return examples


def _paths(node: Any, prefix: str = "") -> set[str]:
    """Every key path under `node` (`logging`, `logging.targetPrefix`, `lifecycleRules[].id`, ...)."""
    if isinstance(node, list):
        return {path for item in node for path in _paths(item, f"{prefix}[]")}
    if not isinstance(node, dict):
        return set()
    paths: set[str] = set()
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        paths |= {path, *_paths(value, path)}
    return paths


def _docs(args: argparse.Namespace, registrations: Registrations) -> int:
    wanted = {args.out: render_reference(_examples(args.specs)), args.config_out: render_configuration(),
              args.cli_out: render_cli_reference(registrations)}
    if args.task_role_template.exists():  # the stack ships in the repository, not in the package
        wanted[args.task_role_template] = stack_template.regenerated(args.task_role_template.read_text())
    return write_or_check(wanted, args.check, "trimtab docs")


def register_docs(subcommands: Subparsers, registrations: Registrations) -> None:
    """`registrations`: every command's, for the CLI reference (commands.py, which lists this one too)."""
    parser = subcommands.add_parser(
        "docs", help="write (or check) the spec, configuration and CLI references, and the stack's generated parts",
        description="Generate the spec reference (every field of every kind) from the models, "
                    "with examples of each kind taken from the example specs (together showing every field they set), "
                    "and the config file "
                    "reference from the flags of `trimtab run`, and the CLI reference from every command's --help; "
                    "and rewrite the ECS stack's parts that follow from the kinds: the task role's statements "
                    "(`trimtab iam-policy`) and the events rule's pattern.",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/spec-reference.md"), help="default: %(default)s")
    parser.add_argument("--config-out", type=Path, default=Path("docs/configuration.md"),
                        help="the config file reference (default: %(default)s)")
    parser.add_argument("--cli-out", type=Path, default=Path("docs/cli.md"),
                        help="the CLI reference, every command's --help (default: %(default)s)")
    parser.add_argument("--specs", type=Path, default=Path("specs"), help="examples (default: %(default)s)")
    parser.add_argument("--task-role-template", type=Path, default=stack_template.TEMPLATE,
                        help="the CloudFormation stack whose task role statements and events rule pattern are "
                             "generated, between their marker comments (default: %(default)s; skipped when absent)")
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is stale")
    parser.set_defaults(handler=lambda args: _docs(args, registrations))
