"""Read side of the effective-dated roster for analytics: every assignment version at once.

``roster_as_of`` answers "who was assigned on day D"; the evaluator needs the whole
history so it can read each employee's org unit, duty station and arrangement as of every
day of a range. Both functions here are one SELECT each, turned into Arrow column-wise
(no row objects per employee), and the org chains are built once per unit, not per row.
``employee_home`` is not read: nothing here can leak a home location into a report.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from dutystation.domain.org import ancestor_chains
from dutystation.store.schema import Employee, EmployeeAssignment, Office, OrgUnit

# One row per assignment version, in force on [effective_from, effective_to) (exclusive end,
# NULL: still open). org_path: codes from the root down to org_unit, as on that version.
INTERVALS_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("name", pa.string()),
        ("effective_from", pa.date32()),
        ("effective_to", pa.date32()),
        ("org_unit", pa.string()),
        ("org_path", pa.list_(pa.string())),
        ("duty_station", pa.string()),
        ("arrangement", pa.string()),
        ("schedule", pa.string()),
        ("bargaining_unit", pa.string()),
        ("telework_eligible", pa.bool_()),
    ]
)


def org_unit_chains(session: Session) -> dict[str, tuple[str, ...]]:
    """For every stored org unit, the codes from the root down to the unit itself.

    The org tree is not effective-dated in the store: a unit's ancestors are today's."""
    units = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.parent_id)).all()
    code_of = {uid: code for uid, code, _ in units}
    return ancestor_chains(
        {code: code_of[parent] if parent is not None else None for _, code, parent in units}
    )


def assignment_intervals(session: Session) -> Any:
    """Every assignment version of every employee (``INTERVALS_SCHEMA``), in no particular
    order. Separated employees are included: their past versions are real."""
    a = EmployeeAssignment
    # Core, not ORM entities: per-row object work in SQLAlchemy was most of the time at
    # 250,000 employees. SQLite keeps dates as ISO text: read it as text and let Arrow
    # parse it, rather than a Python date per value (PostgreSQL's driver returns dates).
    as_text = session.get_bind().dialect.name == "sqlite"
    since = cast(a.effective_from, String) if as_text else a.effective_from
    until = cast(a.effective_to, String) if as_text else a.effective_to
    query = (
        select(
            Employee.employee_id,
            Employee.name,
            since,
            until,
            OrgUnit.code,
            Office.site_id,
            a.arrangement,
            a.schedule,
            a.bargaining_unit,
            a.telework_eligible,
        )
        .join(Employee, Employee.id == a.employee_pk)
        .join(OrgUnit, OrgUnit.id == a.org_unit_id)
        .outerjoin(Office, Office.id == a.duty_station_id)
    )
    # The driver's own tuples: SQLAlchemy's Row per assignment was a third of the time.
    # Its result processing is not needed: every column is text, a date or a flag, and
    # Arrow converts what SQLite keeps otherwise (dates as text, flags as 0 and 1) below.
    result = session.connection().execute(query)
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    plain = INTERVALS_SCHEMA.remove(INTERVALS_SCHEMA.get_field_index("org_path"))
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in plain]
    arrays = []
    for values, f in zip(columns, plain, strict=True):
        if f.type == pa.date32() and as_text:
            arrays.append(pa.array(values, pa.string()).cast(pa.date32()))
        elif f.type == pa.bool_() and as_text:  # SQLite keeps flags as 0 and 1
            arrays.append(pa.array(values, pa.int8()).cast(pa.bool_()))
        else:
            arrays.append(pa.array(values, type=f.type))
    table = pa.Table.from_arrays(arrays, schema=plain)
    # One chain per unit, gathered by index: no list built per employee in Python.
    chains = org_unit_chains(session)
    codes = sorted(chains)
    chain_array = pa.array([list(chains[c]) for c in codes], pa.list_(pa.string()))
    indices = pc.index_in(table.column("org_unit"), value_set=pa.array(codes, pa.string()))
    return table.add_column(
        INTERVALS_SCHEMA.get_field_index("org_path"),
        INTERVALS_SCHEMA.field("org_path"),
        chain_array.take(indices),
    )
