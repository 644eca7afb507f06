"""How many people each legal status of an agreement clause covers: the ``agreements``
section of the ``not-returned`` report (docs/reports.md).

Whether a clause capping telework still binds is disputed (DESIGN.md §7), so a leader
needs to see how many of their people depend on that dispute: per legal status (in force,
disputed, grievance filed, held unenforceable), the people in scope whose bargaining unit
a clause in that status covered on their last day of the window, how many of them the
window reports ``covered_by_agreement``, and how many have not returned. Staff under a
clause held unenforceable are judged by the directive, so none of them is covered.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from sqlalchemy import Engine

from dutystation.domain.agreements import LegalStatus, StatusSpan, status_spans
from dutystation.reports.model import Column, ColumnKind, Section
from dutystation.services.reporting.tables import query, section
from dutystation.store.agreement_rows import read_agreements
from dutystation.store.db import translate_errors

SPANS_SCHEMA = pa.schema(
    [
        ("bargaining_unit", pa.string()),
        ("clause", pa.string()),  # agreement code and clause ref
        ("legal_status", pa.string()),
        ("start_day", pa.date32()),
        ("end_day", pa.date32()),  # included; null: open-ended
    ]
)
_STATUSES = pa.table(
    {
        "legal_status": [s.value for s in LegalStatus],
        "ord": list(range(len(LegalStatus))),
        "binds": [s.binds for s in LegalStatus],
    }
)
COLUMNS = [
    Column(
        "legal_status",
        "Legal status",
        short="Status",
        priority=0,
        description="in_force, disputed, grievance_filed or held_unenforceable",
    ),
    Column(
        "binds",
        "Clause binds",
        ColumnKind.BOOLEAN,
        short="Binds",
        priority=3,
        description="true when covered staff are evaluated against the clause; false: "
        "the directive applies",
    ),
    Column(
        "clauses",
        "Clauses",
        priority=2,
        wrap=True,
        description="The agreements' clauses in that status (agreement code and clause)",
    ),
    Column(
        "people",
        "People",
        ColumnKind.INTEGER,
        priority=0,
        description="In scope, in a bargaining unit such a clause covered on their last day "
        "of the window",
    ),
    Column(
        "covered_by_agreement",
        "Covered by agreement",
        ColumnKind.INTEGER,
        short="CBA",
        priority=1,
        description="Of them, reported covered by agreement for the window",
    ),
    Column(
        "not_returned",
        "Not returned",
        ColumnKind.INTEGER,
        short="Not back",
        priority=1,
        description="Of them, not returned (listed in the people section)",
    ),
]


def spans_table(spans: Sequence[StatusSpan]) -> pa.Table:
    return pa.table(
        {
            "bargaining_unit": pa.array([s.bargaining_unit for s in spans], pa.string()),
            "clause": pa.array([f"{s.agreement} {s.clause}" for s in spans], pa.string()),
            "legal_status": pa.array([s.status.value for s in spans], pa.string()),
            "start_day": pa.array([s.start for s in spans], pa.date32()),
            "end_day": pa.array([s.end for s in spans], pa.date32()),
        },
        schema=SPANS_SCHEMA,
    )


def stored_spans(engine: Engine) -> pa.Table:
    """Every stored clause's legal-status spans, per bargaining unit."""
    with translate_errors(), engine.connect() as conn:
        agreements = [s.facts for s in read_agreements(conn)]
    return spans_table(status_spans(agreements))


def coverage_section(
    people_sql: str, employee_periods: pa.Table, windows: pa.Table, spans: pa.Table
) -> Section:
    """``people_sql`` defines relation ``p`` (one row per person: ``bargaining_unit``,
    ``last_day``, ``returned``, ``top_rank``, ``status``) over ``ev`` and ``win``."""
    found = query(
        f"""{people_sql},
        c AS (
            SELECT p.employee_id, p.status, p.returned, p.top_rank, sp.legal_status,
                   sp.clause
            FROM p JOIN spans AS sp ON sp.bargaining_unit = p.bargaining_unit
                AND p.last_day BETWEEN sp.start_day AND coalesce(sp.end_day, DATE '9999-12-31')
            WHERE p.top_rank > 0
        )
        SELECT st.legal_status, st.binds,
               coalesce(string_agg(DISTINCT c.clause, '; ' ORDER BY c.clause), '') AS clauses,
               count(c.employee_id) AS people,
               count(c.employee_id) FILTER (WHERE c.status = 'covered_by_agreement')
                   AS covered_by_agreement,
               count(c.employee_id) FILTER (WHERE NOT c.returned AND c.top_rank <> 1)
                   AS not_returned
        FROM st LEFT JOIN c ON c.legal_status = st.legal_status
        GROUP BY st.legal_status, st.binds, st.ord ORDER BY st.ord""",
        ev=employee_periods,
        win=windows,
        spans=spans,
        st=_STATUSES,
    )
    notes = [
        "A clause in force, disputed or under a grievance binds: its members who meet its "
        "terms are covered by agreement. A clause held unenforceable does not: the directive "
        "applies to them (docs/agreements.md).",
        "A person counts under the status of the clause covering their bargaining unit on "
        "their last day in the window.",
    ]
    return section(
        "agreements",
        "People under each legal status of an agreement clause",
        COLUMNS,
        found,
        notes=notes,
    )
