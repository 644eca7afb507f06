"""Patterns of the identifiers the area routes take: HR ids, org-unit codes and office
site ids are 1 to 64 ASCII letters, digits, '.', '_' or '-' (``domain.values.ID_PATTERN``,
what every import accepts). Checking them at the edge turns a value that can name nothing
into a 422 before any service looks it up."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator, Field

ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
GROUP_PATTERN = r"^[a-z_]{1,64}$"

Code = Annotated[str, Field(pattern=ID_PATTERN)]
OrgUnitQuery = Annotated[
    str | None,
    Query(pattern=ID_PATTERN, description="Only this org unit and the units below it."),
]


def _iso_day(value: object) -> object:
    """Only ``YYYY-MM-DD`` (or a date): pydantic alone would also read ``0`` or ``"0.0"``
    as a Unix time, turning a typo into 1970-01-01."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("a day is written YYYY-MM-DD")


# A day given by the caller (query, form or body).
Day = Annotated[date, BeforeValidator(_iso_day)]


def _utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without their offset."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# A time in an answer: always with its offset (RFC 3339 date-time).
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
