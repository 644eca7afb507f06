"""One entry point for every import kind, used by the CLI, the demo and (later) the API.

It resolves the profile, loads what validation checks rows against, and hands over to
the kind's importer: org units, offices and the roster go to the operational database,
timecards and badge events to the Parquet event store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM, Actor
from dutystation.errors import InputFileError, Location
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import Profile, default_profile, load_profile
from dutystation.ingest.summary import ImportSummary
from dutystation.services import import_events, import_records
from dutystation.services.progress import NullProgress, Progress
from dutystation.store.repositories import reference_data


@dataclass(frozen=True)
class ImportOptions:
    profile_path: Path | None = None
    accept_partial: bool = False
    snapshot: bool = False  # roster only: the file is the whole roster as of its date
    confirm: bool = False  # roster only: go ahead with a snapshot that was held


def resolve_profile(kind: ImportKind, path: Path | None) -> Profile:
    return default_profile(kind) if path is None else load_profile(path, kind)


def run_import(
    runtime: Runtime,
    kind: ImportKind,
    paths: list[Path],
    options: ImportOptions = ImportOptions(),
    progress: Progress | None = None,
    actor: Actor = SYSTEM,
) -> ImportSummary:
    """Import ``paths`` as one batch of ``kind``; its audit record names ``actor``."""
    for path in paths:
        if not path.is_file():
            raise InputFileError(Location(path), "no such file")
    profile = resolve_profile(kind, options.profile_path)
    progress = progress or NullProgress()
    engine = runtime.engine
    if kind is ImportKind.ORG_UNITS:
        return import_records.import_org_units(
            engine,
            paths,
            profile,
            accept_partial=options.accept_partial,
            progress=progress,
            settings=runtime.settings,
            actor=actor,
        )
    if kind is ImportKind.OFFICES:
        return import_records.import_offices(
            engine,
            paths,
            profile,
            accept_partial=options.accept_partial,
            progress=progress,
            settings=runtime.settings,
            actor=actor,
        )
    if kind is ImportKind.ROSTER:
        return import_records.import_roster(
            engine,
            paths,
            profile,
            snapshot=options.snapshot,
            accept_partial=options.accept_partial,
            confirm=options.confirm,
            progress=progress,
            settings=runtime.settings,
            actor=actor,
        )
    runtime.check_events_writable()
    with Session(engine) as session:
        reference = reference_data(session)
    importer = (
        import_events.import_badges if kind is ImportKind.BADGES else import_events.import_timecards
    )
    return importer(
        runtime.settings,
        paths,
        profile,
        reference,
        accept_partial=options.accept_partial,
        progress=progress,
        engine=engine,
        actor=actor,
    )
