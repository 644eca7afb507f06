"""The composition root: the one place that builds engines and stores from settings.

Nothing connects at import time; commands, the API and tests call ``bootstrap``.
SQLite (the embedded default) is migrated on first use so ``make demo`` needs no setup
step; a server database must be migrated explicitly with ``dutystation db upgrade`` so that
several replicas never race to change the schema (docs/decisions/0002-migrations.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine

from dutystation.errors import StoreError
from dutystation.events.store import EventStore
from dutystation.settings import Settings, load_settings
from dutystation.store.db import is_current, make_engine, migrate


@dataclass
class Runtime:
    settings: Settings
    _migrated: bool = field(default=False, repr=False)

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.resolved_database_url)
        if engine.dialect.name == "sqlite":
            migrate(engine)
        elif not is_current(engine):
            raise StoreError(
                "the database schema is not current; run `dutystation db upgrade` first"
            )
        return engine

    @cached_property
    def events(self) -> EventStore:
        return EventStore(self.settings.events_dir)

    def prepare_dirs(self) -> None:
        for path in (self.settings.data_dir, self.settings.quarantine_dir, self.settings.tmp_dir):
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(_unwritable(f"the folder {path}", exc)) from None
        # Quarantine files hold rejected rows' values: only their owner lists or reads them.
        quarantine = self.settings.quarantine_dir
        try:
            quarantine.chmod(0o700)
        except OSError as exc:
            raise StoreError(_unwritable(f"the folder {quarantine}", exc)) from None

    def check_events_writable(self) -> None:
        """Refuse, in one sentence, an event store whose folder cannot be written: checked
        before an import reads its first row, so nothing is half-written (a write that
        fails later is still all-or-nothing: the store commits through its manifests)."""
        root = self.settings.events_dir
        probe = root / f".write-check-{os.getpid()}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise StoreError(_unwritable(f"the event store {root}", exc)) from None


def _unwritable(what: str, exc: OSError) -> str:
    why = exc.strerror or type(exc).__name__
    return (
        f"{what} cannot be written ({why}); give the user running dutystation write access "
        "there or set data_dir (DUTYSTATION_DATA_DIR) to a folder it can write; nothing was stored"
    )


def bootstrap(settings: Settings | None = None) -> Runtime:
    runtime = Runtime(settings or load_settings())
    runtime.prepare_dirs()
    return runtime
