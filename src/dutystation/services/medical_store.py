"""The medical store: a request's medical fields (justification, diagnosis, limitations,
...) and its medical documents' names and types, sealed with the medical key
(``store/medical_crypto``) in tables of their own (``store/schema_medical``). The
document bytes themselves are sealed files (``services/documents.save(medical=True)``).

Storage only: every function runs inside the caller's transaction, and the caller has
already checked ``Operation.EXEMPTION_READ_MEDICAL`` (or the right to file the request)
and writes the audit record — which names the request, never what is in here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, exists, func, insert, select, update

from dutystation.errors import NotFound, StoreError
from dutystation.services.documents import medical_documents_dir
from dutystation.settings import Settings
from dutystation.store import document_files
from dutystation.store.medical_crypto import Keyring, load_keyring
from dutystation.store.schema_medical import MedicalDocumentRow, MedicalRecordRow

RECORD = cast(Table, MedicalRecordRow.__table__)
DOCUMENT = cast(Table, MedicalDocumentRow.__table__)
# A file saved for a request whose transaction has not committed yet has no row: the sweep
# leaves files this young alone.
SWEEP_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class MedicalDocument:
    sha256: str  # keyed content address from documents.save(..., medical=True)
    file_name: str = field(repr=False)
    media_type: str = field(repr=False)
    size: int = field(repr=False)


@dataclass(frozen=True)
class MedicalRecord:
    request_id: int
    fields: Mapping[str, str] = field(repr=False)
    documents: tuple[MedicalDocument, ...] = field(repr=False)


def _record_context(request_id: int) -> bytes:
    return f"dutystation medical record {request_id}".encode()


def _document_context(request_id: int, address: str) -> bytes:
    return f"dutystation medical document row {request_id} {address}".encode()


def holds_data(conn: Connection, settings: Settings) -> bool:
    has_rows = conn.execute(select(exists().select_from(RECORD))).scalar_one()
    return bool(has_rows) or document_files.holds_any(medical_documents_dir(settings))


def put(
    conn: Connection,
    settings: Settings,
    request_id: int,
    fields: Mapping[str, str],
    documents: Sequence[MedicalDocument],
) -> None:
    """Create or extend the request's record: each given field replaces the stored value
    of that name (others stay); each document not yet attached is appended, one already
    attached (same address) gets the new name and type. Everything is re-sealed under the
    current key."""
    keyring = load_keyring(settings, may_create=lambda: not holds_data(conn, settings))
    now = datetime.now(UTC)
    row = conn.execute(select(RECORD.c.ciphertext).where(RECORD.c.request_id == request_id)).first()
    merged = dict(_open_fields(keyring, request_id, row.ciphertext)) if row else {}
    merged.update({str(k): str(v) for k, v in fields.items()})
    sealed = keyring.seal(_json({"fields": merged}), _record_context(request_id))
    values = {"key_id": keyring.current.key_id, "ciphertext": sealed, "updated_at": now}
    if row:
        conn.execute(update(RECORD).where(RECORD.c.request_id == request_id).values(values))
    else:
        conn.execute(insert(RECORD).values(request_id=request_id, created_at=now, **values))
    for number, document in enumerate(documents, start=1):
        _attach(conn, settings, keyring, request_id, document, number, now)


def _attach(
    conn: Connection,
    settings: Settings,
    keyring: Keyring,
    request_id: int,
    document: MedicalDocument,
    number: int,
    now: datetime,
) -> None:
    if not document_files.exists(medical_documents_dir(settings), document.sha256):
        raise StoreError(
            f"document {number}: it is not in the medical document store; "
            "save it with medical=True first"
        )
    meta = {"file_name": document.file_name, "media_type": document.media_type}
    sealed = seal_document(keyring, request_id, document.sha256, {**meta, "size": document.size})
    values = {"key_id": keyring.current.key_id, "ciphertext": sealed}
    where = (DOCUMENT.c.request_id == request_id) & (DOCUMENT.c.address == document.sha256)
    if conn.execute(select(DOCUMENT.c.position).where(where)).first():
        conn.execute(update(DOCUMENT).where(where).values(values))
        return
    last = conn.execute(
        select(func.max(DOCUMENT.c.position)).where(DOCUMENT.c.request_id == request_id)
    ).scalar_one()
    conn.execute(
        insert(DOCUMENT).values(
            request_id=request_id,
            position=(last or 0) + 1,
            address=document.sha256,
            created_at=now,
            **values,
        )
    )


def get(conn: Connection, settings: Settings, request_id: int) -> MedicalRecord:
    """The request's medical record, opened; NotFound if it has none."""
    row = conn.execute(select(RECORD.c.ciphertext).where(RECORD.c.request_id == request_id)).first()
    if row is None:
        raise NotFound(f"no medical record for exemption request {request_id}")
    keyring = load_keyring(settings, may_create=False)
    fields = _open_fields(keyring, request_id, row.ciphertext)
    documents: list[MedicalDocument] = []
    for doc in conn.execute(
        select(DOCUMENT.c.position, DOCUMENT.c.address, DOCUMENT.c.ciphertext)
        .where(DOCUMENT.c.request_id == request_id)
        .order_by(DOCUMENT.c.position)
    ):
        meta = open_document(keyring, request_id, doc.position, doc.address, doc.ciphertext)
        documents.append(
            MedicalDocument(doc.address, meta["file_name"], meta["media_type"], int(meta["size"]))
        )
    return MedicalRecord(request_id, fields, tuple(documents))


def erase(conn: Connection, settings: Settings, request_id: int) -> None:
    """Delete the request's record and document rows (nothing if there are none). The
    sealed files of documents no other request shares go with the next ``sweep``, after
    this transaction has committed. Needs no key: erasing works even after a key is lost."""
    del settings  # same signature as put/get; erasing needs neither key nor folder
    conn.execute(delete(DOCUMENT).where(DOCUMENT.c.request_id == request_id))
    conn.execute(delete(RECORD).where(RECORD.c.request_id == request_id))


def sweep(
    conn: Connection, settings: Settings, *, grace_seconds: float = SWEEP_GRACE_SECONDS
) -> int:
    """Remove sealed document files that no request refers to any more (erased requests,
    uploads whose request was never filed) and that are older than the grace period;
    returns how many. Run after ``erase`` has committed."""
    keep = set(conn.execute(select(DOCUMENT.c.address).distinct()).scalars())
    root = medical_documents_dir(settings)
    return document_files.remove(
        document_files.unreferenced(root, keep, grace_seconds=grace_seconds)
    )


def seal_document(
    keyring: Keyring, request_id: int, address: str, meta: Mapping[str, Any]
) -> bytes:
    """A document row's sealed metadata (name, media type, size), bound to its place."""
    return keyring.seal(_json(meta), _document_context(request_id, address))


def open_document(
    keyring: Keyring, request_id: int, position: int, address: str, sealed: bytes
) -> dict[str, Any]:
    what = f"medical document {position} of exemption request {request_id}"
    return _loads(keyring.unseal(sealed, _document_context(request_id, address), what=what))


def _open_fields(keyring: Keyring, request_id: int, blob: bytes) -> dict[str, str]:
    opened = keyring.unseal(
        blob, _record_context(request_id), what=f"medical record of exemption request {request_id}"
    )
    fields = _loads(opened).get("fields", {})
    return {str(k): str(v) for k, v in fields.items()}


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _loads(data: bytes) -> dict[str, Any]:
    value = json.loads(data.decode("utf-8"))
    if not isinstance(value, dict):
        raise StoreError("a medical-store entry has an unexpected shape")
    return value
