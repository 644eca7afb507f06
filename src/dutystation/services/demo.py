"""``dutystation demo``: generate the fictional department, then load its files through
the very importers a user runs (org units -> offices -> roster -> timecards -> badges),
so the demo proves the import path as much as it fills the store; then make its people
and their requests through the workflow's services (``demo_people``)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.access import SYSTEM
from dutystation.errors import DutystationError
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.summary import ImportSummary
from dutystation.services.demo_agreements import load_demo_agreements
from dutystation.services.demo_people import DemoPeople, make_demo_people
from dutystation.services.exemption_import import ExemptionImport, import_decisions
from dutystation.services.importing import ImportOptions, run_import
from dutystation.services.progress import Progress
from dutystation.services.snapshot import SnapshotSummary, refresh_snapshot
from dutystation.settings import Settings
from dutystation.synthetic import DEFAULT_EMPLOYEES, DEFAULT_SEED, GeneratedDemo, generate_demo
from dutystation.synthetic.profiles import example_profile_path

# (kind, generated file key, example profile name or None for the generic columns)
IMPORT_ORDER: tuple[tuple[ImportKind, str, str | None], ...] = (
    (ImportKind.ORG_UNITS, "org-units", None),
    (ImportKind.OFFICES, "offices", None),
    (ImportKind.ROSTER, "roster", None),
    (ImportKind.TIMECARDS, "timecards", "time-and-attendance"),
    (ImportKind.BADGES, "badges", "access-control"),
)
DEMO_FILES_DIR = "demo-files"
# What a dutystation data dir holds; --fresh only wipes a folder that looks like one.
_DATA_DIR_MARKERS = ("dutystation.sqlite3", "events")


@dataclass
class DemoImport:
    kind: ImportKind
    path: Path
    summary: ImportSummary
    seconds: float


@dataclass
class DemoResult:
    generated: GeneratedDemo
    generate_seconds: float
    imports: list[DemoImport] = field(default_factory=list)
    exemptions: ExemptionImport | None = None
    # The demo's accounts and workflow; None when the store holds users of its own (or
    # run_demo was asked for none).
    people: DemoPeople | None = None
    people_seconds: float = 0.0
    snapshot: SnapshotSummary | None = None  # None when run_demo was asked for none


def default_out_dir(settings: Settings) -> Path:
    return settings.data_dir / DEMO_FILES_DIR


def wipe_data_dir(settings: Settings) -> None:
    """Remove the data dir for a fresh demo, refusing anything that is not plainly one."""
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        raise DutystationError(
            "--fresh resets only the embedded SQLite database; with DUTYSTATION_DATABASE_URL "
            "set, recreate that database yourself and run the demo without --fresh"
        )
    folder = settings.data_dir.resolve()
    if not folder.exists():
        return
    if not folder.is_dir():
        raise DutystationError(f"--fresh: the data dir {folder} is not a folder")
    entries = {p.name for p in folder.iterdir()}
    if folder in (Path.home().resolve(), Path(folder.anchor)) or (
        entries and not entries & set(_DATA_DIR_MARKERS)
    ):
        raise DutystationError(
            f"--fresh: refusing to wipe {folder}: it does not look like a dutystation data dir "
            "(no dutystation.sqlite3 or events folder); remove it yourself if you mean it"
        )
    shutil.rmtree(folder)


def run_demo(
    settings: Settings,
    *,
    employees: int = DEFAULT_EMPLOYEES,
    seed: int = DEFAULT_SEED,
    out_dir: Path | None = None,
    fresh: bool = False,
    progress: Progress | None = None,
    on_step: Callable[[str], None] | None = None,
    people: bool = True,
    snapshot: bool = True,
) -> DemoResult:
    """Generate and import, then (``people``) make the demo's accounts and requests.
    ``on_step`` hears each finished generation step and each import before it starts
    ("import org-units"); ``progress`` shows the import's rows. ``people=False`` leaves
    the store without users, for a caller that makes its own."""
    if fresh:
        wipe_data_dir(settings)
    out = out_dir or default_out_dir(settings)
    started = time.perf_counter()
    generated = generate_demo(out, employees=employees, seed=seed, on_step=on_step)
    result = DemoResult(generated, time.perf_counter() - started)

    runtime = bootstrap(settings)
    try:
        _load(runtime, result, out, progress, on_step)
        if people:
            # An account per role, requests and decisions, the announcement.
            if on_step is not None:
                on_step("users, requests and decisions")
            started = time.perf_counter()
            result.people = make_demo_people(runtime)
            result.people_seconds = time.perf_counter() - started
        if snapshot:  # what the dashboard and the API read (services/snapshot.py)
            if on_step is not None:
                on_step("evaluation snapshot")
            result.snapshot = refresh_snapshot(runtime)
    finally:
        if "engine" in vars(runtime):  # made on first use: close a server's connections
            runtime.engine.dispose()
    return result


def _load(
    runtime: Runtime,
    result: DemoResult,
    out: Path,
    progress: Progress | None,
    on_step: Callable[[str], None] | None,
) -> None:
    for kind, key, profile in IMPORT_ORDER:
        if on_step is not None:
            on_step(f"import {kind}")
        path = result.generated.files[key]
        options = ImportOptions(
            profile_path=example_profile_path(profile) if profile is not None else None
        )
        started = time.perf_counter()
        summary = run_import(runtime, kind, [path], options, progress)
        result.imports.append(DemoImport(kind, path, summary, time.perf_counter() - started))
    # Agreements, each clause with its legal status, and a grievance under one of them.
    if on_step is not None:
        on_step("import agreements")
    load_demo_agreements(runtime.engine, out / "agreements.toml")
    # Exemption requests go through the workflow's import, as historical records.
    if on_step is not None:
        on_step("import exemption-requests")
    requests_file = out / "exemption-requests.csv"
    result.exemptions = import_decisions(runtime, SYSTEM, requests_file)
