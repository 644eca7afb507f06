"""Rotating the medical key: a new key goes on the first line of the key file, then
everything sealed under older keys is re-sealed under it in one transaction.

Records and document rows are opened and sealed again. A document file sealed under an
older key is opened, sealed under the new key and stored at its new keyed address (the
address is an HMAC under the key, so it changes with the key); its row moves to the new
address. The old files are left for ``medical_store.sweep``: until this transaction
commits the rows still point at them.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, select, update

from dutystation.domain.access import SYSTEM, Actor
from dutystation.errors import ConfigError
from dutystation.events.durable import fsync_dir
from dutystation.services import medical_store
from dutystation.services.audit import Change, record
from dutystation.services.documents import file_context, medical_documents_dir
from dutystation.services.medical_store import DOCUMENT, RECORD
from dutystation.settings import Settings
from dutystation.store import document_files
from dutystation.store.db import write_transaction
from dutystation.store.medical_crypto import Keyring, key_id_of, load_keyring, new_key_line


@dataclass(frozen=True)
class Rotation:
    key_id: str  # the key everything is sealed under now
    added_key: bool
    records_resealed: int
    documents_resealed: int
    files_resealed: int  # distinct document files written under the new key
    rows_under_old_keys: int  # 0 when done: the old key lines may then be removed


def add_key(settings: Settings) -> str:
    """Put a new random key on the first line of the key file (atomically, 0600, the old
    keys kept below it); returns its key id."""
    path = settings.resolved_medical_key_file
    old = load_keyring(settings, may_create=False)
    line = new_key_line()
    content = f"{line}\n{path.read_text(encoding='ascii')}"
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, content.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ConfigError(
            f"the medical key file {path} cannot be written ({exc.strerror}); put a new key on "
            "its first line yourself and run `dutystation medical rotate-key --reseal-only`"
        ) from None
    new = load_keyring(settings, may_create=False)
    assert new.current.key_id != old.current.key_id
    return new.current.key_id


def rotate(
    engine: Engine, settings: Settings, *, add_new_key: bool, actor: Actor = SYSTEM
) -> Rotation:
    if add_new_key and settings.resolved_medical_key_file.exists():
        add_key(settings)
    elif add_new_key:
        # No key yet: the first one is made (default file, empty store) or refused.
        with engine.connect() as conn:
            empty = not medical_store.holds_data(conn, settings)
        load_keyring(settings, may_create=empty)
    keyring = load_keyring(settings, may_create=False)
    current = keyring.current.key_id
    with write_transaction(engine) as conn:
        records = 0
        stale = conn.execute(
            select(RECORD.c.request_id).where(RECORD.c.key_id != current)
        ).scalars()
        for request_id in list(stale):
            # put() with no changes opens the record and seals it under the current key.
            medical_store.put(conn, settings, request_id, {}, [])
            records += 1
        documents, files = _reseal_documents(conn, settings, keyring)
        remaining = sum(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.key_id != current)
            ).scalar_one()
            for table in (RECORD, DOCUMENT)
        )
        after = {"records": records, "documents": documents, "files": files}
        record(
            conn,
            actor,
            Change("medical.rotate_key", "medical_key", current, after=after),
        )
    return Rotation(current, add_new_key, records, documents, files, remaining)


def _reseal_documents(conn: Connection, settings: Settings, keyring: Keyring) -> tuple[int, int]:
    """Re-seal document rows (and their files) not under the current key; returns
    (rows, files) re-sealed."""
    root = medical_documents_dir(settings)
    current = keyring.current.key_id
    rows_done = files_done = 0
    rows = conn.execute(
        select(
            DOCUMENT.c.request_id,
            DOCUMENT.c.position,
            DOCUMENT.c.address,
            DOCUMENT.c.key_id,
            DOCUMENT.c.ciphertext,
        ).order_by(DOCUMENT.c.request_id, DOCUMENT.c.position)
    ).all()
    for row in rows:
        address = row.address
        sealed = document_files.read(root, address)
        if key_id_of(sealed) != current:
            data = keyring.unseal(
                sealed, file_context(address), what=f"medical document {address[:16]}"
            )
            address = keyring.address(data)
            if not document_files.touch(root, address):
                document_files.write_once(root, address, keyring.seal(data, file_context(address)))
                files_done += 1
        if address == row.address and row.key_id == current:
            continue
        meta = medical_store.open_document(
            keyring, row.request_id, row.position, row.address, row.ciphertext
        )
        place = (DOCUMENT.c.request_id == row.request_id) & (DOCUMENT.c.position == row.position)
        twin = conn.execute(
            select(DOCUMENT.c.position).where(
                DOCUMENT.c.request_id == row.request_id,
                DOCUMENT.c.address == address,
                DOCUMENT.c.position != row.position,
            )
        ).first()
        if twin is not None:
            # The same content was attached again under the new key: one row is enough.
            conn.execute(delete(DOCUMENT).where(place))
        else:
            sealed_meta = medical_store.seal_document(keyring, row.request_id, address, meta)
            conn.execute(
                update(DOCUMENT)
                .where(place)
                .values(address=address, key_id=current, ciphertext=sealed_meta)
            )
        rows_done += 1
    return rows_done, files_done
