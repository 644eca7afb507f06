"""Parsing and checking one cell of a row, shared by every roster-like import (org units,
offices, the roster). Pure: text in, a value out or a ``RowError`` (reason code + column)
raised. Rejections never carry the value itself, because messages end up in terminals,
logs and quarantine files (RELIABILITY C9)."""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import TypeVar
from zoneinfo import available_timezones

RawRow = Mapping[str, str | None]

# One sentence per reason code; shown in summaries and quarantine files.
REASONS: dict[str, str] = {
    "missing_value": "a required value is empty",
    "malformed_row": "the row cannot be read (wrong number of fields or broken quoting)",
    "nul_byte": "the value contains a NUL character",
    "too_long": "the value is longer than allowed",
    "invalid_id": "not an identifier: use 1-64 ASCII letters, digits, '.', '_' or '-'",
    "excel_mangled_id": "looks like a number reformatted by a spreadsheet (e.g. 1.2E+11 or "
    "123.0); export identifiers as text",
    "invalid_date": "not a valid date in the expected format (YYYY-MM-DD unless the profile "
    "sets date_format) between 1900 and 2100",
    "invalid_boolean": "not a yes/no value (true/false, yes/no, y/n, 1/0)",
    "invalid_kind": "not an org unit kind (department, component, division, other)",
    "invalid_arrangement": "not an arrangement (onsite, telework, remote, field)",
    "invalid_schedule": "not a schedule (5x8, 4x10, 5-4/9, custom)",
    "invalid_timezone": "not an IANA time zone name (e.g. America/New_York)",
    "invalid_latitude": "not a latitude: a number between -90 and 90",
    "invalid_longitude": "not a longitude: a number between -180 and 180",
    "incomplete_coordinates": "latitude and longitude must be given together",
    "invalid_seats": "not a seat count: a whole number, 0 or more",
    "invalid_zip": "not a ZIP code: 5 digits, or ZIP+4",
    "unknown_org_unit": "the org unit is not known (import org units first)",
    "unknown_office": "the office is not known (import offices first)",
    "unknown_supervisor": "the supervisor is neither stored nor imported in this batch",
    "self_supervision": "an employee cannot be their own supervisor",
    "duty_station_required": "onsite and telework arrangements need a duty station",
    "conflicting_duplicate": "the same key appears more than once in this import with "
    "different values; all of those rows were rejected",
    "duplicate_badge": "the same badge is given to two employees from the same date",
}

ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Spreadsheets turn long numeric ids into 1.23457E+11 or 12345.0; both lose digits.
_EXCEL_NUMBER = re.compile(r"\d+\.0+|\d(\.\d+)?[eE][+-]\d+")
# Zero-width and bidi controls are invisible in every viewer; in an id they are noise
# that would silently split one person into two, so they are removed before matching.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u202a\u202b\u202c\u202d\u202e"
        "\u2066\u2067\u2068\u2069",
    ),
)
_ZIP = re.compile(r"(\d{5})(?:-\d{4})?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
MAX_NAME = 200
MAX_TEXT = 300


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one row was refused: a code from ``REASONS`` and the column at fault."""

    reason: str
    column: str | None

    @property
    def message(self) -> str:
        return REASONS[self.reason]


class RowError(Exception):
    """Raised by the parsers below; the row validators turn it into a ``Rejection``."""

    def __init__(self, reason: str, column: str | None) -> None:
        super().__init__(reason)
        self.rejection = Rejection(reason, column)


def check_no_nul(raw: RawRow) -> None:
    # PostgreSQL refuses NUL in text and SQLite stores it: reject up front for parity (C1).
    for column, value in raw.items():
        if value is not None and "\x00" in value:
            raise RowError("nul_byte", column)


def text(
    raw: RawRow,
    column: str,
    *,
    required: bool = False,
    limit: int = MAX_NAME,
    shared: bool = False,
) -> str | None:
    """Trimmed text; ``shared`` interns values that repeat across rows (job titles)."""
    value = raw.get(column)
    value = value.strip() if value is not None else None
    if not value:
        if required:
            raise RowError("missing_value", column)
        return None
    if len(value) > limit:
        raise RowError("too_long", column)
    return sys.intern(value) if shared else value


def identifier(raw: RawRow, column: str, *, required: bool = False) -> str | None:
    value = raw.get(column)
    return parse_id(value, column, required=required)


def parse_id(value: str | None, column: str, *, required: bool = False) -> str | None:
    valid = value is not None and ID_PATTERN.fullmatch(value) is not None
    cleaned = value if valid else (value or "").translate(_INVISIBLE).strip()
    if not cleaned:
        if required:
            raise RowError("missing_value", column)
        return None
    if cleaned[0].isdigit() and _EXCEL_NUMBER.fullmatch(cleaned):
        raise RowError("excel_mangled_id", column)
    if not valid and not ID_PATTERN.fullmatch(cleaned):
        raise RowError("invalid_id", column)
    # Ids recur (supervisors, stored state, org codes on every row): one shared object each.
    return sys.intern(cleaned)


def id_list(raw: RawRow, column: str, *, required: bool = False) -> tuple[str, ...]:
    """Codes separated by ';' (owning org units of an office): sorted, without repeats."""
    value = raw.get(column) or ""
    codes = {parse_id(part, column) for part in value.split(";") if part.strip()}
    codes.discard(None)
    if required and not codes:
        raise RowError("missing_value", column)
    return tuple(sorted(c for c in codes if c is not None))


def text_list(raw: RawRow, column: str) -> tuple[str, ...]:
    value = raw.get(column) or ""
    items = {part.strip() for part in value.split(";") if part.strip()}
    if any(len(item) > MAX_NAME for item in items):
        raise RowError("too_long", column)
    return tuple(sorted(items))


def parse_date(value: str | None, column: str, fmt: str | None = None) -> date | None:
    value = value.strip() if value is not None else None
    if not value:
        return None
    try:
        if fmt is None:
            # fromisoformat alone also takes 20260101 and week dates; the profile promised
            # YYYY-MM-DD, so anything else is a different format and rejected.
            if not _ISO_DATE.fullmatch(value):
                raise ValueError(value)
            day = date.fromisoformat(value)
        else:
            day = datetime.strptime(value, fmt).date()
    except ValueError:
        raise RowError("invalid_date", column) from None
    if not EARLIEST <= day <= LATEST:
        raise RowError("invalid_date", column)
    return day


def boolean(raw: RawRow, column: str) -> bool | None:
    value = (raw.get(column) or "").strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError("invalid_boolean", column)


def number(raw: RawRow, column: str, bound: float, reason: str) -> float | None:
    value = (raw.get(column) or "").strip()
    if not value:
        return None
    try:
        result = float(value)
    except ValueError:
        raise RowError(reason, column) from None
    if not math.isfinite(result) or not -bound <= result <= bound:
        raise RowError(reason, column)
    return result


def coordinates(raw: RawRow, lat: str, lon: str) -> tuple[float | None, float | None]:
    latitude = number(raw, lat, 90.0, "invalid_latitude")
    longitude = number(raw, lon, 180.0, "invalid_longitude")
    if (latitude is None) != (longitude is None):
        raise RowError("incomplete_coordinates", lat if latitude is None else lon)
    return latitude, longitude


def zip_code(raw: RawRow, column: str) -> str | None:
    value = (raw.get(column) or "").strip()
    if not value:
        return None
    match = _ZIP.fullmatch(value)
    if match is None:
        raise RowError("invalid_zip", column)
    return match.group(1)  # ZIP+4 normalised to the 5-digit ZIP the geocoder knows


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_name(raw: RawRow, column: str) -> str:
    value = text(raw, column, required=True, limit=64)
    assert value is not None
    # Membership in the tz database, not ZoneInfo(value): that also opens arbitrary
    # relative paths and accepts legacy aliases we do not want to store.
    if value not in _zones():
        raise RowError("invalid_timezone", column)
    return value


E = TypeVar("E")


def choice(raw: RawRow, column: str, allowed: Mapping[str, E], reason: str) -> E | None:
    """Look a value up in ``allowed`` (canonical text -> enum), case-insensitively."""
    value = raw.get(column)
    if value is None:
        return None
    found = allowed.get(value)
    if found is not None:
        return found
    value = unicodedata.normalize("NFC", value.strip()).lower()
    if not value:
        return None
    found = allowed.get(value)
    if found is None:
        raise RowError(reason, column)
    return found
