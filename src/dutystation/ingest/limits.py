"""How much an import file may expand (RELIABILITY C6, T26): a gzip-compressed CSV is
inflated as a stream with an output-byte counter, an XLSX (a ZIP archive) is checked and
its parts inflated once, counted, before the spreadsheet reader sees it. Both stop at the
cap, so a bomb costs at most the cap plus one read block (1 MiB) of work and nothing of it
is written anywhere.

The defaults are the settings' defaults (docs/configuration.md); the importing services
pass the configured values with ``limits_from(settings)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dutystation.settings import Settings

# The compression-ratio rule only applies past this much output: small files of repeated
# rows (tests, tiny exports) compress far better than any real export does.
RATIO_FLOOR_BYTES = 64 << 20


@dataclass(frozen=True)
class IngestLimits:
    gzip_max_bytes: int = 64 << 30  # decompressed size of one .csv.gz
    xlsx_max_bytes: int = 2 << 30  # uncompressed size of all parts of one XLSX
    xlsx_max_entries: int = 1000  # parts (files) in one XLSX
    max_compression_ratio: int = 100  # output bytes per compressed byte, past the floor


def limits_from(settings: Settings) -> IngestLimits:
    return IngestLimits(
        gzip_max_bytes=settings.import_gzip_max_bytes,
        xlsx_max_bytes=settings.import_xlsx_max_bytes,
        xlsx_max_entries=settings.import_xlsx_max_entries,
        max_compression_ratio=settings.import_max_compression_ratio,
    )


def too_expanded(output: int, compressed: int, limits: IngestLimits) -> bool:
    """Past the floor, more output per compressed byte than any real export produces."""
    return output > RATIO_FLOOR_BYTES and output > limits.max_compression_ratio * max(compressed, 1)
