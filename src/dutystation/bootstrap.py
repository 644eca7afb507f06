"""The composition root: the one place that builds engines and stores from settings.

Nothing connects at import time; commands, the API and tests call ``bootstrap``.
SQLite (the embedded default) is migrated on first use so ``make demo`` needs no setup
step; a server database must be migrated explicitly with ``dutystation db upgrade`` so that
several replicas never race to change the schema (docs/decisions/0002-migrations.md)."""

from __future__ import annotations

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
            path.mkdir(parents=True, exist_ok=True)


def bootstrap(settings: Settings | None = None) -> Runtime:
    runtime = Runtime(settings or load_settings())
    runtime.prepare_dirs()
    return runtime
