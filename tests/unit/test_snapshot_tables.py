"""The snapshot's derivations that need no database (services/snapshot_tables.py,
services/rows_file.py): the last safety net that keeps medical categories out of stored
reasons, and the org tree rows the overview drills down with."""

from __future__ import annotations

import pyarrow as pa

from dutystation.services import snapshot_tables as tables
from dutystation.services.rows_file import redacted

REASONS = [
    "approved exemption (medical_condition) from 2025-02-10 to 2025-05-09",
    "exempt: Disability Accommodation until 2025-06-30",
    "approved exemption (compelling_reason) from 2025-01-21 to 2025-03-14",
    "2 of 3 days on site at the Biomedical Research Office",
]


def test_stored_reasons_never_name_a_medical_category_whatever_the_evaluation_wrote() -> None:
    plain = pa.table({"employee_id": ["1", "2", "3", "4"], "reason": REASONS})
    encoded = plain.set_column(1, "reason", plain.column("reason").dictionary_encode())
    for table in (plain, encoded):
        cleaned = redacted(table).column("reason").cast(pa.string()).to_pylist()
        assert cleaned == [
            "approved exemption (confidential category) from 2025-02-10 to 2025-05-09",
            "exempt: confidential category until 2025-06-30",
            REASONS[2],
            REASONS[3],  # whole words only: an office's name stays as it is
        ]


def test_every_unit_knows_its_parent_and_depth() -> None:
    chains = {"D": ("D",), "D-A": ("D", "D-A"), "D-A-1": ("D", "D-A", "D-A-1")}
    rows = {r["org_unit"]: r for r in tables.org_units(chains).to_pylist()}
    assert rows["D"] == {"org_unit": "D", "parent": None, "depth": 1, "org_path": "D"}
    assert rows["D-A-1"]["parent"] == "D-A" and rows["D-A-1"]["org_path"] == "D/D-A/D-A-1"
