"""The committed lockfiles agree with the requirements they are compiled from.

The Makefile installs every virtualenv from a requirements*.lock, never from the .txt a person
edits: a pin changed in a .txt without `make lock` would change nothing that runs. These checks
read the files only (no network, no resolver).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT

INPUTS = sorted(path.name for path in ROOT.glob("requirements*.txt"))
LOCKS = sorted(path.name for path in ROOT.glob("requirements*.lock"))


def requirements(path: Path) -> list[Requirement]:
    """The requirements of a requirements file, following its ``-r`` includes."""
    found: list[Requirement] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            found += requirements(path.parent / line.removeprefix("-r ").strip())
            continue
        assert not line.startswith("-"), f"{path.name}: options belong in the Makefile: {line!r}"
        found.append(Requirement(line))
    return found


def locked(name: str) -> dict[str, Version]:
    """Package name -> the exact version a lockfile pins."""
    pins: dict[str, Version] = {}
    for line in (ROOT / name).read_text().splitlines():
        if not line or line[0] in " #":
            continue  # hashes, annotations and the header
        requirement = Requirement(line.removesuffix("\\").strip())
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{name}: {line!r} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = Version(specifier.version)
    return pins


def test_every_requirements_file_has_its_lockfile() -> None:
    assert INPUTS, "no requirements*.txt found"
    assert [name.removesuffix(".txt") + ".lock" for name in INPUTS] == LOCKS


@pytest.mark.parametrize("source", INPUTS)
def test_lockfile_satisfies_every_requirement_of_its_source(source: str) -> None:
    lock = source.removesuffix(".txt") + ".lock"
    pins = locked(lock)
    stale = [
        f"{requirement} (locked: {pins.get(canonicalize_name(requirement.name), 'missing')})"
        for requirement in requirements(ROOT / source)
        if not requirement.specifier.contains(
            pins.get(canonicalize_name(requirement.name), Version("0")), prereleases=True
        )
    ]
    assert not stale, f"{lock} is older than {source}: run `make lock`; {stale}"


def test_synth_packages_are_locked_at_the_versions_make_test_installs() -> None:
    # make synth installs requirements.lock, then make test syncs the same .venv to
    # requirements-dev.lock: a package locked differently would move back and forth.
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_every_locked_package_carries_its_hashes() -> None:
    # uv installs with --require-hashes: a package without one fails the install.
    for name in LOCKS:
        entries = (ROOT / name).read_text().split("\n")
        pinned = [i for i, line in enumerate(entries) if line and line[0] not in " #"]
        unhashed = [entries[i] for i in pinned if "--hash=sha256:" not in entries[i + 1]]
        assert not unhashed, f"{name}: no hash for {unhashed}: run `make lock`"
