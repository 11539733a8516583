"""What crds and docs share: write generated files, or check that they are up to date."""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_OK, EXIT_ERROR = 0, 1


def write_or_check(wanted: dict[Path, str], check: bool, command: str, unexpected: list[Path] | None = None) -> int:
    """Write generated files, or with `check` report (exit 1) those that differ from what would be written."""
    if check:
        stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"{path}: stale or missing; run `{command}`", file=sys.stderr)
        for path in unexpected or []:
            print(f"{path}: not generated from any model; remove it", file=sys.stderr)
        if stale or unexpected:
            return EXIT_ERROR
        print(f"{len(wanted)} generated file(s) are up to date")
        return EXIT_OK
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(wanted)} file(s)")
    return EXIT_OK
