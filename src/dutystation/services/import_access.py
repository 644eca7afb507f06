"""Imports for a person (the API): ``Operation.IMPORT_RUN`` checked before
``importing.run_import`` runs (in a child process: ``upload_import``), a private folder for
uploaded files, and a quick refusal when another import holds the event store.

``run_import`` itself trusts its caller (the CLI runs as the operator of the data dir).
An import writes across the organisation, so the check is on every root of the org tree:
HR with a grant over one component cannot replace the whole roster. Before the first org
units exist there is no root and the roles alone decide.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Operation
from dutystation.errors import StoreBusy
from dutystation.events.store import EventStore
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.summary import ImportSummary
from dutystation.services.audit import Change, denials_recorded
from dutystation.services.authorization import Subject, authorize
from dutystation.services.importing import ImportOptions
from dutystation.services.upload_import import import_in_child
from dutystation.settings import Settings
from dutystation.store.db import translate_errors
from dutystation.store.schema import OrgUnit

UPLOAD_PREFIX = "upload-"
EVENT_KINDS = (ImportKind.TIMECARDS, ImportKind.BADGES)
IMPORT_RUNNING = (
    "another import into the event store is still running; try again when it has finished"
)
# What a refused client is told to wait: an event import takes seconds to a minute (a
# million badge rows about 10 s, bench/README.md); asking sooner only adds refusals.
IMPORT_RETRY_AFTER_SECONDS = 10


def authorize_import(runtime: Runtime, actor: Actor, kind: ImportKind) -> None:
    """``Forbidden`` for a role that never imports; ``NotFound`` when the actor's scope
    does not hold the whole organisation (imports are not scoped to a subtree)."""
    engine = runtime.engine
    attempt = Change(Operation.IMPORT_RUN.value, "import", kind.value)
    with (
        denials_recorded(engine, actor, attempt),
        translate_errors(),
        engine.connect() as conn,
    ):
        authorize(conn, actor, Operation.IMPORT_RUN)
        for code in sorted(conn.scalars(select(OrgUnit.code).where(OrgUnit.parent_id.is_(None)))):
            authorize(
                conn,
                actor,
                Operation.IMPORT_RUN,
                Subject(org_unit=code),
                not_found="imports change the whole organisation, which is not in your scope",
            )


def check_not_running(settings: Settings, kind: ImportKind) -> None:
    """``StoreBusy`` at once when an event import holds the store's writer lock, instead of
    waiting for it as the command line does (a web request must not hang for minutes).
    Only a hint: an import starting right after this check is still waited for.

    Busy, not ``Conflict``: nothing about the request is wrong, and the same request
    succeeds once the other import has finished (docs/api.md: 503 with ``Retry-After``)."""
    if kind not in EVENT_KINDS:
        return
    try:
        with EventStore(settings.events_dir).lock(wait_seconds=0):
            pass
    except StoreBusy:
        raise StoreBusy(IMPORT_RUNNING, retry_after_seconds=IMPORT_RETRY_AFTER_SECONDS) from None


def import_as(
    runtime: Runtime,
    actor: Actor,
    kind: ImportKind,
    paths: list[Path],
    options: ImportOptions | None = None,
) -> ImportSummary:
    """``run_import`` for ``actor``, once they may (``authorize_import``), in a child
    process (``upload_import``). Its audit record names the actor."""
    authorize_import(runtime, actor, kind)
    check_not_running(runtime.settings, kind)
    return import_in_child(runtime.settings, actor, kind, paths, options or ImportOptions())


@contextlib.contextmanager
def upload_folder(settings: Settings) -> Iterator[Path]:
    """A new folder under the data dir's ``tmp`` (mode 0700) for uploaded files, removed
    with everything in it afterwards: uploads hold personal data and must not outlive
    the request."""
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    folder = settings.tmp_dir / f"{UPLOAD_PREFIX}{uuid.uuid4().hex}"
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
