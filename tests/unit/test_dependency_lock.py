"""RELIABILITY T17 ``static_and_supply_chain``, the lock file: `make install` installs
requirements/lock.txt with ``pip install --require-hashes``, so every dependency that
pyproject.toml declares (runtime, every extra, the build backend) must be pinned there at
a version its range allows, each pin with its sha256 hashes. A dependency added or
re-ranged in pyproject.toml without `make lock` fails here, not on someone's fresh machine.
Reads files only: no index, no network."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"
BUILD_IN = ROOT / "requirements" / "build.in"
SHA256 = re.compile(r"sha256:[0-9a-f]{64}")


def lock_entries(text: str) -> list[tuple[Requirement, list[str]]]:
    """Each requirement of a pip requirements file with its ``--hash`` values."""
    entries = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *hashes = (part.strip() for part in line.split("--hash="))
        entries.append((Requirement(spec), hashes))
    return entries


def declared(pyproject: dict[str, Any], build_in: str) -> list[Requirement]:
    project = pyproject["project"]
    specs = [*project["dependencies"], *pyproject["build-system"]["requires"]]
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    specs.extend(r.split("#", 1)[0].strip() for r in build_in.splitlines())
    return [Requirement(spec) for spec in specs if spec]


def not_locked(pyproject: dict[str, Any], build_in: str, lock: str) -> list[str]:
    """One sentence per declared dependency the lock does not pin within its range."""
    pins: dict[str, list[Version]] = {}
    for requirement, _ in lock_entries(lock):
        for spec in requirement.specifier:
            pins.setdefault(canonicalize_name(requirement.name), []).append(Version(spec.version))
    problems = []
    for requirement in declared(pyproject, build_in):
        versions = pins.get(canonicalize_name(requirement.name))
        if not versions:
            problems.append(f"{requirement.name} is not pinned in requirements/lock.txt")
        elif not any(requirement.specifier.contains(v, prereleases=True) for v in versions):
            pinned = ", ".join(map(str, versions))
            problems.append(f"{requirement} but requirements/lock.txt pins {pinned}")
    return problems


def test_every_declared_dependency_is_pinned_in_the_lock_within_its_range() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    problems = not_locked(
        pyproject, BUILD_IN.read_text(encoding="utf-8"), LOCK.read_text(encoding="utf-8")
    )
    assert not problems, "run `make lock`: " + "; ".join(problems)


def test_every_pin_is_exact_and_carries_its_sha256_hashes() -> None:
    """pip refuses the whole install under --require-hashes if one line lacks either."""
    entries = lock_entries(LOCK.read_text(encoding="utf-8"))
    assert len(entries) > 50
    for requirement, hashes in entries:
        (spec,) = requirement.specifier
        assert spec.operator == "==" and "*" not in spec.version, requirement
        assert hashes and all(SHA256.fullmatch(h) for h in hashes), requirement
    names = [canonicalize_name(r.name) for r, _ in entries if not r.marker]
    assert len(names) == len(set(names)), "one unconditional pin per package"
    assert "dutystation" not in names  # the project installs itself from the checkout


LOCKED = """\
psycopg==3.3.9 \\
    --hash=sha256:{h}
    # via dutystation (pyproject.toml)
PyYAML==6.0.4 --hash=sha256:{h}
hatchling==1.33.0 --hash=sha256:{h}
""".format(h="0" * 64)


def project(dependencies: list[str], dev: list[str]) -> dict[str, Any]:
    return {
        "build-system": {"requires": ["hatchling>=1.25"]},
        "project": {"dependencies": dependencies, "optional-dependencies": {"dev": dev}},
    }


def test_names_are_compared_normalised_and_extras_do_not_matter() -> None:
    assert not_locked(project(["psycopg[binary]>=3.2"], ["pyyaml"]), "", LOCKED) == []
    assert not_locked(project(["Psycopg>=3"], ["py_yaml"]), "", LOCKED) == [
        "py_yaml is not pinned in requirements/lock.txt"
    ]


def test_a_dependency_added_or_re_ranged_without_relocking_is_named() -> None:
    problems = not_locked(project(["psycopg>=3.4"], ["pyyaml", "uv>=0.9"]), "editables", LOCKED)
    assert problems == [
        "psycopg>=3.4 but requirements/lock.txt pins 3.3.9",
        "uv is not pinned in requirements/lock.txt",
        "editables is not pinned in requirements/lock.txt",
    ]
