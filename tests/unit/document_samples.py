"""Small, real documents of each accepted type, and the hostile ones, built in memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
TEXT = b"Letter from the doctor.\nThe employee needs a quiet room.\n"
WINDOWS_PROGRAM = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00"
)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24
SCRIPT = b"#!/bin/sh\nrm -rf ~\n"
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n"
HTML_LATE = b"Dear RA office,\nsee below.\n<script>fetch('/api')</script>\n"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'
GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 10
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
BINARY = bytes(range(256))

_DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)


def png() -> bytes:
    """A valid 1x1 grey PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def _zip(parts: list[tuple[str, bytes]], *, first_stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, body) in enumerate(parts):
            stored = first_stored and index == 0
            archive.writestr(name, body, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def docx(*extra: tuple[str, bytes], types: str = _DOCX_TYPES) -> bytes:
    return _zip(
        [
            ("[Content_Types].xml", types.encode()),
            ("_rels/.rels", b"<Relationships/>"),
            ("word/document.xml", b"<w:document><w:body><w:p/></w:body></w:document>"),
            *extra,
        ]
    )


def odt() -> bytes:
    return _zip(
        [
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b"<office:document-content/>"),
            ("META-INF/manifest.xml", b"<manifest:manifest/>"),
        ],
        first_stored=True,
    )


def plain_zip() -> bytes:
    return _zip([("notes.txt", b"hello"), ("setup.exe", WINDOWS_PROGRAM)])


def docx_bomb(expanded_bytes: int = 32 * 1024 * 1024) -> bytes:
    """A DOCX whose one image part inflates ~1000:1 (written streaming, never held)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _DOCX_TYPES)
        archive.writestr("word/document.xml", b"<w:document/>")
        zeros = bytes(1024 * 1024)
        with archive.open("word/media/image1.png", "w", force_zip64=True) as part:
            for _ in range(expanded_bytes // len(zeros)):
                part.write(zeros)
    return buffer.getvalue()


def docx_overlapping() -> bytes:
    """A DOCX whose second central-directory entry points into the first part's bytes
    (the overlapping-entry construction of non-recursive zip bombs)."""
    data = bytearray(docx())
    second = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1)
    struct.pack_into("<I", data, second + 42, 1)  # local header offset: inside part one
    return bytes(data)
