"""The lock files say what pyproject.toml declares, and the controller imports only what it declares.

requirements.lock is what the image installs (deploy/Dockerfile): the [project] dependencies and
theirs, nothing else. requirements-dev.lock is those same pins plus the [dev] extra's, which `make`
installs. Both are written by `make lock` (uv pip compile --generate-hashes) and installed with
--require-hashes; these tests fail when pyproject.toml has moved on and the locks were not recompiled.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tests.conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
SELF = canonicalize_name(PROJECT["name"])
RUNTIME_LOCK, DEV_LOCK = REPO / "requirements.lock", REPO / "requirements-dev.lock"
# Named so that a failure reads plainly; the closure test below catches any other stray package.
DEV_ONLY = ("pytest", "moto", "flask", "hypothesis", "mypy", "ruff", "uv", "docker", "sympy", "cfn-lint")


@dataclass(frozen=True)
class Pin:
    version: str
    marker: str  # "" when the pin holds everywhere
    hashes: frozenset[str]


def read_lock(path: Path) -> dict[NormalizedName, Pin]:
    """`name==version [; marker]` entries, each with its --hash options, as uv writes them."""
    entries, current = [], ""
    for line in path.read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):  # the header, and uv's "# via" notes
            continue
        current += " " + text.removesuffix("\\").strip()
        if not text.endswith("\\"):
            entries.append(current.strip())
            current = ""
    assert not current, f"{path.name}: the last entry ends in a continuation"
    pins: dict[NormalizedName, Pin] = {}
    for entry in entries:
        requirement_text, *options = entry.split(" --")
        assert all(option.startswith("hash=sha256:") for option in options), f"{path.name}: {entry}"
        requirement = Requirement(requirement_text)
        (specifier, *more) = list(requirement.specifier)
        assert specifier.operator == "==" and not more, f"{path.name}: {requirement_text} is not one exact pin"
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{path.name}: {name} pinned twice"
        pins[name] = Pin(specifier.version, str(requirement.marker or ""),
                         frozenset(option.removeprefix("hash=") for option in options))
    return pins


RUNTIME, DEV = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)


def _expand(requirements: Iterable[str]) -> list[Requirement]:
    """Requirements with trimtab's own extras (`trimtab[local]` in [dev]) replaced by what they list."""
    found = []
    for text in requirements:
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) == SELF:
            found += _expand(item for extra in requirement.extras for item in PROJECT["optional-dependencies"][extra])
        else:
            found.append(requirement)
    return found


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda path: path.name)
def test_every_entry_is_one_exact_pin_with_hashes(lock: Path) -> None:
    pins = read_lock(lock)
    assert pins
    unhashed = sorted(name for name, pin in pins.items() if not pin.hashes)
    assert not unhashed, f"{lock.name}: no --hash for {unhashed}; run `make lock`"
    assert SELF not in pins  # trimtab installs from the checkout, after the lock (--no-deps)


def _unpinned(requirements: list[Requirement], pins: dict[NormalizedName, Pin]) -> list[str]:
    return [str(requirement) for requirement in requirements
            if (pin := pins.get(canonicalize_name(requirement.name))) is None
            or not requirement.specifier.contains(pin.version, prereleases=True)]


def test_the_runtime_lock_pins_every_declared_dependency_within_its_range() -> None:
    assert _unpinned(_expand(PROJECT["dependencies"]), RUNTIME) == [], "run `make lock`"


def test_the_dev_lock_pins_every_dev_dependency_within_its_range() -> None:
    assert _unpinned(_expand(PROJECT["optional-dependencies"]["dev"]), DEV) == [], "run `make lock`"


def test_the_dev_lock_repeats_every_runtime_pin_exactly() -> None:
    # The tests run on the versions the image ships: same version, same marker, same hashes.
    differing = sorted(name for name, pin in RUNTIME.items() if DEV.get(name) != pin)
    assert differing == [], "run `make lock`"


def _closure(requirements: list[Requirement], honour_markers: bool) -> set[NormalizedName]:
    """The distributions `requirements` lead to, from the installed packages' metadata. Extras are
    followed only where asked for; other markers are evaluated here, or taken as true everywhere (what
    a lock for any platform may hold)."""
    pending = [(requirement, frozenset[str]()) for requirement in requirements]
    seen: set[tuple[NormalizedName, frozenset[str]]] = set()
    while pending:
        requirement, extras = pending.pop()
        marker = requirement.marker
        if marker is not None and (honour_markers or "extra" in str(marker)) and not any(
                marker.evaluate({"extra": extra}) for extra in extras or {""}):
            continue
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.distribution(requirement.name).requires or []
        except metadata.PackageNotFoundError:
            assert not honour_markers, f"{requirement.name} is needed here but not installed: run `make`"
            continue  # for another platform (pywin32): the lock holds it, but its own needs are not followed
        pending += [(Requirement(text), key[1]) for text in requires]
    return {name for name, _ in seen}


def test_the_runtime_lock_holds_the_runtime_closure_and_nothing_else() -> None:
    declared = _expand(PROJECT["dependencies"])
    assert sorted(set(DEV_ONLY) & set(RUNTIME)) == []
    missing = _closure(declared, honour_markers=True) - set(RUNTIME)
    assert sorted(missing) == [], "needed by the runtime dependencies but not locked: run `make lock`"
    stray = set(RUNTIME) - _closure(declared, honour_markers=False)
    assert sorted(stray) == [], "locked for the image but needed by no runtime dependency: run `make lock`"


def test_the_dev_lock_holds_the_dev_closure_and_nothing_else() -> None:
    declared = _expand([*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]])
    assert sorted(_closure(declared, honour_markers=True) - set(DEV)) == [], "run `make lock`"
    assert sorted(set(DEV) - _closure(declared, honour_markers=False)) == [], "run `make lock`"


def _imported_top_levels(folder: Path) -> dict[str, str]:
    """Top-level modules that `import` names outside the package and the standard library, each with
    one file that imports it."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top != folder.name:
                    found.setdefault(top, str(path.relative_to(REPO)))
    return found


EMULATOR_MODULES = {"controller/emulator.py"}


def test_the_controller_imports_only_declared_runtime_dependencies() -> None:
    # Importing a transitive dependency works until the package that brought it stops doing so:
    # what controller/ imports, pyproject.toml declares (and so the runtime lock pins).
    declared = {canonicalize_name(requirement.name) for requirement in _expand(PROJECT["dependencies"])}
    providers = metadata.packages_distributions()
    # The embedded emulator's module alone may import the `local` extra (moto): it checks that moto is
    # installed before it starts it, and says to install trimtab[local] when it is not.
    local = {canonicalize_name(requirement.name) for requirement in _expand(PROJECT["optional-dependencies"]["local"])}
    undeclared = {top: where for top, where in _imported_top_levels(REPO / "controller").items()
                  if not {canonicalize_name(name) for name in providers.get(top, [])} & declared
                  and not (where in EMULATOR_MODULES
                           and {canonicalize_name(name) for name in providers.get(top, [])} & local)}
    assert undeclared == {}, "imported under controller/ but not in [project] dependencies"
