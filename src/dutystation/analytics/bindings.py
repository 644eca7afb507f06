"""Which directive binds each (org unit, arrangement), over date ranges, as small tables.

Directives are few and org units number in the thousands at most, so the choice is made
in Python by ``domain.directive.binding_directive`` itself (the specification) and handed
to DuckDB: the evaluation joins each employee-period to the row of its org unit and
arrangement (as of the period's last day) whose range holds the period's last day.

The set of directives in force changes only on a directive's ``effective`` date or the
day after its ``expires`` date, so the range is cut at those days and the binding decided
once per piece.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from dutystation.domain.directive import (
    BindingKind,
    Directive,
    ExemptionCategory,
    binding_directive,
)
from dutystation.domain.vocabulary import Arrangement

# Exemption categories as bits, so "an exemption of a category this directive allows
# covers the day" is one bitwise AND in SQL: bit_or over a day's exemptions, then & with
# the directive's mask.
CATEGORY_BITS: dict[ExemptionCategory, int] = {c: 1 << i for i, c in enumerate(ExemptionCategory)}

BINDINGS_SCHEMA = pa.schema(
    [
        ("org_unit", pa.string()),
        ("arrangement", pa.string()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),  # inclusive
        ("kind", pa.string()),  # BindingKind value
        ("directive_ref", pa.string()),
        ("presumed_compliant", pa.bool_()),
        ("binding_reason", pa.string()),
    ]
)

DIRECTIVES_SCHEMA = pa.schema(
    [
        ("directive_ref", pa.string()),
        ("effective", pa.date32()),
        ("expires", pa.date32()),
        # Days before this are judged "not yet due": deadlines.full_compliance, else effective.
        ("due_from", pa.date32()),
        ("counts_any_office", pa.bool_()),
        ("share_required", pa.float64()),
        ("days_per_week", pa.int32()),
        ("days_per_pay_period", pa.int32()),
        ("requirement_text", pa.string()),
        ("allowed_mask", pa.int32()),
        ("duty_station_min_days", pa.int32()),
    ]
)


DAY_MARK = "{day}"


def _nothing_in_force(day: date | str) -> str:
    when = day.isoformat() if isinstance(day, date) else day
    return f"no directive in force on {when} covers this org unit"


def due_from(directive: Directive) -> date:
    return directive.deadlines.full_compliance or directive.effective


def boundaries(directives: Iterable[Directive]) -> list[date]:
    """Days on which some directive starts, stops or falls due: within the pieces they
    cut, every day is on the same side of every directive's dates."""
    found: set[date] = set()
    for d in directives:
        found.update({d.effective, due_from(d)})
        if d.expires is not None:
            found.add(d.expires + timedelta(days=1))
    return sorted(found)


def category_mask(categories: Iterable[ExemptionCategory]) -> int:
    mask = 0
    for category in categories:
        mask |= CATEGORY_BITS[category]
    return mask


def directives_table(directives: Sequence[Directive]) -> Any:
    rows: dict[str, list[Any]] = {name: [] for name in DIRECTIVES_SCHEMA.names}
    for d in directives:
        test = d.duty_station_test
        values = {
            "directive_ref": d.ref,
            "effective": d.effective,
            "expires": d.expires,
            "due_from": due_from(d),
            "counts_any_office": d.counts_at == "any_agency_office",
            "share_required": d.requirement.onsite_share_of_hours,
            "days_per_week": d.requirement.days_per_week,
            "days_per_pay_period": d.requirement.days_per_pay_period,
            "requirement_text": d.requirement.describe(),
            "allowed_mask": category_mask(d.exemptions.categories),
            "duty_station_min_days": test.min_days_per_pay_period if test else None,
        }
        for name, value in values.items():
            rows[name].append(value)
    return pa.table(rows, schema=DIRECTIVES_SCHEMA)


def bindings_table(
    directives: Sequence[Directive],
    chains: Mapping[str, Sequence[str]],
    start: date,
    end: date,
) -> Any:
    """``BINDINGS_SCHEMA`` for every org unit of ``chains`` (code -> root..unit), every
    arrangement and every day of ``start..end``."""
    cuts = {start, end + timedelta(days=1)}
    for d in directives:
        cuts.add(d.effective)
        if d.expires is not None:
            cuts.add(d.expires + timedelta(days=1))
    edges = sorted(c for c in cuts if start <= c <= end + timedelta(days=1))
    rows: dict[str, list[Any]] = {name: [] for name in BINDINGS_SCHEMA.names}
    for first, after in itertools.pairwise(edges):
        for unit, chain in chains.items():
            nearest_first = list(reversed(chain))
            for arrangement in Arrangement:
                b = binding_directive(directives, nearest_first, arrangement, first)
                reason = b.reason
                if b.kind is BindingKind.NOT_IN_SCOPE and reason == _nothing_in_force(first):
                    # The domain names the day it was asked about: the period's last day,
                    # which the query puts in place of DAY_MARK.
                    reason = _nothing_in_force(DAY_MARK)
                values = {
                    "org_unit": unit,
                    "arrangement": arrangement.value,
                    "valid_from": first,
                    "valid_to": after - timedelta(days=1),
                    "kind": b.kind.value,
                    "directive_ref": b.directive.ref if b.directive else None,
                    "presumed_compliant": b.presumed_compliant,
                    "binding_reason": reason,
                }
                for name, value in values.items():
                    rows[name].append(value)
    return pa.table(rows, schema=BINDINGS_SCHEMA)
