"""The medical store on SQLite and PostgreSQL: sealed records and documents round-trip,
nothing medical is readable in the database or the data dir, and a wrong key or an
altered row is detected instead of returning garbage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update

from dutystation.errors import ConfigError, NotFound, StoreError
from dutystation.services import documents, medical_store
from dutystation.services.documents import Upload
from dutystation.services.medical_store import RECORD, MedicalDocument
from dutystation.settings import Settings
from dutystation.store.db import write_transaction
from dutystation.store.medical_crypto import new_key_line

CANARY = "CANARYx9q2"  # unique, and absent from anything the store writes on its own
FIELDS = {
    "justification": f"Needs to work from home: {CANARY}-justification",
    "diagnosis": f"{CANARY}-diagnosis",
    "limitations": "No commute longer than 20 minutes.",
}
PDF = b"%PDF-1.7\n" + f"({CANARY}-document-bytes)".encode() + b"\n%%EOF\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _attach(settings: Settings, file_name: str, data: bytes) -> MedicalDocument:
    stored = documents.save(settings, Upload(file_name, data), medical=True)
    return MedicalDocument(stored.sha256, file_name, stored.media_type, stored.size)


def test_a_record_round_trips_with_its_fields_and_documents(
    engine: Engine, settings: Settings
) -> None:
    letter = _attach(settings, f"{CANARY}-letter.pdf", PDF)
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 42, FIELDS, [letter])
    with engine.connect() as conn:
        record = medical_store.get(conn, settings, 42)
    assert record.request_id == 42
    assert dict(record.fields) == FIELDS
    assert record.documents == (letter,)
    assert documents.load(settings, letter.sha256, medical=True) == PDF


def test_put_again_replaces_named_fields_and_appends_new_documents(
    engine: Engine, settings: Settings
) -> None:
    first = _attach(settings, "a.pdf", PDF)
    second = _attach(settings, "b.txt", b"follow-up note\n")
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 7, FIELDS, [first])
    with write_transaction(engine) as conn:
        renamed = MedicalDocument(first.sha256, "a (signed).pdf", first.media_type, first.size)
        medical_store.put(conn, settings, 7, {"limitations": "None after May."}, [renamed, second])
    with engine.connect() as conn:
        record = medical_store.get(conn, settings, 7)
    assert record.fields == {**FIELDS, "limitations": "None after May."}
    assert record.documents == (renamed, second)  # attachment order, no duplicate


def test_a_request_without_a_medical_record_is_not_found(
    engine: Engine, settings: Settings
) -> None:
    with engine.connect() as conn, pytest.raises(NotFound, match="request 99"):
        medical_store.get(conn, settings, 99)


def test_a_document_must_be_saved_before_it_is_attached(engine: Engine, settings: Settings) -> None:
    unsaved = MedicalDocument("ab" * 32, "x.pdf", "application/pdf", 3)
    with write_transaction(engine) as conn, pytest.raises(StoreError, match="document 1: "):
        medical_store.put(conn, settings, 1, FIELDS, [unsaved])


def test_erase_removes_the_record_and_sweep_removes_its_unshared_files(
    engine: Engine, settings: Settings
) -> None:
    shared = _attach(settings, "shared.pdf", PDF)
    own = _attach(settings, "own.txt", b"only request 1\n")
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 1, FIELDS, [shared, own])
        medical_store.put(conn, settings, 2, FIELDS, [shared])
    with write_transaction(engine) as conn:
        medical_store.erase(conn, settings, 1)
        medical_store.erase(conn, settings, 1)  # erasing nothing is fine
    folder = documents.medical_documents_dir(settings)
    killed_writer = folder / own.sha256[:2] / f".{own.sha256[2:18]}.dead.tmp"
    killed_writer.write_bytes(b"half a sealed file")
    with write_transaction(engine) as conn:
        assert medical_store.sweep(conn, settings) == 0  # young files are spared
        past = os.stat(folder).st_mtime - 7200
        for path in folder.rglob("*"):
            os.utime(path, (past, past))
        assert medical_store.sweep(conn, settings) == 2  # own's file and the leftover
    assert not killed_writer.exists()
    with engine.connect() as conn:
        with pytest.raises(NotFound):
            medical_store.get(conn, settings, 1)
        assert medical_store.get(conn, settings, 2).documents == (shared,)
    assert documents.load(settings, shared.sha256, medical=True) == PDF
    with pytest.raises(NotFound):
        documents.load(settings, own.sha256, medical=True)


def _database_text(engine: Engine) -> bytes:
    """Everything the database holds, as bytes: the SQLite files themselves (WAL too), or
    every row of every table on PostgreSQL rendered as text."""
    if engine.dialect.name == "sqlite":
        database = Path(str(engine.url.database))
        return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    chunks: list[str] = []
    with engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        for table in list(tables):
            chunks.extend(conn.execute(text(f'SELECT t::text FROM "{table}" t')).scalars())
    return "\n".join(chunks).encode()


def test_nothing_medical_is_readable_in_the_database_or_the_data_dir(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    letter = _attach(settings, f"{CANARY}-letter.pdf", PDF)
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 5, FIELDS, [letter])
    with engine.connect() as conn:
        assert medical_store.get(conn, settings, 5).fields == FIELDS  # it is all there
    # bytea renders as hex on PostgreSQL: a plaintext canary there would show as its hex.
    spellings = [CANARY.encode(), CANARY.encode("utf-16-le"), CANARY.encode().hex().encode()]
    database = _database_text(engine)
    assert all(s not in database for s in spellings)
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert files  # the key and the sealed document are there
    for path in files:
        content = path.read_bytes()
        assert all(s not in content for s in spellings), path.relative_to(settings.data_dir)
        assert CANARY not in str(path)


def test_records_sealed_under_another_key_are_refused(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 3, FIELDS, [])
    other_key = tmp_path / "other.key"
    other_key.write_text(new_key_line() + "\n")
    other = settings.model_copy(update={"medical_key_file": other_key})
    with engine.connect() as conn, pytest.raises(ConfigError, match="does not hold"):
        medical_store.get(conn, other, 3)


def test_a_row_altered_or_moved_to_another_request_fails_authentication(
    engine: Engine, settings: Settings
) -> None:
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 10, FIELDS, [])
        medical_store.put(conn, settings, 11, {"justification": "someone else"}, [])
    with write_transaction(engine) as conn:
        sealed = conn.execute(
            RECORD.select().with_only_columns(RECORD.c.ciphertext).where(RECORD.c.request_id == 10)
        ).scalar_one()
        conn.execute(update(RECORD).where(RECORD.c.request_id == 11).values(ciphertext=sealed))
    with engine.connect() as conn, pytest.raises(StoreError, match="integrity check"):
        medical_store.get(conn, settings, 11)


def test_a_lost_default_key_is_not_replaced_while_records_exist(
    engine: Engine, settings: Settings
) -> None:
    with write_transaction(engine) as conn:
        medical_store.put(conn, settings, 1, FIELDS, [])
    settings.resolved_medical_key_file.unlink()
    with write_transaction(engine) as conn, pytest.raises(ConfigError, match="restore"):
        medical_store.put(conn, settings, 2, FIELDS, [])
    with engine.connect() as conn, pytest.raises(ConfigError, match="restore"):
        medical_store.get(conn, settings, 1)
