"""trimtab installs and runs outside its checkout: the wheel, built from exactly what deploy/Dockerfile copies
into the image, installed into a fresh virtual environment that holds its declared dependencies and
nothing else, runs from a directory that is not the checkout.

Offline and fast: the wheel is built without build isolation, and the fresh environment links the
distributions its dependencies resolve to (markers evaluated, extras followed) from the project's own
environment instead of downloading them, so an import that no declared dependency provides fails here
as it would after `pipx install`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO
from tests.helpers import EXAMPLE_FILES, EXAMPLE_SPECS

DOCKERFILE = REPO / "deploy" / "Dockerfile"


def _dockerfile_sources() -> list[str]:
    """What the image's build stage copies from the build context (COPY without --from)."""
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(word.startswith("--from") for word in words):
            sources += [word.rstrip("/") for word in words[1:-1]]
    return sources


def _build_wheel(tmp_path: Path) -> Path:
    context = tmp_path / "context"
    context.mkdir()
    for source in _dockerfile_sources():
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / source, context / source)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "dist"), str(context)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("trimtab-*.whl")
    return wheel


def _declared_closure(wheel: Path) -> dict[str, metadata.Distribution]:
    """The installed distributions the wheel's Requires-Dist resolves to here, without any extra."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(entry for entry in archive.namelist() if entry.endswith(".dist-info/METADATA"))
        pending = [(text, frozenset[str]()) for text in Parser().parsestr(archive.read(name).decode())
                   .get_all("Requires-Dist", [])]
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        text, extras = pending.pop()
        requirement = Requirement(text)
        if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra}) for extra in extras or {""}):
            continue
        key = canonicalize_name(requirement.name)
        wanted = frozenset(requirement.extras)
        if (key, wanted) in seen:
            continue
        seen.add((key, wanted))
        found[key] = distribution = metadata.distribution(requirement.name)
        pending += [(inner, wanted) for inner in distribution.requires or []]
    return found


def _fresh_environment(tmp_path: Path, wheel: Path) -> Path:
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True, timeout=60)
    site = Path(subprocess.run(
        [str(environment / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    for distribution in _declared_closure(wheel).values():
        for top in {Path(str(file)).parts[0] for file in distribution.files or []} - {"..", "__pycache__"}:
            if not (site / top).exists():
                (site / top).symlink_to(distribution.locate_file(top))
    pip = [sys.executable, "-m", "pip", "--python", str(environment / "bin" / "python")]
    for step in (["install", "--quiet", "--no-index", "--no-deps", str(wheel)], ["check"]):
        done = subprocess.run([*pip, *step], capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    return environment


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    environment = _fresh_environment(tmp_path, _build_wheel(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(REPO / "specs", elsewhere / "specs")

    def trimtab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(environment / "bin" / "trimtab"), *args], cwd=elsewhere, capture_output=True,
                              text=True, timeout=120, check=False)

    validated = trimtab("validate", "specs/")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert f"{EXAMPLE_SPECS} specs in {EXAMPLE_FILES} file(s) are valid" in validated.stdout
    where = subprocess.run([str(environment / "bin" / "python"), "-c", "import controller; print(controller.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(environment), where  # the wheel's copy, not the checkout's
    # The embedded emulator is the `local` extra, not installed here: one line says how to add it.
    local = trimtab("plan", "--local", "specs/")
    assert local.returncode == 1
    assert local.stderr.count("\n") == 1 and "trimtab[local]" in local.stderr, local.stderr


def test_the_image_runs_trimtab_as_its_command() -> None:
    # `docker run IMAGE plan ...`: the arguments after the image replace CMD and go to trimtab.
    entrypoint = next(line for line in DOCKERFILE.read_text().splitlines() if line.startswith("ENTRYPOINT"))
    assert entrypoint == 'ENTRYPOINT ["trimtab"]'
