"""Documents attached to exemption requests: checked by content, stored by content.

- ``inspect`` / ``inspect_all``: the limits (size, count) and the allowlist of types,
  judged from the bytes (``domain.document_content``). A refusal names the document by
  its position in the request, never by its file name.
- ``save`` / ``load``: content-addressed files under the data dir. Ordinary documents go
  to ``data_dir/documents`` under their sha256. Medical documents go to
  ``data_dir/medical/documents``, encrypted with the medical key, under an HMAC of the
  content keyed by that key (a bare sha256 would let anyone who can list the folder
  confirm a guess of the content).
- ``download_headers``: what a web download of a stored document must carry.

No authorisation here: the exemption service decides who may attach or read what
(``Operation.EXEMPTION_READ_MEDICAL`` for medical documents) and calls these.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from dutystation.domain import document_content
from dutystation.domain.document_content import ACCEPTED, DocumentType, Refusal
from dutystation.errors import DocumentRejected, StoreError
from dutystation.settings import Settings
from dutystation.store import document_files
from dutystation.store.medical_crypto import load_keyring


@dataclass(frozen=True)
class Upload:
    # Neither field shows in a repr: the name is medical information for medical
    # requests, and the bytes are the document.
    file_name: str = field(repr=False)
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class StoredDocument:
    sha256: str  # content address (hex): sha256, or HMAC-SHA256 under the medical key
    media_type: str  # detected from the bytes, e.g. "application/pdf"
    size: int


def check_count(count: int, settings: Settings) -> None:
    limit = settings.documents_per_request_max
    if count > limit:
        raise DocumentRejected(
            f"a request may carry at most {limit} documents; this one has {count}",
            code="too_many",
        )


def inspect(upload: Upload, settings: Settings, *, position: int) -> tuple[str, int]:
    """(media_type, size), or ``DocumentRejected("document 2: ...")``."""
    verdict = document_content.classify(
        upload.data, upload.file_name, max_bytes=settings.document_max_bytes
    )
    return _accepted(verdict, position).media_type, len(upload.data)


def inspect_all(uploads: Sequence[Upload], settings: Settings) -> list[tuple[str, int]]:
    """The count limit, then each document in order; the first refusal is raised."""
    check_count(len(uploads), settings)
    return [inspect(u, settings, position=i) for i, u in enumerate(uploads, start=1)]


def _accepted(verdict: DocumentType | Refusal, position: int) -> DocumentType:
    if isinstance(verdict, Refusal):
        raise DocumentRejected(
            f"document {position}: {verdict.reason}", position=position, code=verdict.code
        )
    return verdict


def save(settings: Settings, upload: Upload, *, medical: bool, position: int = 1) -> StoredDocument:
    """Check (as ``inspect``) and store ``upload``; storing the same bytes again returns
    the same address and writes nothing. ``position`` only names it in a refusal."""
    media_type, size = inspect(upload, settings, position=position)
    if not medical:
        address = hashlib.sha256(upload.data).hexdigest()
        document_files.write_once(settings.documents_dir, address, upload.data)
        return StoredDocument(address, media_type, size)
    root = medical_documents_dir(settings)
    keyring = load_keyring(settings, may_create=lambda: not document_files.holds_any(root))
    address = keyring.address(upload.data)
    # Seal only when new: a fresh nonce gives new ciphertext, but the address says it is
    # the same content, so the stored file stands.
    if not document_files.touch(root, address):
        document_files.write_once(root, address, keyring.seal(upload.data, file_context(address)))
    return StoredDocument(address, media_type, size)


def load(settings: Settings, sha256: str, *, medical: bool) -> bytes:
    """The stored bytes at ``sha256`` (NotFound if none), verified: an ordinary document
    against its hash, a medical one by its authentication tag."""
    if not medical:
        data = document_files.read(settings.documents_dir, sha256)
        if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), sha256):
            raise StoreError(
                f"stored document {sha256[:16]} failed its integrity check (altered or damaged)"
            )
        return data
    sealed = document_files.read(medical_documents_dir(settings), sha256)
    keyring = load_keyring(settings, may_create=False)
    return keyring.unseal(sealed, file_context(sha256), what=f"medical document {sha256[:16]}")


def medical_documents_dir(settings: Settings) -> Path:
    return settings.medical_dir / "documents"


def file_context(address: str) -> bytes:
    """The associated data of a sealed medical document file: binds it to its address."""
    return f"dutystation medical document {address}".encode()


# --- downloads ------------------------------------------------------------------------

_SERVABLE = frozenset(t.media_type for t in ACCEPTED)
_BY_MEDIA_TYPE = {t.media_type: t for t in ACCEPTED}
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_MAX_CHARS = 120


def download_name(request_id: int, position: int, media_type: str) -> str:
    """A server-made name ("exemption-request-42-document-2.pdf"): for medical documents
    the name the employee gave is medical information and stays in the medical store."""
    known = _BY_MEDIA_TYPE.get(media_type)
    extension = known.preferred_extension if known else ".bin"
    return f"exemption-request-{request_id}-document-{position}{extension}"


def download_headers(media_type: str, download_name: str) -> dict[str, str]:
    """Headers for sending a stored document: always an attachment, the detected type (an
    unknown or markup type becomes application/octet-stream), no sniffing, no caching,
    and a sandbox in case a browser renders it anyway."""
    content_type = media_type if media_type in _SERVABLE else "application/octet-stream"
    if content_type == "text/plain":
        content_type += "; charset=utf-8"
    name = _sanitise(download_name)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = _ASCII_UNSAFE.sub("_", ascii_name).strip("._") or "document"
    return {
        "Content-Type": content_type,
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


def _sanitise(name: str) -> str:
    """Last path component, NFC, without control or formatting characters (bidi overrides,
    zero-width), no leading dots, at most 120 characters keeping the extension."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    kept = "".join(c for c in base if unicodedata.category(c)[0] not in "CZ" or c == " ")
    kept = kept.strip().lstrip(".").strip() or "document"
    if len(kept) > _NAME_MAX_CHARS:
        stem, dot, extension = kept.rpartition(".")
        if dot and 0 < len(extension) <= 8:
            kept = stem[: _NAME_MAX_CHARS - len(extension) - 1] + "." + extension
        else:
            kept = kept[:_NAME_MAX_CHARS]
    return kept
