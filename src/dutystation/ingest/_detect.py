"""Recognise what a file is from its first bytes: format, compression and text encoding.

The extension is only a cross-check: a known extension that names another format is
refused, because a mislabelled file usually means the wrong file was picked.
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from dutystation.errors import ConfigError, InputFileError, Location
from dutystation.ingest._archive import check_archive
from dutystation.ingest.limits import IngestLimits

PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and also password-protected .xlsx
PREFIX_BYTES = 64 << 10

_EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".gz": "gzip",
    ".gzip": "gzip",
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".psv": "csv",
    ".txt": "csv",
}
_NAMES = {
    "parquet": "a Parquet file",
    "xlsx": "an XLSX workbook",
    "gzip": "a gzip-compressed CSV file",
    "csv": "a CSV file",
}
_LOOKS_LIKE = {
    "parquet": "Parquet",
    "xlsx": "an XLSX workbook",
    "gzip": "gzip-compressed data",
    "zip": "a ZIP archive",
    "xls": "an old-style (.xls) or password-protected Excel workbook",
    "csv": "CSV",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say. ``encoding`` is a Python codec name and ``bom`` the number
    of byte-order-mark bytes to skip; both are meaningful for text only."""

    format: str  # csv | xlsx | parquet
    compression: str | None = None  # gzip
    encoding: str = "utf-8"
    bom: int = 0


def sniff(path: Path, declared_encoding: str | None, limits: IngestLimits | None = None) -> Sniffed:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InputFileError(Location(path), f"cannot read the file ({exc.strerror})") from None
    if size == 0:
        raise InputFileError(Location(path), "the file is empty")
    content = _content_format(path, head, limits or IngestLimits())
    claimed = _EXTENSIONS.get(_suffix(path))
    if claimed is not None and claimed != content:
        raise InputFileError(
            Location(path),
            f"this is not {_NAMES[claimed]} (it looks like {_LOOKS_LIKE[content]})",
        )
    if content in ("zip", "xls"):
        raise InputFileError(
            Location(path),
            f"{_LOOKS_LIKE[content]} cannot be read; save the data as XLSX, CSV or Parquet",
        )
    if content in ("parquet", "xlsx"):
        return Sniffed(content)
    compression = "gzip" if content == "gzip" else None
    prefix = _text_prefix(path, compression)
    if not prefix:
        raise InputFileError(Location(path), "the file is empty")
    if compression and (prefix.startswith((PARQUET_MAGIC, ZIP_MAGIC, GZIP_MAGIC))):
        raise InputFileError(
            Location(path),
            "a compressed Parquet, XLSX or nested gzip file is not supported; decompress it first",
        )
    encoding, bom = _encoding(path, prefix, declared_encoding)
    return Sniffed("csv", compression, encoding, bom)


def _suffix(path: Path) -> str:
    return path.suffix.casefold()


def _content_format(path: Path, head: bytes, limits: IngestLimits) -> str:
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if head.startswith(ZIP_MAGIC):
        # Sizes, names and layout first: the directory is only parsed once it is sane.
        check_archive(path, limits)
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, NotImplementedError, ValueError, EOFError):
            # zipfile raises NotImplementedError for unknown versions and compression types
            raise InputFileError(Location(path), "the ZIP/XLSX file is damaged") from None
        return "xlsx" if any(n.startswith("xl/") for n in names) else "zip"
    return "csv"


def _text_prefix(path: Path, compression: str | None) -> bytes:
    """The first bytes of the (decompressed) text, for encoding and header checks."""
    try:
        if compression is None:
            with path.open("rb") as fh:
                return fh.read(PREFIX_BYTES)
        with pa.CompressedInputStream(pa.OSFile(str(path)), compression) as stream:
            return bytes(stream.read(PREFIX_BYTES))
    except (OSError, pa.ArrowException):
        raise InputFileError(Location(path), "truncated or corrupt gzip data") from None


def _encoding(path: Path, prefix: bytes, declared: str | None) -> tuple[str, int]:
    # A byte-order mark is stronger evidence than a profile written for another export.
    for mark, encoding in _BOMS:
        if prefix.startswith(mark):
            return encoding, len(mark)
    if declared is not None:
        try:
            codec = codecs.lookup(declared)
        except LookupError:
            codec = None
        # base64, rot13 and friends are codecs too, but not text encodings.
        if codec is None or not getattr(codec, "_is_text_encoding", True):
            raise ConfigError(f"[source] encoding = {declared!r} is not a text encoding")
        name = codec.name
        if name not in ("utf-8", "utf-8-sig"):
            return name, 0
    utf16 = _utf16_without_bom(prefix)
    if utf16 is not None:
        raise InputFileError(
            Location(path),
            "the file looks like UTF-16 text without a byte-order mark; "
            f'use a profile with [source] encoding = "{utf16}"',
        )
    bad = first_invalid_utf8(prefix, final=len(prefix) < PREFIX_BYTES)
    if bad is not None:
        raise not_utf8(path, bad)
    return "utf-8", 0


def _utf16_without_bom(prefix: bytes) -> str | None:
    sample = prefix[:4096]
    half = len(sample) // 2
    if half < 4:
        return None
    # ASCII-range text in UTF-16 puts a zero in every other byte; ordinary text has none.
    if sample[1::2].count(0) > 0.7 * half:
        return "utf-16-le"
    if sample[0::2].count(0) > 0.7 * half:
        return "utf-16-be"
    return None


def first_invalid_utf8(data: bytes, *, final: bool) -> int | None:
    """Offset of the first byte that is not valid UTF-8; a sequence cut by the end of a
    non-final chunk is not an error."""
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(data, final)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def not_utf8(path: Path, offset: int) -> InputFileError:
    return InputFileError(
        Location(path),
        f"the file is not valid UTF-8 (first bad byte at offset {offset}); if it was saved "
        'as Latin-1 or Windows-1252, use a profile with [source] encoding = "latin-1" '
        '(or "cp1252")',
    )
