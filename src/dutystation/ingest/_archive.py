"""An XLSX is a ZIP archive: check it before any reader inflates it (RELIABILITY C6).

The spreadsheet reader holds a sheet in memory and trusts the archive's declared sizes,
so everything is settled here first, reading the archive's own structures:

* at most ``xlsx_max_entries`` parts, counted from the end record before the central
  directory is parsed; no ZIP64 (no workbook under the size cap needs it), no multi-disk;
* part names: no absolute or drive paths, no ``..``, no backslashes or NUL, no duplicates
  (compared case-insensitively), no symlink entries, no encryption, only stored or deflated
  parts, and the local header must name the same part as the central directory;
* parts must not overlap (one compressed stream shared by many entries is a classic bomb);
* the declared total must fit ``xlsx_max_bytes``, and then every part is inflated once,
  1 MiB at a time, counting the *actual* output: a part that produces more than it declared,
  ends early, fails its CRC, or holds another archive is refused. Nothing is written.

Each refusal is one ``InputFileError`` sentence; part names (file content) are never quoted.
"""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from dutystation.errors import InputFileError, Location
from dutystation.ingest.limits import IngestLimits, too_expanded

BLOCK_BYTES = 1 << 20
_EOCD = b"PK\x05\x06"
_EOCD_STRUCT = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = b"PK\x06\x07"
_LOCAL = b"PK\x03\x04"
_LOCAL_STRUCT = struct.Struct("<4s5H3L2H")
_MAX_COMMENT = 0xFFFF
_ZIP64_EXTRA = 0x0001
# Archives and compressed streams: a workbook never needs one inside it (42.zip nests).
_NESTED_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
)


def _refuse(path: Path, reason: str) -> InputFileError:
    return InputFileError(Location(path), f"the ZIP/XLSX file {reason}")


def check_archive(path: Path, limits: IngestLimits) -> None:
    """Raise ``InputFileError`` unless the archive is safe to hand to a ZIP reader."""
    with path.open("rb") as fh:
        entries, directory_offset = _end_record(path, fh, limits)
        try:
            with zipfile.ZipFile(fh) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise _refuse(path, "is damaged") from None
        if len(infos) != entries:
            raise _refuse(path, "is damaged (its directory and end record disagree)")
        _check_names(path, infos)
        declared = sum(info.file_size for info in infos)
        if declared > limits.xlsx_max_bytes:
            raise _refuse(path, _too_big(limits))
        if any(too_expanded(i.file_size, i.compress_size, limits) for i in infos):
            raise _refuse(path, "expands far more than any workbook does (a zip bomb)")
        starts = _check_layout(path, fh, infos, directory_offset)
        inflated = 0
        for info, start in zip(infos, starts, strict=True):
            inflated += _inflate(path, fh, info, start, limits, inflated)


def _too_big(limits: IngestLimits) -> str:
    return (
        f"would expand to more than {limits.xlsx_max_bytes:,} bytes (setting import_xlsx_max_bytes)"
    )


def _end_record(path: Path, fh: BinaryIO, limits: IngestLimits) -> tuple[int, int]:
    """(number of parts, central directory offset) from the end-of-central-directory
    record, read before the directory itself so a huge one is never parsed."""
    size = fh.seek(0, 2)
    tail_size = min(size, _EOCD_STRUCT.size + _MAX_COMMENT)
    fh.seek(size - tail_size)
    tail = fh.read(tail_size)
    at = tail.rfind(_EOCD)
    if at < 0 or at + _EOCD_STRUCT.size > len(tail):
        raise _refuse(path, "is damaged (no end record)")
    _, disk, directory_disk, on_disk, entries, dir_size, dir_offset, _ = _EOCD_STRUCT.unpack_from(
        tail, at
    )
    if disk or directory_disk or on_disk != entries:
        raise _refuse(path, "spans several disks, which a workbook never does")
    zip64 = (
        entries == 0xFFFF
        or dir_size == 0xFFFFFFFF
        or dir_offset == 0xFFFFFFFF
        or (at >= 20 and tail[at - 20 : at - 16] == _ZIP64_LOCATOR)
    )
    if zip64:
        raise _refuse(path, "uses ZIP64, which no workbook under the size limit needs")
    if entries > limits.xlsx_max_entries:
        raise _refuse(
            path,
            f"has {entries:,} parts, more than {limits.xlsx_max_entries:,} "
            "(setting import_xlsx_max_entries)",
        )
    if entries == 0:
        raise _refuse(path, "is empty")
    return entries, dir_offset


def _check_names(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.split("/")
        unsafe = (
            name.startswith("/")
            or (len(name) > 1 and name[1] == ":")  # C:... a drive
            or "\\" in name
            or "\x00" in name
            or ".." in parts
            or name.casefold() in seen
        )
        if unsafe:
            raise _refuse(path, "has an unsafe part name (absolute, '..', backslash or duplicate)")
        seen.add(name.casefold())
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _refuse(path, "holds a symbolic link")
        if info.flag_bits & 0x1:
            raise _refuse(path, "is encrypted; save it without a password")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(path, "uses a compression method workbooks do not use")
        if _has_zip64_extra(info.extra):
            raise _refuse(path, "uses ZIP64, which no workbook under the size limit needs")


def _has_zip64_extra(extra: bytes) -> bool:
    at = 0
    while at + 4 <= len(extra):
        header, size = struct.unpack_from("<HH", extra, at)
        if header == _ZIP64_EXTRA:
            return True
        at += 4 + size
    return False


def _name_bytes(info: zipfile.ZipInfo) -> bytes:
    """The name as stored: UTF-8 when flagged, else CP437 (how zipfile decoded it)."""
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    try:
        return info.orig_filename.encode(encoding)
    except UnicodeEncodeError:
        return info.orig_filename.encode("utf-8")


def _check_layout(
    path: Path, fh: BinaryIO, infos: list[zipfile.ZipInfo], directory_offset: int
) -> list[int]:
    """Where each part's data starts; refuses parts that overlap or that the local header
    names differently from the central directory."""
    spans: list[tuple[int, int, int]] = []  # header offset, data start, data end
    for info in infos:
        fh.seek(info.header_offset)
        header = fh.read(_LOCAL_STRUCT.size)
        if len(header) < _LOCAL_STRUCT.size or not header.startswith(_LOCAL):
            raise _refuse(path, "is damaged (a part's header is missing)")
        fields = _LOCAL_STRUCT.unpack(header)
        name_length, extra_length = fields[-2], fields[-1]
        if fh.read(name_length) != _name_bytes(info):
            raise _refuse(path, "names a part differently in two places (a smuggling trick)")
        if _has_zip64_extra(fh.read(extra_length)):
            raise _refuse(path, "uses ZIP64, which no workbook under the size limit needs")
        start = info.header_offset + _LOCAL_STRUCT.size + name_length + extra_length
        spans.append((info.header_offset, start, start + info.compress_size))
    ordered = sorted(spans)
    limits = [offset for offset, _, _ in ordered[1:]] + [directory_offset]
    if any(end > limit for (_, _, end), limit in zip(ordered, limits, strict=True)):
        raise _refuse(path, "has overlapping parts (a zip bomb)")
    return [start for _, start, _ in spans]


def _inflate(
    path: Path,
    fh: BinaryIO,
    info: zipfile.ZipInfo,
    start: int,
    limits: IngestLimits,
    before: int,
) -> int:
    """Inflate one part, counting; returns its actual size."""
    fh.seek(start)
    left = info.compress_size
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type else None
    produced, crc, head = 0, 0, b""
    pending = b""
    while True:
        if not pending and left > 0:
            pending = fh.read(min(left, BLOCK_BYTES))
            left -= len(pending)
            if not pending:
                raise _refuse(path, "is damaged (a part is cut short)")
        if inflater is None:
            out, pending = pending, b""
        else:
            try:
                out = inflater.decompress(pending, BLOCK_BYTES)
            except zlib.error:
                raise _refuse(path, "is damaged (a part cannot be inflated)") from None
            pending = inflater.unconsumed_tail
        produced += len(out)
        if produced > info.file_size:
            raise _refuse(path, "has a part larger than it declares (a zip bomb)")
        if before + produced > limits.xlsx_max_bytes:
            raise _refuse(path, _too_big(limits))
        if len(head) < 8:
            head += out[: 8 - len(head)]
        crc = zlib.crc32(out, crc)
        finished = inflater.eof if inflater is not None else left == 0
        if finished or (not out and not pending and left == 0):
            break
    if not finished or produced != info.file_size or crc != info.CRC:
        raise _refuse(path, "is damaged (a part does not match its checksum or size)")
    if head.startswith(_NESTED_MAGIC):
        raise _refuse(path, "holds another archive inside it; save the data alone as XLSX")
    return produced
