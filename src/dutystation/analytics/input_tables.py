"""The evaluation's small side inputs as Arrow tables: org paths, approved exemptions,
exemption requests and agreements. Each holds at most a row per org unit, exemption,
request or agreement, so they are built with plain Python; the texts reasons quote
(``ApprovedExemption.describe``, ``Requirement.describe``) are made here by the domain, so
SQL and ``decide_status`` say the same words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from dutystation.analytics.bindings import CATEGORY_BITS
from dutystation.domain.inputs import Agreement, EmployeeExemption, ExemptionRequest

ORG_SCHEMA = pa.schema(
    [("org_unit", pa.string()), ("org_path", pa.string()), ("component", pa.string())]
)
EXEMPTIONS_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("ordinal", pa.int32()),  # input order: reasons list exemptions in it
        ("bit", pa.int32()),
        ("start_day", pa.date32()),
        ("end_day", pa.date32()),  # included; null: until revoked
        ("describe_text", pa.string()),
        ("what_text", pa.string()),  # the category, or "a confidential category"
    ]
)
REQUESTS_SCHEMA = pa.schema(
    [("employee_id", pa.string()), ("filed", pa.date32()), ("decided_on", pa.date32())]
)
AGREEMENTS_SCHEMA = pa.schema(
    [
        ("bargaining_unit", pa.string()),
        ("agreement", pa.string()),
        ("start_day", pa.date32()),
        ("end_day", pa.date32()),
        ("share_required", pa.float64()),
        ("days_per_week", pa.int32()),
        ("days_per_pay_period", pa.int32()),
        ("terms_text", pa.string()),
    ]
)


def _columns(schema: pa.Schema, rows: Sequence[Sequence[Any]]) -> Any:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def org_table(chains: Mapping[str, Sequence[str]]) -> Any:
    """Per org unit: its path as text (``DEA/DEA-ECA/DEA-ECA-IR``) and its component, the
    unit at depth 2 (department > component); a department's own staff get the department."""
    rows = [
        (code, "/".join(chain), chain[1] if len(chain) > 1 else chain[0])
        for code, chain in sorted(chains.items())
    ]
    return _columns(ORG_SCHEMA, rows)


def exemptions_table(exemptions: Sequence[EmployeeExemption]) -> Any:
    rows = []
    for ordinal, item in enumerate(exemptions):
        x = item.exemption
        what = "a confidential category" if x.category.confidential else str(x.category)
        bit = CATEGORY_BITS[x.category]
        rows.append((item.employee_id, ordinal, bit, x.start, x.end, x.describe(), what))
    return _columns(EXEMPTIONS_SCHEMA, rows)


def requests_table(requests: Sequence[ExemptionRequest]) -> Any:
    return _columns(REQUESTS_SCHEMA, [(r.employee_id, r.filed, r.decided_on) for r in requests])


def agreements_table(agreements: Sequence[Agreement]) -> Any:
    """Agreements with hybrid terms only: the others cover nobody."""
    rows = []
    for a in agreements:
        coverage = a.coverage()
        if coverage is None:
            continue
        terms = coverage.terms
        share, week, pay_period = (
            terms.onsite_share_of_hours,
            terms.days_per_week,
            terms.days_per_pay_period,
        )
        text = terms.describe()
        rows.append(
            (a.bargaining_unit, coverage.agreement, a.start, a.end, share, week, pay_period, text)
        )
    return _columns(AGREEMENTS_SCHEMA, rows)
