"""RELIABILITY T26 ``upload_and_archive_limits``, the file side (C6): a gzip bomb stops at
its decompressed-size cap within one read block, and an XLSX (a ZIP) that is a bomb, nests
archives, lies about its sizes, overlaps its parts, or names parts outside its root is
refused with one sentence before any reader inflates it, and nothing is written anywhere.

The gzip bomb is built so that reading more than ``cap + 1 MiB`` would hit corrupt data
first and change the error: the message itself proves where reading stopped. CI uses an
8 MiB cap; ``DUTYSTATION_TEST_PROFILE=nightly`` a 256 MiB one and a ratio bomb four times
past the floor.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from dutystation.errors import InputFileError
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.limits import RATIO_FLOOR_BYTES, IngestLimits
from dutystation.ingest.profiles import default_profile
from dutystation.ingest.sources import open_source

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
MiB = 1 << 20
CAP = (256 if NIGHTLY else 8) * MiB
BADGES = default_profile(ImportKind.BADGES)
HEADER = b"employee_id,timestamp,site_id,direction\n"
ROW = b"E00001,2025-03-03T08:00:00-05:00,DC1,IN\n"


def refusal(path: Path, limits: IngestLimits | None = None) -> str:
    with pytest.raises(InputFileError) as info:
        source = open_source(path, BADGES, limits=limits)
        for _ in source.batches():
            pass
    return info.value.reason


def rows(total: int) -> bytes:
    body = HEADER + ROW * ((total - len(HEADER)) // len(ROW) + 1)
    return body[:total]


# --- gzip ---------------------------------------------------------------------------------


def gzip_cut_after(data: bytes) -> bytes:
    """A gzip member holding ``data`` that is cut right after it: whoever reads past
    ``len(data)`` output bytes finds corrupt (truncated) data."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)


def test_a_gzip_bomb_stops_within_a_block_of_the_cap(tmp_path: Path) -> None:
    limits = IngestLimits(gzip_max_bytes=CAP)
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip_cut_after(rows(CAP + MiB)))
    reason = refusal(path, limits)
    # Reading past cap + 1 MiB would have met the cut and said "truncated".
    assert reason == (
        f"the gzip file expands to more than {CAP:,} bytes (setting import_gzip_max_bytes)"
    )
    # The same cut, seen by a reader allowed to go on, is reported as such.
    assert refusal(path, IngestLimits(gzip_max_bytes=4 * CAP)) == "truncated or corrupt gzip data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.csv.gz"]


def test_a_gzip_file_under_the_cap_is_read_whole(tmp_path: Path) -> None:
    data = rows(2 * MiB)
    path = tmp_path / "fine.csv.gz"
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    path.write_bytes(packer.compress(data) + packer.flush())
    source = open_source(path, BADGES, limits=IngestLimits(gzip_max_bytes=len(data)))
    assert sum(b.num_rows for b in source.batches()) == data.count(b"\n") - 1


def test_a_gzip_that_expands_far_beyond_any_export_is_refused_as_a_bomb(tmp_path: Path) -> None:
    """The default cap is large (64 GiB): the ratio rule stops a bomb long before it."""
    size = RATIO_FLOOR_BYTES + (3 * RATIO_FLOOR_BYTES if NIGHTLY else 4 * MiB)
    path = tmp_path / "ratio.csv.gz"
    path.write_bytes(gzip_cut_after(rows(size)))
    reason = refusal(path, IngestLimits())
    assert reason.startswith("the gzip file expands more than 100 times (a gzip bomb")


# --- XLSX ---------------------------------------------------------------------------------


def workbook_bytes() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["employee_id", "timestamp", "site_id", "direction"])
    sheet.append(["E00001", "2025-03-03T08:00:00-05:00", "DC1", "IN"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_parts(*parts: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    """The real workbook with more parts appended."""
    buffer = io.BytesIO(workbook_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
            for info, data in parts:
                archive.writestr(info, data)
    return buffer.getvalue()


def save(tmp_path: Path, data: bytes, name: str = "book.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def central_entry(data: bytes, name: str) -> int:
    """Offset of the central directory entry of part ``name``."""
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + length] == name.encode():
            return at
        at = data.find(b"PK\x01\x02", at + 4)
    raise KeyError(name)


def patch(data: bytes, at: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


def test_a_real_workbook_passes_every_check(tmp_path: Path) -> None:
    source = open_source(save(tmp_path, workbook_bytes()), BADGES, limits=IngestLimits())
    assert sum(b.num_rows for b in source.batches()) == 1


def test_more_parts_than_the_cap_are_refused_before_the_directory_is_read(
    tmp_path: Path,
) -> None:
    parts = [(f"xl/media/p{i}.bin", b"x") for i in range(60)]
    reason = refusal(save(tmp_path, with_parts(*parts)), IngestLimits(xlsx_max_entries=50))
    assert "parts, more than 50 (setting import_xlsx_max_entries)" in reason


def test_a_declared_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    bomb = with_parts(("xl/worksheets/sheet9.xml", b"\0" * (2 * MiB)))
    reason = refusal(save(tmp_path, bomb), IngestLimits(xlsx_max_bytes=MiB))
    assert reason == (
        f"the ZIP/XLSX file would expand to more than {MiB:,} bytes (setting import_xlsx_max_bytes)"
    )


def test_a_part_that_lies_about_its_size_is_caught_by_counting(tmp_path: Path) -> None:
    name = "xl/media/big.bin"
    data = with_parts((name, b"\0" * (4 * MiB)))
    entry = central_entry(data, name)
    local = struct.unpack_from("<L", data, entry + 42)[0]
    data = patch(data, entry + 24, "<L", 1000)  # central: uncompressed size
    data = patch(data, local + 22, "<L", 1000)  # local header too
    assert "larger than it declares (a zip bomb)" in refusal(save(tmp_path, data))


def test_overlapping_parts_are_refused(tmp_path: Path) -> None:
    """Fifield's bomb: parts whose compressed data overlap, so one stream counts many
    times. Here the first part claims to run into the next one's header."""
    data = with_parts(("xl/media/a.bin", b"a" * 1000), ("xl/media/b.bin", b"b" * 1000))
    entry = central_entry(data, "xl/media/a.bin")
    size = struct.unpack_from("<L", data, entry + 20)[0]
    data = patch(data, entry + 20, "<L", size + 64)
    assert refusal(save(tmp_path, data)) == "the ZIP/XLSX file has overlapping parts (a zip bomb)"


@pytest.mark.parametrize(
    "name",
    ["../evil.csv", "/etc/evil.csv", "C:/evil.csv", "xl\\..\\..\\evil.csv", "xl/../../evil.csv"],
)
def test_part_names_outside_the_archive_root_are_refused(tmp_path: Path, name: str) -> None:
    reason = refusal(save(tmp_path / "", with_parts((name, b"x"))))
    assert reason == (
        "the ZIP/XLSX file has an unsafe part name (absolute, '..', backslash or duplicate)"
    )
    assert not (tmp_path.parent / "evil.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]


def test_duplicate_part_names_are_refused(tmp_path: Path) -> None:
    data = with_parts(("xl/worksheets/SHEET1.xml", b"<worksheet/>"))
    assert "unsafe part name" in refusal(save(tmp_path, data))


def test_a_symlink_part_is_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("xl/media/link")
    link.external_attr = (0o120777 << 16) | 0x20
    assert refusal(save(tmp_path, with_parts((link, b"/etc/passwd")))).endswith(
        "holds a symbolic link"
    )


def test_nested_archives_are_refused(tmp_path: Path) -> None:
    """42.zip nests archives five deep; one level is already refused."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("0.zip", b"\0" * 1024)
    data = with_parts(("xl/embeddings/oleObject1.bin", inner.getvalue()))
    assert "holds another archive inside it" in refusal(save(tmp_path, data))
    gz = with_parts(("xl/embeddings/data.bin", zlib.compress(b"x", wbits=31)))
    assert "holds another archive inside it" in refusal(save(tmp_path, gz, "gz.xlsx"))


def test_encrypted_and_zip64_parts_are_refused(tmp_path: Path) -> None:
    name = "xl/media/secret.bin"
    data = with_parts((name, b"s" * 100))
    entry = central_entry(data, name)
    flags = struct.unpack_from("<H", data, entry + 8)[0]
    encrypted = patch(data, entry + 8, "<H", flags | 0x1)
    assert "is encrypted" in refusal(save(tmp_path, encrypted))

    buffer = io.BytesIO(workbook_bytes())
    with (
        zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/media/big.bin", "w", force_zip64=True) as part,
    ):
        part.write(b"z" * 100)
    assert "uses ZIP64" in refusal(save(tmp_path, buffer.getvalue(), "zip64.xlsx"))


def test_a_damaged_checksum_is_refused(tmp_path: Path) -> None:
    name = "xl/media/part.bin"
    data = with_parts((name, b"p" * 5000))
    entry = central_entry(data, name)
    crc = struct.unpack_from("<L", data, entry + 16)[0]
    assert "does not match its checksum" in refusal(
        save(tmp_path, patch(data, entry + 16, "<L", crc ^ 1))
    )
