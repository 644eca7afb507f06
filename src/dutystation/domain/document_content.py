"""What an uploaded document really is, judged by its bytes (never by its name or the type
the browser declared), and whether it may be kept.

A short allowlist, checked by signature: PDF, PNG, JPEG, plain UTF-8 text, and two word
processor formats that are ZIP containers (DOCX, ODT). Those two are checked from the
ZIP's central directory plus one small manifest member read with an output cap: nothing
is extracted, so a zip bomb costs a directory scan, not memory or disk. Everything else
is refused with a reason: programs and scripts, web pages and SVG (they can run scripts
in a browser), archives, old binary Office files (macros), and content whose name
claims another type.

Pure: bytes in, a verdict out (``DocumentType`` or ``Refusal``). The service turns a
refusal into ``DocumentRejected`` naming the document by its position, never its name.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentType:
    media_type: str
    label: str  # reads after "which is": "a PDF document"
    extensions: tuple[str, ...]  # names may end in one of these, or in none; first preferred

    @property
    def preferred_extension(self) -> str:
        return self.extensions[0]


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str  # one clause, completes "document 2: ..."


PDF = DocumentType("application/pdf", "a PDF document", (".pdf",))
PNG = DocumentType("image/png", "a PNG image", (".png",))
JPEG = DocumentType("image/jpeg", "a JPEG image", (".jpg", ".jpeg", ".jpe", ".jfif"))
TEXT = DocumentType("text/plain", "plain text", (".txt", ".text", ".md"))
DOCX = DocumentType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "a Word document (DOCX)",
    (".docx",),
)
ODT = DocumentType(
    "application/vnd.oasis.opendocument.text", "an OpenDocument text (ODT)", (".odt",)
)
ACCEPTED: tuple[DocumentType, ...] = (PDF, PNG, JPEG, TEXT, DOCX, ODT)
ACCEPTED_NAMES = "PDF, PNG, JPEG, plain text, DOCX or ODT"

# ZIP containers: limits far above any real word-processor file, far below a bomb.
ZIP_MAX_ENTRIES = 1000
ZIP_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
ZIP_MAX_RATIO = 200  # per part larger than 1 MiB; XML compresses ~10-20:1
MANIFEST_MAX_BYTES = 256 * 1024
_DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

_PROGRAMS: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "a Linux program (ELF)"),
    (b"\xfe\xed\xfa\xce", "a macOS program (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "a macOS program (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "a macOS program (Mach-O)"),
    (b"\xcf\xfa\xed\xfe", "a macOS program (Mach-O)"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java program"),
    (b"\x00asm", "a WebAssembly program"),
    (b"#!", "a script"),
)
_ARCHIVES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"Rar!\x1a\x07", "RAR"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"MSCF", "cabinet"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# C0 controls other than tab, LF, FF, CR; DEL; C1 controls: binary, or terminal escapes.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# Markup a browser would render (HTML sniffing starts at the first "<"), or the tags that
# carry scripts wherever they appear.
_SCRIPT_TAGS = re.compile(
    r"<\s*(?:script|svg|html|iframe|object|embed|\?xml|!doctype|foreignobject)\b", re.I
)
_EXTENSION = re.compile(r"\.[a-z0-9]{1,8}")


def classify(data: bytes, file_name: str, *, max_bytes: int) -> DocumentType | Refusal:
    """The accepted type of ``data``, or why it is refused. Checks run cheapest and most
    decisive first; the name is looked at last, and only its extension."""
    if not data:
        return Refusal("empty", "the file is empty")
    if len(data) > max_bytes:
        return Refusal(
            "too_large",
            f"it is {len(data):,} bytes, over the limit of {max_bytes:,} bytes "
            f"({_human(max_bytes)})",
        )
    found = _by_content(data)
    if isinstance(found, Refusal):
        return found
    extension = _extension(file_name)
    if extension is not None and extension not in found.extensions:
        return Refusal(
            "name_mismatch",
            f"the extension of its name does not match its content, which is {found.label}; "
            f"name it {found.preferred_extension} or convert it",
        )
    return found


def _by_content(data: bytes) -> DocumentType | Refusal:
    for magic, kind in _PROGRAMS:
        if data.startswith(magic):
            return Refusal("executable", f"it is {kind}, and programs are never accepted")
    # A DOS/Windows executable's header holds NUL bytes; a text starting "MZ" does not.
    if data.startswith(b"MZ") and b"\x00" in data[:64]:
        return Refusal("executable", "it is a Windows program, and programs are never accepted")
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(_ZIP):
        return _zip_document(data)
    if data.startswith(_OLE2):
        return Refusal(
            "legacy_office",
            "it is an old-format Office file or Windows installer, which can carry macros; "
            "save it as PDF or DOCX",
        )
    for magic, kind in _ARCHIVES:
        if data.startswith(magic):
            return _archive(kind)
    if data[257:262] == b"ustar":
        return _archive("tar")
    return _text(data)


def _archive(kind: str) -> Refusal:
    return Refusal(
        "archive", f"it is an archive ({kind}), not a document; attach the documents themselves"
    )


def _text(data: bytes) -> DocumentType | Refusal:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _unknown()
    if _CONTROL.search(text):
        return _unknown()
    if text.lstrip().startswith("<") or _SCRIPT_TAGS.search(text):
        return Refusal(
            "markup",
            "it is a web page, SVG image or other markup, which can carry scripts; "
            "send it as PDF or plain text",
        )
    return TEXT


def _unknown() -> Refusal:
    return Refusal("unknown_type", f"its content is not an accepted type ({ACCEPTED_NAMES})")


def _zip_document(data: bytes) -> DocumentType | Refusal:
    """DOCX or ODT, judged from the central directory and one capped manifest read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            problem = _zip_structure_problem(infos, len(data))
            if problem is not None:
                return problem
            names = {info.filename for info in infos}
            if "[Content_Types].xml" in names:
                return _docx(archive, names)
            if infos[0].filename == "mimetype":
                return _odt(archive, infos[0], names)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, RuntimeError):
        return Refusal("damaged", "it is a damaged or unreadable ZIP-based file")
    except NotImplementedError:
        return _archive("ZIP with an unsupported compression")
    return _archive("ZIP")


def _zip_structure_problem(infos: list[zipfile.ZipInfo], size: int) -> Refusal | None:
    if not infos or len(infos) > ZIP_MAX_ENTRIES:
        return _archive("ZIP with an implausible number of parts")
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        unsafe = (
            name in seen
            or name.startswith("/")
            or "\\" in name
            or "\x00" in name
            or ".." in name.split("/")
            or info.flag_bits & 0x1  # encrypted
            or (info.external_attr >> 16) & 0o170000 == 0o120000  # symlink
            or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        )
        if unsafe:
            return _archive("ZIP with unsafe, encrypted or duplicate parts")
        seen.add(name)
    declared = sum(info.file_size for info in infos)
    bomb = declared > ZIP_MAX_UNCOMPRESSED_BYTES or any(
        info.file_size > 1024 * 1024 and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1)
        for info in infos
    )
    if bomb:
        return Refusal(
            "zip_bomb", "it would expand to far more than any document does (a zip bomb)"
        )
    # Parts must not overlap (a classic bomb reuses one compressed stream many times).
    ordered = sorted(infos, key=lambda i: i.header_offset)
    ends = [i.header_offset + 30 + _name_bytes(i) + i.compress_size for i in ordered]
    starts = [i.header_offset for i in ordered[1:]] + [size]
    if any(end > start for end, start in zip(ends, starts, strict=True)):
        return Refusal(
            "zip_bomb", "it would expand to far more than any document does (a zip bomb)"
        )
    return None


def _name_bytes(info: zipfile.ZipInfo) -> int:
    """Length of the name as stored: UTF-8 when flagged, else CP437 (zipfile decoded it so)."""
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    try:
        return len(info.orig_filename.encode(encoding))
    except UnicodeEncodeError:
        return len(info.orig_filename.encode("utf-8"))


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    with archive.open(info) as part:
        content = part.read(MANIFEST_MAX_BYTES + 1)
    return None if len(content) > MANIFEST_MAX_BYTES else content


def _active(kind: str) -> Refusal:
    return Refusal(
        "active_content",
        f"it is {kind} with macros, controls or embedded objects; save it as PDF without them",
    )


def _docx(archive: zipfile.ZipFile, names: set[str]) -> DocumentType | Refusal:
    manifest = _read_capped(archive, archive.getinfo("[Content_Types].xml"))
    if manifest is None:
        return Refusal("damaged", "it is a damaged Office file")
    if b"macroenabled" in manifest.lower() or any(
        n.lower().endswith("vbaproject.bin") or "/activex/" in n.lower() or "/embeddings/" in n
        for n in names
    ):
        return _active("a Word document")
    if _DOCX_MAIN not in manifest or "word/document.xml" not in names:
        return _unknown()
    return DOCX


def _odt(
    archive: zipfile.ZipFile, first: zipfile.ZipInfo, names: set[str]
) -> DocumentType | Refusal:
    # ODF requires "mimetype" first and stored, so its type is readable without inflating.
    mimetype = _read_capped(archive, first)
    if first.compress_type != zipfile.ZIP_STORED or mimetype != _ODT_MIMETYPE:
        return _unknown()
    if "content.xml" not in names:
        return Refusal("damaged", "it is a damaged OpenDocument file")
    if any(n.startswith(("Basic/", "Scripts/", "Object ")) for n in names):
        return _active("an OpenDocument text")
    return ODT


def _extension(file_name: str) -> str | None:
    """The extension of the last path component, if it looks like one ("x.PDF" -> ".pdf";
    "Dr. J. Smith" has none)."""
    base = re.split(r"[/\\]", file_name)[-1]
    dot = base.rfind(".")
    if dot <= 0:
        return None
    candidate = base[dot:].lower()
    return candidate if _EXTENSION.fullmatch(candidate) else None


def _human(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"
