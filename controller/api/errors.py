"""Spec errors: one line a human can act on, naming file, line, column, kind/name and field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class SpecError:
    file: str
    line: int
    column: int
    subject: str  # "Kind/name", or "-" when the document has no recognisable kind or name
    field: str  # dotted field path, or "" for the whole document
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {self.subject}: {field}{self.message}"
