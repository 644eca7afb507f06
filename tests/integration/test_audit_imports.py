"""Every committed import writes one audit record (``import.<kind>``, the batch id, file
names and counts, never row contents), naming who ran it; a refused import writes none;
and an event batch whose process died between its manifest and its record gets the
record from the next event import."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest
from audit_builders import AUDITOR, REFERENCE, badges_file
from sqlalchemy import Engine, select
from test_import_records_builders import org_units_csv, person, roster_csv, settings_for

from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import ImportRejected
from dutystation.events.store import EventStore
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import default_profile
from dutystation.services.audit import AUDIT
from dutystation.services.audit_verify import verify
from dutystation.services.import_events import import_badges
from dutystation.services.import_records import import_org_units, import_roster
from dutystation.settings import Settings
from dutystation.store.db import make_engine, write_transaction
from dutystation.store.schema import ImportBatch

HR = Actor(user_id=4, username="hana.hr", grants=(Grant(Role.HR),))
NOW_STAMPS = ("2026-02-02T09:00:00-05:00", "2026-02-02T17:00:00-05:00")


def _records(engine: Engine, action_prefix: str = "import.") -> list[dict[str, Any]]:
    query = AUDIT.select().where(AUDIT.c.action.like(action_prefix + "%")).order_by(AUDIT.c.seq)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def test_a_database_import_records_its_batch_files_and_counts_as_its_actor(
    engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    units = import_org_units(engine, [org_units_csv(tmp_path)], settings=settings, actor=HR)
    import_org_units(engine, [org_units_csv(tmp_path)], settings=settings)  # no-op re-run
    (first, again) = _records(engine)
    assert (first["action"], first["subject_type"], first["subject_id"]) == (
        "import.org-units",
        "import_batch",
        units.batch_id,
    )
    assert (first["actor"], first["actor_user_id"], again["actor"]) == ("hana.hr", 4, "system")
    assert json.loads(first["after"]) == {
        "files": ["org.csv"],
        "rows_read": 6,
        "rows_stored": 6,
        "rows_rejected": 0,
    }
    assert "Component A" not in first["after"]  # names of things are row contents
    assert json.loads(again["after"])["rows_stored"] == 0


def test_a_refused_import_stores_neither_batch_nor_record(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    import_org_units(engine, [org_units_csv(tmp_path)], settings=settings)
    bad = [person("E1", effective_date="2025-01-06", org_unit="NOWHERE")]
    with pytest.raises(ImportRejected):
        import_roster(engine, [roster_csv(tmp_path, bad)], settings=settings, actor=HR)
    with engine.connect() as conn:
        batches = list(conn.scalars(select(ImportBatch.kind)))
    assert batches == ["org-units"]
    assert [r["action"] for r in _records(engine)] == ["import.org-units"]


def _import_badges(settings: Settings, path: Path, engine: Engine | None, actor: Actor) -> Any:
    profile = default_profile(ImportKind.BADGES)
    return import_badges(settings, [path], profile, REFERENCE, engine=engine, actor=actor)


def test_an_event_import_records_its_batch_after_the_manifest(
    engine: Engine, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    source = badges_file(tmp_path / "badges.csv", *NOW_STAMPS)
    summary = _import_badges(settings, source, engine, HR)
    (only,) = _records(engine)
    assert (only["action"], only["subject_id"], only["actor"]) == (
        "import.badges",
        summary.batch_id,
        "hana.hr",
    )
    assert json.loads(only["after"]) == {
        "files": ["badges.csv"],
        "rows_read": 2,
        "rows_stored": 2,
        "rows_rejected": 0,
        "duplicates": 0,
    }


def test_without_an_engine_the_record_goes_to_the_settings_database(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    _import_badges(settings, badges_file(tmp_path / "b.csv", *NOW_STAMPS), None, AUDITOR)
    engine = make_engine(settings.resolved_database_url)
    try:
        assert [r["actor"] for r in _records(engine)] == ["avery.auditor"]
    finally:
        engine.dispose()


def _child_import(data_dir: str, url: str, source: str) -> None:
    engine = make_engine(url)
    _import_badges(Settings(data_dir=Path(data_dir)), Path(source), engine, HR)


def test_a_batch_whose_process_died_before_its_record_gets_it_from_the_next_import(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """A real crash in the window: while this test holds the database's writer lock the
    child import commits its manifest and then waits to write the record; it is killed
    there. The next import finds the batch without a record and writes it."""
    data = tmp_path / "data"
    store = EventStore(data / "events")
    first = badges_file(tmp_path / "first.csv", NOW_STAMPS[0])
    child = multiprocessing.get_context("spawn").Process(
        target=_child_import, args=(str(data), db_url, str(first))
    )
    with write_transaction(engine):
        child.start()
        deadline = time.monotonic() + 60
        while not store.manifests() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # now blocked on the writer lock, inside record_batch
        child.kill()
        child.join()
    (orphan,) = store.manifests()
    assert _records(engine) == []
    second = _import_badges(Settings(data_dir=data), badges_file(tmp_path / "second.csv",
                            NOW_STAMPS[1]), engine, HR)  # fmt: skip
    late, own = _records(engine)
    assert (late["subject_id"], late["actor"]) == (orphan.batch_id, "system")
    after = json.loads(late["after"])
    assert after["backfilled"] is True and after["files"] == ["first.csv"]
    assert (own["subject_id"], own["actor"]) == (second.batch_id, "hana.hr")
    with engine.connect() as conn:
        assert verify(conn).intact
