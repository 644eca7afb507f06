"""The byte stream Arrow's CSV parser reads: raw file bytes in, UTF-8 bytes out.

It inflates gzip, skips a byte-order mark, transcodes other encodings incrementally (never
with replacement characters), counts what it hands over, and can append an end marker.
Failures inside ``read`` travel through Arrow as ``StreamFailure`` and become one
``InputFileError`` sentence at the edge.
"""

from __future__ import annotations

import codecs
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from dutystation.errors import InputFileError, Location
from dutystation.ingest._detect import Sniffed
from dutystation.ingest.limits import IngestLimits, too_expanded

# Arrow reads ahead about 32 blocks on a background thread, so the block size sets the
# memory floor; 1 MiB keeps ~10M rows/s while bounding read-ahead to a few tens of MiB.
BLOCK_BYTES = 1 << 20
# More input than this with no batch coming out means one record is swallowing the file;
# it must exceed Arrow's read-ahead (32 blocks) to never fire on a healthy file.
RECORD_CAP_BYTES = 64 << 20
# Appended after the last byte: Arrow sees it as a one-field record unless an unclosed quote
# swallows it, which is how a quote left open at the end of the file is noticed.
MARKER = "\x00dutystation-end-of-file\x00"


class StreamFailure(Exception):
    def __init__(self, reason: str, offset: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason  # gzip | gzip_cap | gzip_ratio | read | decode | record_cap | block
        self.offset = offset


class TextStream:
    """A file-like object for ``pa.PythonFile``. Arrow calls ``read`` from its read-ahead
    thread, hence the lock."""

    def __init__(
        self, path: Path, sniffed: Sniffed, *, marker: bool, limits: IngestLimits | None = None
    ) -> None:
        self._raw = pa.OSFile(str(path))
        self._limits = limits or IngestLimits()
        self._inflated = 0  # bytes out of the decompressor: counted against the cap
        self._compressed = sniffed.compression is not None
        self._source: Any = (
            pa.CompressedInputStream(self._raw, sniffed.compression)
            if sniffed.compression
            else self._raw
        )
        self._decoder = (
            None
            if sniffed.encoding == "utf-8"
            else codecs.getincrementaldecoder(sniffed.encoding)("strict")
        )
        self._skip = sniffed.bom
        self._marker = ("\n" + MARKER + "\n").encode() if marker else b""
        self._pending = b""
        self._eof = False
        self._stopped = False
        self._lock = threading.Lock()
        self._consumed = 0  # source bytes decoded so far (after decompression)
        self.since_progress = 0  # bytes handed out since the reader last produced a batch
        self.closed = False

    @property
    def raw_bytes_read(self) -> int:
        return 0 if self.closed else int(self._raw.tell())

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            if self._stopped:
                return b""
            want = size if size is not None and size >= 0 else 1 << 62
            while len(self._pending) < want and not self._eof:
                self._fill(max(want - len(self._pending), BLOCK_BYTES))
            out, self._pending = self._pending[:want], self._pending[want:]
            self.since_progress += len(out)
            if self.since_progress > RECORD_CAP_BYTES:
                raise StreamFailure("record_cap")
            return out

    def _fill(self, size: int) -> None:
        try:
            # One block at most per read: a gzip bomb is stopped within a block of the cap.
            chunk = bytes(self._source.read(min(size, BLOCK_BYTES)))
        except (OSError, pa.ArrowException):
            raise StreamFailure("gzip" if self._compressed else "read") from None
        self._eof = not chunk
        if self._compressed:
            self._inflated += len(chunk)
            if self._inflated > self._limits.gzip_max_bytes:
                raise StreamFailure("gzip_cap", self._limits.gzip_max_bytes)
            if too_expanded(self._inflated, int(self._raw.tell()), self._limits):
                raise StreamFailure("gzip_ratio", self._limits.max_compression_ratio)
        if self._skip:
            skipped = min(self._skip, len(chunk))
            chunk, self._skip = chunk[skipped:], self._skip - skipped
            self._consumed += skipped
        out = chunk
        if self._decoder is not None:
            buffered = len(self._decoder.getstate()[0])
            try:
                out = self._decoder.decode(chunk, final=self._eof).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise StreamFailure("decode", self._consumed - buffered + exc.start) from None
        self._consumed += len(chunk)
        self._pending += out + (self._marker if self._eof else b"")

    def stop(self) -> None:
        """Make Arrow's read-ahead thread see end-of-file, then release the file."""
        with self._lock:
            self._stopped = True
            self._raw.close()
            self.closed = True


def stream_error(path: Path, sniffed: Sniffed, failure: StreamFailure, near: int) -> InputFileError:
    if failure.reason == "gzip":
        return InputFileError(Location(path), "truncated or corrupt gzip data")
    if failure.reason == "gzip_cap":
        return InputFileError(
            Location(path),
            f"the gzip file expands to more than {failure.offset:,} bytes "
            "(setting import_gzip_max_bytes)",
        )
    if failure.reason == "gzip_ratio":
        return InputFileError(
            Location(path),
            f"the gzip file expands more than {failure.offset} times (a gzip bomb; "
            "setting import_max_compression_ratio)",
        )
    if failure.reason == "read":
        return InputFileError(Location(path), "the file could not be read to the end")
    if failure.reason in ("record_cap", "block"):
        cap = RECORD_CAP_BYTES if failure.reason == "record_cap" else BLOCK_BYTES
        return InputFileError(
            Location(path, near),
            f"unbalanced quote or a field longer than {cap >> 20} MiB, starting near line {near}",
        )
    return InputFileError(
        Location(path),
        f"the file is not valid {sniffed.encoding} text "
        f"(first bad byte at offset {failure.offset})",
    )
