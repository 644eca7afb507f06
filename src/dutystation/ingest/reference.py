"""What row validation checks against: the known employees, badges and sites, as Arrow
tables handed over from the operational store (DuckDB never attaches the database)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

EMPLOYEES_SCHEMA = pa.schema([("employee_id", pa.string())])
# A badge number belongs to one employee from valid_from (inclusive) to valid_to
# (exclusive; null = still held). Badge numbers are reissued, so this is effective-dated.
BADGES_SCHEMA = pa.schema(
    [
        ("badge_id", pa.string()),
        ("employee_id", pa.string()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
    ]
)
SITES_SCHEMA = pa.schema([("site_id", pa.string()), ("timezone", pa.string())])


@dataclass(frozen=True)
class ReferenceData:
    employees: pa.Table
    badges: pa.Table
    sites: pa.Table

    @classmethod
    def empty(cls) -> ReferenceData:
        return cls(
            EMPLOYEES_SCHEMA.empty_table(), BADGES_SCHEMA.empty_table(), SITES_SCHEMA.empty_table()
        )
