"""Rotating the medical key on SQLite and PostgreSQL: after ``rotate``, everything opens
with the new key alone, document files have moved to their new keyed addresses, and the
audit trail records the rotation without any medical content."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from test_medical_store import CANARY, FIELDS, PDF

from dutystation.errors import ConfigError, NotFound
from dutystation.services import documents, medical_store
from dutystation.services.audit import AUDIT
from dutystation.services.documents import Upload
from dutystation.services.medical_rotation import rotate
from dutystation.services.medical_store import MedicalDocument
from dutystation.settings import Settings
from dutystation.store.db import write_transaction


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _attach(settings: Settings, file_name: str, data: bytes) -> MedicalDocument:
    stored = documents.save(settings, Upload(file_name, data), medical=True)
    return MedicalDocument(stored.sha256, file_name, stored.media_type, stored.size)


def test_after_rotation_the_new_key_alone_opens_everything(
    engine: Engine, settings: Settings
) -> None:
    letter = _attach(settings, f"{CANARY}.pdf", PDF)
    note = _attach(settings, "note.txt", b"second page\n")
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 1, FIELDS, [letter, note])
        medical_store.put(conn, settings, 2, {"justification": "other"}, [letter])
    key_file = settings.resolved_medical_key_file
    old_key = [line for line in key_file.read_text().splitlines() if not line.startswith("#")]

    result = rotate(engine, settings, add_new_key=True)

    # Three document rows, two distinct files (the letter is shared by both requests).
    assert (result.records_resealed, result.documents_resealed, result.files_resealed) == (2, 3, 2)
    assert result.rows_under_old_keys == 0
    new_key = key_file.read_text().splitlines()[0]
    assert new_key not in old_key
    key_file.write_text(new_key + "\n")  # the old key retired
    with engine.connect() as conn:
        first, second = medical_store.get(conn, settings, 1), medical_store.get(conn, settings, 2)
    assert first.fields == FIELDS
    assert [d.file_name for d in first.documents] == [f"{CANARY}.pdf", "note.txt"]
    assert first.documents[0].sha256 != letter.sha256  # a new keyed address
    assert second.documents[0].sha256 == first.documents[0].sha256
    assert documents.load(settings, first.documents[0].sha256, medical=True) == PDF
    with write_transaction(engine) as conn:
        assert medical_store.sweep(conn, settings, grace_seconds=-1) == 2  # the old files
    with pytest.raises(NotFound):
        documents.load(settings, letter.sha256, medical=True)
    with engine.connect() as conn:
        trail = conn.execute(
            select(AUDIT.c.action, AUDIT.c.after).where(AUDIT.c.action == "medical.rotate_key")
        ).one()
    assert CANARY not in str(trail)


def test_rotating_twice_without_a_new_key_changes_nothing(
    engine: Engine, settings: Settings
) -> None:
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 1, FIELDS, [_attach(settings, "a.pdf", PDF)])
    again = rotate(engine, settings, add_new_key=False)
    assert (again.records_resealed, again.documents_resealed, again.files_resealed) == (0, 0, 0)


def test_a_rotation_without_a_key_file_is_one_configuration_error(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    missing = settings.model_copy(update={"medical_key_file": tmp_path / "absent.key"})
    with pytest.raises(ConfigError, match="does not exist"):
        rotate(engine, missing, add_new_key=True)
