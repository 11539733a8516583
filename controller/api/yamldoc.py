"""Safe YAML loading that remembers where every value was written, with limits against hostile input.

PyYAML's composer gives nodes with marks; we build plain Python values from them ourselves so that
(1) each field path maps to a line and column for error messages, (2) aliases are counted as they
expand, which stops "billion laughs" documents early, and (3) duplicate keys are errors rather than
silently overwritten.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from controller.api.errors import SpecError

# The C loader is ~10x faster; fall back to pure Python where libyaml is missing.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 1024 * 1024
    max_nodes_per_file: int = 100_000  # counts alias expansions, so an alias bomb trips it
    max_depth: int = 64
    max_documents_per_file: int = 1_000


@dataclass(frozen=True, slots=True)  # one per YAML node: slots keep each small
class Position:
    line: int  # 1-based
    column: int  # 1-based


class _Located:
    """Something that can say where a field path was written."""

    __slots__ = ()  # so that KeptDocument, one per valid spec, stays without a __dict__
    file: str

    def position_of(self, path: PathKey) -> Position:
        raise NotImplementedError

    def error_at(self, path: PathKey, subject: str, message: str) -> SpecError:
        position = self.position_of(path)
        return SpecError(self.file, position.line, position.column, subject, format_path(path), message)


@dataclass
class Document(_Located):
    file: str
    index: int  # position of the document in its file, from 0
    data: Any
    start: Position
    positions: dict[PathKey, Position] = field(default_factory=dict)
    source: bytes | str = b""  # the whole file, shared by its documents (not copied)
    limits: Limits = field(default_factory=Limits)

    def position_of(self, path: PathKey) -> Position:
        """The position of the deepest prefix of `path` that was written in the file."""
        return _deepest(self.positions, path, self.start)

    def kept(self) -> KeptDocument:
        """What a valid spec keeps for errors found after parsing (references, cross-spec rules, AWS
        rejections): not its values and not its positions. Every valid spec lives as long as its
        revision, and the position map was most of its memory (10,000 specs: about 20 MiB); such errors
        are rare, so the file is parsed again to find the line when one happens."""
        return KeptDocument(self.file, self.index, self.start, self.source, self.limits)


@dataclass(frozen=True, slots=True)
class KeptDocument(_Located):
    file: str
    index: int
    start: Position
    source: bytes | str = field(repr=False)  # the file's content object, which the source holds anyway
    limits: Limits

    def position_of(self, path: PathKey) -> Position:
        positions = _positions_by_document(self.source, self.file, self.limits).get(self.index, {})
        return _deepest(positions, path, self.start)


def _deepest(positions: dict[PathKey, Position], path: PathKey, start: Position) -> Position:
    for length in range(len(path), 0, -1):
        found = positions.get(path[:length])
        if found is not None:
            return found
    return start


@functools.lru_cache(maxsize=4)  # errors come in runs from one file; the content's hash is cached by Python
def _positions_by_document(source: bytes | str, file: str, limits: Limits) -> dict[int, dict[PathKey, Position]]:
    documents, _ = load_documents(source, file, limits)
    return {document.index: document.positions for document in documents}


def format_path(path: PathKey) -> str:
    """("spec", "steps", 0, "lowerBound") -> "spec.steps[0].lowerBound"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def parse_path(dotted: str) -> PathKey:
    """The inverse of format_path."""
    parts: list[str | int] = []
    for segment in dotted.replace("]", "").split("."):
        name, *indexes = segment.split("[")
        if name:
            parts.append(name)
        parts.extend(int(index) for index in indexes)
    return tuple(parts)


class _Rejected(Exception):
    """The file is refused before or while building values: a limit, or a key YAML would overwrite."""

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.mark = mark


def _position(mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


class _Builder:
    """Turns one composed node tree into Python values, recording positions."""

    def __init__(self, loader: yaml.SafeLoader, limits: Limits, budget: list[int]) -> None:
        self._loader = loader
        self._limits = limits
        self._budget = budget  # shared across the file's documents: remaining node visits
        self.positions: dict[PathKey, Position] = {}

    def build(self, node: yaml.Node, path: PathKey, depth: int, key_mark: yaml.Mark | None) -> Any:
        self._budget[0] -= 1
        if self._budget[0] < 0:
            raise _Rejected(
                f"document expands to more than {self._limits.max_nodes_per_file} values "
                "(an alias bomb, or a file that should be split)",
                node.start_mark,
            )
        if depth > self._limits.max_depth:
            raise _Rejected(f"nesting deeper than {self._limits.max_depth} levels", node.start_mark)
        self.positions.setdefault(path, _position(key_mark or node.start_mark))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index), depth + 1, None) for index, item in enumerate(node.value)]
        return self._loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        self._loader.flatten_mapping(node)  # resolves `<<` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Rejected("mapping keys must be plain scalars", key_node.start_mark)
            key = self._loader.construct_object(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise _Rejected(f"duplicate key {key!r}", key_node.start_mark)
            result[key] = self.build(value_node, (*path, key), depth + 1, key_node.start_mark)
        return result


def load_documents(content: bytes | str, file: str, limits: Limits | None = None) -> tuple[
    list[Document], list[SpecError]
]:
    """Parse every document in one YAML file. Errors stop at the first broken document of the file."""
    limits = limits or Limits()
    source = content
    size = len(content)
    if size > limits.max_file_bytes:
        return [], [SpecError(file, 1, 1, "-", "", f"file is {size} bytes; the limit is {limits.max_file_bytes}")]
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as error:
            return [], [SpecError(file, 1, 1, "-", "", f"not UTF-8 text: {error.reason} at byte {error.start}")]
    too_deep = _nesting_problem(content, limits.max_depth)
    if too_deep is not None:
        line, message = too_deep
        return [], [SpecError(file, line, 1, "-", "", message)]
    documents: list[Document] = []
    loader = _Loader(content)
    budget = [limits.max_nodes_per_file]
    try:
        for index, node in enumerate(_nodes(loader)):
            if index >= limits.max_documents_per_file:
                raise _Rejected(f"more than {limits.max_documents_per_file} documents", node.start_mark)
            builder = _Builder(loader, limits, budget)
            data = builder.build(node, (), 0, None)
            if data is None:
                continue
            documents.append(Document(file, index, data, _position(node.start_mark), builder.positions, source, limits))
    except _Rejected as error:
        position = _position(error.mark)
        return documents, [SpecError(file, position.line, position.column, "-", "", str(error))]
    except yaml.MarkedYAMLError as error:
        position = _position(error.problem_mark)
        problem = error.problem or str(error)
        context = f" ({error.context})" if error.context else ""
        return documents, [SpecError(file, position.line, position.column, "-", "", f"YAML: {problem}{context}")]
    except yaml.YAMLError as error:
        return documents, [SpecError(file, 1, 1, "-", "", f"YAML: {error}")]
    except RecursionError:
        return documents, [SpecError(file, 1, 1, "-", "", "nesting too deep to parse")]
    finally:
        loader.dispose()
    return documents, []


def _nesting_problem(text: str, max_depth: int) -> tuple[int, str] | None:
    """Reject absurd nesting before libyaml sees it: its C composer recurses without a guard and
    crashes the process (a segfault, not an exception) on about 100,000 nested brackets.
    Brackets inside quoted strings count too: tracking quotes could be fooled, and no real spec
    nests 64 brackets deep inside a string."""
    max_indent = max_depth * 8
    depth, line = 0, 1
    at_line_start, indent = True, 0
    for char in text:
        if char == "\n":
            line, at_line_start, indent = line + 1, True, 0
            continue
        if at_line_start:
            if char == " ":
                indent += 1
                if indent > max_indent:
                    return line, f"indented more than {max_indent} spaces; nesting deeper than {max_depth} levels"
                continue
            at_line_start = False
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return line, f"nesting deeper than {max_depth} levels"
        elif char in "]}":
            depth = max(0, depth - 1)
    return None


def _nodes(loader: yaml.SafeLoader) -> Iterator[yaml.Node]:
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            yield node
