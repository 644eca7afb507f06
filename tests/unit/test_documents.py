"""Documents attached to exemption requests: judged by their bytes, stored by their
content, medical ones sealed under the medical key, sent with safe headers."""

from __future__ import annotations

import hashlib
import os
import stat
import time
import tracemalloc
from pathlib import Path

import document_samples as samples
import pytest

from dutystation.errors import ConfigError, DocumentRejected, NotFound, StoreError
from dutystation.services import documents
from dutystation.services.documents import Upload
from dutystation.settings import Settings
from dutystation.store.medical_crypto import new_key_line

CANARY = "CANARY-diagnosis-7f3a9"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _reject(settings: Settings, file_name: str, data: bytes, position: int = 2) -> str:
    with pytest.raises(DocumentRejected) as caught:
        documents.inspect(Upload(file_name, data), settings, position=position)
    message = str(caught.value)
    assert message.startswith(f"document {position}: ")
    assert caught.value.position == position
    return caught.value.code


# --- what is accepted ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "data", "media_type"),
    [
        ("letter.pdf", samples.PDF, "application/pdf"),
        ("scan.PNG", samples.png(), "image/png"),
        ("photo.jpeg", samples.JPEG, "image/jpeg"),
        ("photo.jpg", samples.JPEG, "image/jpeg"),
        ("note.txt", samples.TEXT, "text/plain"),
        ("note.txt", b"\xef\xbb\xbf" + samples.TEXT, "text/plain"),
        (
            "form.docx",
            samples.docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("form.odt", samples.odt(), "application/vnd.oasis.opendocument.text"),
        # No extension, or a dot that is not one: the content decides.
        ("letter", samples.PDF, "application/pdf"),
        ("Letter from Dr. J. Smith", samples.PDF, "application/pdf"),
    ],
)
def test_accepted_types_are_recognised_by_their_content(
    settings: Settings, file_name: str, data: bytes, media_type: str
) -> None:
    assert documents.inspect(Upload(file_name, data), settings, position=1) == (
        media_type,
        len(data),
    )


def test_a_document_of_exactly_the_size_limit_is_accepted(settings: Settings) -> None:
    limit = settings.document_max_bytes
    data = samples.PDF + b"%" * (limit - len(samples.PDF))
    assert documents.inspect(Upload("a.pdf", data), settings, position=1)[1] == limit


# --- what is refused --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "data", "code"),
    [
        ("doctor-note.pdf", samples.WINDOWS_PROGRAM, "executable"),
        ("note.txt", samples.ELF, "executable"),
        ("note.pdf", samples.MACHO, "executable"),
        ("note.txt", samples.SCRIPT, "executable"),
        ("letter.txt", samples.HTML, "markup"),
        ("letter.txt", samples.HTML_LATE, "markup"),
        ("chart.png", samples.SVG, "markup"),
        ("chart.svg", samples.SVG, "markup"),
        ("records.zip", samples.plain_zip(), "archive"),
        ("records.docx", samples.plain_zip(), "archive"),
        ("records.gz", samples.GZIP, "archive"),
        ("old.doc", samples.OLE2, "legacy_office"),
        ("data.bin", samples.BINARY, "unknown_type"),
        ("note.txt", b"fine so far\x00then binary", "unknown_type"),
        ("note.txt", b"terminal \x1b[2J escape", "unknown_type"),
        ("macro.docx", samples.docx(("word/vbaProject.bin", b"\x00" * 10)), "active_content"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_refused_content_is_named_by_its_kind(
    settings: Settings, file_name: str, data: bytes, code: str
) -> None:
    assert _reject(settings, file_name, data) == code


def test_an_executable_named_pdf_is_refused_in_one_sentence(settings: Settings) -> None:
    with pytest.raises(DocumentRejected) as caught:
        documents.inspect(Upload("doctor-note.pdf", samples.WINDOWS_PROGRAM), settings, position=2)
    assert str(caught.value) == (
        "document 2: it is a Windows program, and programs are never accepted"
    )
    assert caught.value.exit_code == 2


def test_a_png_named_pdf_is_refused_because_the_name_contradicts_the_content(
    settings: Settings,
) -> None:
    with pytest.raises(DocumentRejected) as caught:
        documents.inspect(Upload("x-ray.pdf", samples.png()), settings, position=3)
    assert str(caught.value) == (
        "document 3: the extension of its name does not match its content, which is "
        "a PNG image; name it .png or convert it"
    )


def test_one_byte_over_the_size_limit_is_refused(settings: Settings) -> None:
    limit = settings.document_max_bytes
    data = samples.PDF + b"%" * (limit + 1 - len(samples.PDF))
    assert _reject(settings, "a.pdf", data) == "too_large"


def test_a_request_with_more_documents_than_allowed_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, documents_per_request_max=2)
    uploads = [Upload(f"{i}.pdf", samples.PDF) for i in range(3)]
    with pytest.raises(DocumentRejected, match="at most 2 documents; this one has 3"):
        documents.inspect_all(uploads, settings)
    assert len(documents.inspect_all(uploads[:2], settings)) == 2


def test_a_docx_zip_bomb_is_refused_from_its_directory_without_inflating_it(
    settings: Settings,
) -> None:
    bomb = samples.docx_bomb()
    assert len(bomb) < settings.document_max_bytes
    tracemalloc.start()
    started = time.perf_counter()
    code = _reject(settings, "bomb.docx", bomb)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == "zip_bomb"
    assert elapsed < 0.5
    assert peak < 2 * 1024 * 1024  # the 32 MiB part was never inflated


def test_a_docx_with_overlapping_parts_is_refused(settings: Settings) -> None:
    assert _reject(settings, "form.docx", samples.docx_overlapping()) == "zip_bomb"


def test_refusals_never_repeat_the_file_name(settings: Settings) -> None:
    hostile = [samples.WINDOWS_PROGRAM, samples.HTML, samples.png(), samples.plain_zip(), b""]
    for data in hostile:
        with pytest.raises(DocumentRejected) as caught:
            documents.inspect(Upload(f"{CANARY}.pdf", data), settings, position=1)
        assert CANARY not in str(caught.value)
        assert "CANARY" not in str(caught.value)


def test_an_upload_does_not_show_its_name_or_bytes_in_a_repr() -> None:
    assert CANARY not in repr(Upload(f"{CANARY}.pdf", CANARY.encode()))


# --- ordinary documents on disk ---------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_document_is_stored_once_under_its_sha256_with_mode_0600(settings: Settings) -> None:
    first = documents.save(settings, Upload("a.pdf", samples.PDF), medical=False)
    again = documents.save(settings, Upload("other name.pdf", samples.PDF), medical=False)
    address = hashlib.sha256(samples.PDF).hexdigest()
    assert first == again == documents.StoredDocument(address, "application/pdf", len(samples.PDF))
    path = settings.documents_dir / address[:2] / address[2:]
    assert path.read_bytes() == samples.PDF
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [address[2:]]  # no temp files left
    assert documents.load(settings, address, medical=False) == samples.PDF


def test_a_refused_document_is_not_stored(settings: Settings) -> None:
    with pytest.raises(DocumentRejected, match="document 4: "):
        documents.save(settings, Upload("a.pdf", samples.HTML), medical=False, position=4)
    assert not settings.documents_dir.exists()


def test_a_failed_write_leaves_no_partial_file(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StoreError, match="No space left on device"):
        documents.save(settings, Upload("a.pdf", samples.PDF), medical=False)
    monkeypatch.undo()
    assert [p for p in settings.documents_dir.rglob("*") if p.is_file()] == []
    address = hashlib.sha256(samples.PDF).hexdigest()
    with pytest.raises(NotFound):
        documents.load(settings, address, medical=False)


def test_a_stored_document_altered_on_disk_is_detected(settings: Settings) -> None:
    stored = documents.save(settings, Upload("a.pdf", samples.PDF), medical=False)
    path = settings.documents_dir / stored.sha256[:2] / stored.sha256[2:]
    path.write_bytes(samples.PDF + b"appended")
    with pytest.raises(StoreError, match="integrity"):
        documents.load(settings, stored.sha256, medical=False)


@pytest.mark.parametrize("address", ["../../etc/passwd", "AB" * 32, "ab" * 31, ""])
def test_an_address_that_is_not_a_hash_finds_nothing(settings: Settings, address: str) -> None:
    with pytest.raises(NotFound):
        documents.load(settings, address, medical=False)


# --- medical documents: sealed, keyed addresses -------------------------------------


def _medical_files(settings: Settings) -> list[Path]:
    return [p for p in (settings.medical_dir / "documents").rglob("*") if p.is_file()]


def test_a_medical_document_is_sealed_under_a_keyed_address(settings: Settings) -> None:
    data = f"Diagnosis: {CANARY}\n".encode()
    stored = documents.save(settings, Upload(f"{CANARY}.txt", data), medical=True)
    again = documents.save(settings, Upload("copy.txt", data), medical=True)
    assert stored == again
    assert stored.sha256 != hashlib.sha256(data).hexdigest()  # a guess cannot be confirmed
    (path,) = _medical_files(settings)
    assert CANARY.encode() not in path.read_bytes()
    assert path.name == stored.sha256[2:]
    assert _mode(path) == 0o600
    key = settings.resolved_medical_key_file
    assert key == settings.data_dir / "medical" / "key"
    assert _mode(key) == 0o600
    assert documents.load(settings, stored.sha256, medical=True) == data


def test_medical_and_ordinary_documents_live_in_separate_folders(settings: Settings) -> None:
    documents.save(settings, Upload("a.pdf", samples.PDF), medical=True)
    assert not settings.documents_dir.exists()
    assert len(_medical_files(settings)) == 1


def _other_key(tmp_path: Path) -> Path:
    path = tmp_path / "other.key"
    path.write_text(new_key_line() + "\n")
    return path


def test_a_medical_document_read_with_another_key_is_refused_not_garbled(
    settings: Settings, tmp_path: Path
) -> None:
    stored = documents.save(settings, Upload("a.pdf", samples.PDF), medical=True)
    other = settings.model_copy(update={"medical_key_file": _other_key(tmp_path)})
    with pytest.raises(ConfigError, match=r"encrypted under medical key [0-9a-f]{16}"):
        documents.load(other, stored.sha256, medical=True)


def test_a_sealed_file_altered_on_disk_fails_its_authentication_tag(settings: Settings) -> None:
    stored = documents.save(settings, Upload("a.pdf", samples.PDF), medical=True)
    (path,) = _medical_files(settings)
    sealed = bytearray(path.read_bytes())
    sealed[-1] ^= 0x01
    path.write_bytes(bytes(sealed))
    with pytest.raises(StoreError, match="integrity check"):
        documents.load(settings, stored.sha256, medical=True)


def test_a_sealed_file_moved_to_another_address_does_not_open(settings: Settings) -> None:
    first = documents.save(settings, Upload("a.pdf", samples.PDF), medical=True)
    second = documents.save(settings, Upload("b.txt", samples.TEXT), medical=True)
    root = documents.medical_documents_dir(settings)
    source = root / first.sha256[:2] / first.sha256[2:]
    target = root / second.sha256[:2] / second.sha256[2:]
    target.write_bytes(source.read_bytes())
    with pytest.raises(StoreError, match="integrity check"):
        documents.load(settings, second.sha256, medical=True)


def test_old_keys_in_the_key_file_still_open_what_they_sealed(
    settings: Settings, tmp_path: Path
) -> None:
    stored = documents.save(settings, Upload("a.pdf", samples.PDF), medical=True)
    old = settings.resolved_medical_key_file.read_text()
    rotated = tmp_path / "rotated.key"
    rotated.write_text(new_key_line() + "\n" + old)
    after = settings.model_copy(update={"medical_key_file": rotated})
    assert documents.load(after, stored.sha256, medical=True) == samples.PDF
    newer = documents.save(after, Upload("a.pdf", samples.PDF), medical=True)
    assert newer.sha256 != stored.sha256  # the new key addresses the same content anew


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "holds no key"),
        ("not-a-key\n", "line 1 is not a key"),
        ("# comment\n" + "A" * 10 + "\n", "line 2 is not a key"),
        ("directory", "cannot be read"),
    ],
)
def test_a_bad_configured_key_file_is_one_clear_configuration_error(
    settings: Settings, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "secret" / "medical.key"
    if content == "directory":
        path.mkdir(parents=True)
    elif content is not None:
        path.parent.mkdir()
        path.write_text(content)
    configured = settings.model_copy(update={"medical_key_file": path})
    with pytest.raises(ConfigError, match=message) as caught:
        documents.save(configured, Upload("a.pdf", samples.PDF), medical=True)
    assert str(path) in str(caught.value)
    assert not path.is_file() or content is not None  # a configured file is never created


def test_a_lost_default_key_is_not_silently_replaced_while_sealed_files_exist(
    settings: Settings,
) -> None:
    documents.save(settings, Upload("a.pdf", samples.PDF), medical=True)
    settings.resolved_medical_key_file.unlink()
    with pytest.raises(ConfigError, match="missing but the medical store holds data"):
        documents.save(settings, Upload("b.txt", samples.TEXT), medical=True)


# --- downloads -------------------------------------------------------------------------


def test_download_headers_force_an_attachment_of_the_detected_type() -> None:
    headers = documents.download_headers("application/pdf", "exemption-request-7-document-1.pdf")
    assert headers == {
        "Content-Type": "application/pdf",
        "Content-Disposition": (
            'attachment; filename="exemption-request-7-document-1.pdf"; '
            "filename*=UTF-8''exemption-request-7-document-1.pdf"
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


@pytest.mark.parametrize("media_type", ["text/html", "image/svg+xml", "application/x-foo", ""])
def test_a_type_outside_the_allowlist_is_sent_as_opaque_bytes(media_type: str) -> None:
    headers = documents.download_headers(media_type, "x.html")
    assert headers["Content-Type"] == "application/octet-stream"


def test_plain_text_is_sent_with_its_charset() -> None:
    assert documents.download_headers("text/plain", "n.txt")["Content-Type"] == (
        "text/plain; charset=utf-8"
    )


def test_a_hostile_download_name_is_sanitised() -> None:
    name = '../../etc/Arzt\u202egnp.exe"\r\nSet-Cookie: a=b; Brief für José.pdf'
    disposition = documents.download_headers("application/pdf", name)["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert "\u202e" not in disposition and "%E2%80%AE" not in disposition
    assert "/" not in disposition.split("filename*=")[1].replace("UTF-8''", "")
    fallback = disposition.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and '"' not in fallback and ";" not in fallback
    assert fallback.endswith("_Brief_fur_Jose.pdf")  # accents dropped, not mangled
    assert "f%C3%BCr%20Jos%C3%A9.pdf" in disposition  # UTF-8, percent-encoded


def test_the_server_made_download_name_carries_nothing_the_employee_typed() -> None:
    assert documents.download_name(42, 2, "application/pdf") == (
        "exemption-request-42-document-2.pdf"
    )
    assert documents.download_name(42, 1, "image/jpeg").endswith(".jpg")
