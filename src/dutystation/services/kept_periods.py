"""Kept period results: whole periods evaluated once and reused while nothing they depend
on has changed (docs/evaluation.md, "Kept period results").

Evaluating 26 weeks for 250,000 people produces 6.5 million rows; making them takes
seconds however the evidence is read. But a period's rows depend only on its own inputs,
and most of those stand still from one evaluation to the next: yesterday's taps change
this week, not the 25 before it. So the rows of every whole period are kept under a
**key**, a SHA-256 over everything the evaluation reads for it:

- the code (every module of the package) and the versions of DuckDB, pyarrow and
  ``holidays``; every setting but those naming where things are (the data folder, the
  database URL, the policy folder: a copied or moved data folder keeps its results);
  pyspark and sqlglot too when installed (the Spark engine's translation);
- the database's roster revision (a random value that triggers on every roster table
  replace, migration 0012: no two rosters share one), read before any other part of the
  roster; the directives, exemptions, requests and agreements, as the exact tables the
  evaluation is given;
- the evidence: every event file whose days (from its Parquet statistics) overlap the
  period: a day's presence rests on its own taps and timecards alone (rule 3 of
  ``domain/presence.py``: debounce stays within a day). Not the
  roll-up: it is made from those files by the same code under the same settings, so it
  adds nothing to the key; ``dutystation rollup rebuild`` (the mend for a roll-up that
  ``verify`` found wrong) drops every kept result.

An evaluation looks up each whole period of the range under its key; the periods not
found, and the range's clipped periods at either end, are evaluated in runs over the
spans covering them (cut shorter when the rows are handed on part by part), and the whole
ones among them are kept; a kept period is always read back, even when a run covers its
days anyway. Only evaluations of the whole organisation by weeks and pay periods use kept
results: daily periods and one org unit's subtree are always computed.

What it returns is what evaluating afresh returns, schema included (``conformed``) and
"no evidence" included: each kept period records whether it had evidence when its rows
show it or its run had none, else "not known"; a range that would otherwise have none
to show is evaluated whole to find out. A result that cannot be written (a full disk)
is logged and skipped: it costs the next evaluation its time, never this one its answer.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from dutystation.analytics.bindings import boundaries, directives_table
from dutystation.analytics.evaluation import EvaluationOutcome
from dutystation.analytics.event_sources import months_between
from dutystation.analytics.input_tables import agreements_table, exemptions_table, requests_table
from dutystation.bootstrap import Runtime
from dutystation.domain.calendar import days_between, iso_week_of, pay_period_of
from dutystation.domain.directive import Directive
from dutystation.domain.inputs import EvaluationInputs
from dutystation.events.manifest import Manifest
from dutystation.events.period_results import PeriodResults
from dutystation.events.schemas import EventKind
from dutystation.services.result_columns import conformed
from dutystation.store.schema import RosterRevision

log = logging.getLogger(__name__)
KEPT_KINDS = ("week", "pay_period")
_DAY_COLUMN = {EventKind.BADGES: "local_date", EventKind.TIMECARDS: "date"}
# Where things are, not what they say: a data folder copied or moved keeps its results.
# (The policies and the exemption and agreement files are in the key by content.)
_NOT_IN_KEY = {
    "data_dir",
    "database_url",
    "policies_dir",
    "designation_rules_file",
    "medical_key_file",
    "smtp_password",
    "oidc_client_secret",
    # How fast an import runs, not what it stores: nightly jobs set them alone.
    "import_cpus",
    "import_nice",
    "upload_import_nice",
}
# Columns only evidence makes non-zero: one of them above 0 shows the period had evidence.
# Not ``hours_holiday`` (the calendar's holidays count there too). The converse does not
# hold: a T&A row of 0 hours, or a holiday code on a holiday, is evidence no column shows.
_EVIDENCE_COLUMNS = (
    "days_present_badge",
    "days_on_site_ta",
    "hours_on_site",
    "hours_field_travel",
    "hours_off_site",
    "hours_leave",
    "hours_other_office",
)

# (start, end) -> the evaluation of that span, by the kinds asked for.
Compute = Callable[[date, date], EvaluationOutcome]


@dataclass(frozen=True)
class Period:
    kind: str
    label: str
    start: date  # the period's own first and last day
    end: date
    whole: bool  # wholly inside the range evaluated


@dataclass(frozen=True)
class KeptEvaluation:
    employee_periods: Any  # pa.Table, as ``EvaluationOutcome.employee_periods``
    employees: int
    has_evidence: bool
    kept: int  # periods read from kept results
    computed: int  # periods evaluated now


def periods_of(kind: str, start: date, end: date) -> list[Period]:
    """The periods of ``kind`` holding a day of ``start..end``, in order."""
    found: dict[str, Period] = {}
    for day in days_between(start, end):
        p = iso_week_of(day) if kind == "week" else pay_period_of(day)
        if p.label not in found:
            whole = p.start >= start and p.end <= end
            found[p.label] = Period(kind, p.label, p.start, p.end, whole)
    return list(found.values())


def applies(runtime: Runtime, org_unit: str | None, kinds: Iterable[str]) -> bool:
    return (
        runtime.settings.keep_period_results
        and org_unit is None
        and all(k in KEPT_KINDS for k in kinds)
    )


def _ipc(table: Any) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


@cache
def _code_digest() -> bytes:
    """Every module of the package, and the libraries whose behaviour the rows depend on:
    an upgrade never reuses rows an older version made."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    for library in ("duckdb", "pyarrow", "holidays", "pyspark", "sqlglot"):
        try:
            version = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:  # the [spark] extra is optional
            version = "-"
        digest.update(f"{library}={version}".encode())
    return digest.digest()


def roster_revision(session: Session) -> int:
    """The roster revision (migration 0012). Read it before the org units and the
    assignments: rows made from a roster that changed after it are then kept under a
    revision already gone, never looked up again; read after, a change in between would
    keep rows of the old roster under the new revision, and they would be reused."""
    return int(session.execute(select(RosterRevision.revision)).scalar_one())


def context_key(
    runtime: Runtime, directives: list[Directive], inputs: EvaluationInputs, revision: int
) -> str:
    """Everything but the evidence, the kind and the period (module docstring);
    ``revision``: ``roster_revision``, read before the roster."""
    digest = hashlib.sha256(_code_digest())
    digest.update(runtime.settings.model_dump_json(exclude=_NOT_IN_KEY).encode())
    digest.update(f"{revision}\0{sorted(boundaries(directives))}".encode())
    for table in (
        directives_table(directives),
        exemptions_table(inputs.exemptions),
        requests_table(inputs.requests),
        agreements_table(inputs.agreements),
    ):
        digest.update(_ipc(table))
    return digest.hexdigest()


@cache
def _file_days(path: Path, column: str) -> tuple[date, date] | None:
    """First and last day of an event file from its Parquet statistics (files never
    change once committed, so once per process); None when they are missing."""
    metadata = pq.read_metadata(path)
    index = metadata.schema.to_arrow_schema().get_field_index(column)
    lows, highs = [], []
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            return None
        lows.append(stats.min)
        highs.append(stats.max)
    return (min(lows), max(highs)) if lows else None


class EvidenceKeys:
    """The evidence part of a period's key, from the store's manifests read once."""

    def __init__(self, root: Path, manifests: list[Manifest]) -> None:
        self.root = root
        self.manifests = manifests

    def key(self, start: date, end: date) -> str:
        months = set(months_between(start, end))
        parts = []
        for manifest in self.manifests:
            for f in manifest.files:
                if f.month not in months:
                    continue
                days = _file_days(self.root / f.path, _DAY_COLUMN[manifest.kind])
                if days is None or (days[0] <= end and days[1] >= start):
                    parts.append(f"{manifest.kind.value}\0{f.path}")
        return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


def _period_key(context: str, period: Period, evidence: str) -> str:
    text = f"{context}\0{period.kind}\0{period.label}\0{period.start}\0{period.end}\0{evidence}"
    return hashlib.sha256(text.encode()).hexdigest()


def _shows_evidence(rows: Any) -> bool:
    if rows.num_rows == 0:
        return False
    present = [pc.greater(pc.fill_null(rows[c], 0), 0) for c in _EVIDENCE_COLUMNS]
    combined = present[0]
    for flags in present[1:]:
        combined = pc.or_(combined, flags)
    return bool(pc.any(combined).as_py())


def _runs(
    extents: list[tuple[date, date]], kept: list[tuple[date, date]]
) -> list[tuple[date, date]]:
    """``extents`` (of the periods to compute) merged into the spans to evaluate: those
    that overlap always; those that touch too (one run reads each month once), unless
    the merged span would hold a kept period neither held alone, which would then be
    computed again for nothing."""
    runs: list[tuple[date, date]] = []
    for first, last in sorted(extents):
        if runs and first <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], last))
        elif runs and first == runs[-1][1] + timedelta(days=1):
            low, high = runs[-1][0], last
            if any(low <= a and b <= high and a <= runs[-1][1] < b for a, b in kept):
                runs.append((first, last))
            else:
                runs[-1] = (low, high)
        else:
            runs.append((first, last))
    return runs


def _rows_of(table: Any, kind: str, labels: set[str]) -> Any:
    mask = pc.and_(
        pc.equal(table["period_kind"].cast(pa.string()), kind),
        pc.is_in(table["period_label"].cast(pa.string()), pa.array(sorted(labels), pa.string())),
    )
    return table.filter(mask)


def _keep(
    results: PeriodResults, period: Period, key: str, rows: Any, evident: bool | None
) -> None:
    try:
        results.write(period.kind, period.label, key, rows, evident)
    except OSError as exc:  # a full disk, a read-only folder: the next evaluation recomputes
        log.warning("kept result of %s %s not written: %s", period.kind, period.label, exc)


def evaluate_kept(
    runtime: Runtime,
    start: date,
    end: date,
    kinds: list[str],
    *,
    context: str,
    compute: Compute,
    on_rows: Callable[[Any], None] | None = None,
    max_run_days: int | None = None,
) -> KeptEvaluation:
    """The rows of ``kinds`` over ``start..end``: kept ones where their key matches, the
    rest from ``compute`` over the runs of days they cover (module docstring).

    With ``on_rows`` the rows go to it a part at a time and are never all in memory: each
    kept period as it is read, each run's periods as it ends. Runs longer than
    ``max_run_days`` are then cut into runs that each hold whole periods (a week and the
    pay period it straddles make neighbouring runs overlap by a few days, evaluated twice,
    each period taken from one run). ``employee_periods`` is then None, and ``employees``
    the most that any one part held (0 only when nobody is assigned)."""
    results = PeriodResults(runtime.settings.data_dir / "periods")
    evidence = EvidenceKeys(runtime.events.root, runtime.events.manifests())
    parts: list[Any] = []
    found = _Found()

    def emit(table: Any, employees: int | None = None) -> None:
        if on_rows is None:
            parts.append(table)
            return
        if table.num_rows:
            on_rows(table)
            if employees is None:
                employees = pc.count_distinct(table["employee_id"]).as_py()
            found.employees = max(found.employees, employees or 0)

    wanted: list[tuple[Period, str | None, bool]] = []  # the period, its key, kept?
    for kind in kinds:
        for period in periods_of(kind, start, end):
            key = None
            if period.whole:
                key = _period_key(context, period, evidence.key(period.start, period.end))
            kept = results.read(kind, period.label, key) if key else None
            if kept is not None:
                table, evident = kept
                emit(table)  # at once: with on_rows, one kept period in memory at a time
                found.evidence = found.evidence or bool(evident)
                found.unknown = found.unknown or evident is None
            wanted.append((period, key, kept is not None))
    clipped = {p: (max(p.start, start), min(p.end, end)) for p, _, _ in wanted}
    missing = [(p, key) for p, key, kept in wanted if not kept]
    runs = _runs([clipped[p] for p, _ in missing], [clipped[p] for p, _, kept in wanted if kept])
    for low, high in runs:
        inside = [(p, key) for p, key in missing if low <= clipped[p][0] and clipped[p][1] <= high]
        for chunk in _cut(inside, clipped, max_run_days if on_rows is not None else None):
            outcome = compute(
                min(clipped[p][0] for p, _ in chunk), max(clipped[p][1] for p, _ in chunk)
            )
            found.evidence = found.evidence or outcome.has_evidence
            for kind in kinds:
                labels = {p.label for p, _ in chunk if p.kind == kind}
                if labels:
                    emit(_rows_of(outcome.employee_periods, kind, labels), outcome.employees)
            for period, key in chunk:
                if key:
                    rows = _rows_of(outcome.employee_periods, period.kind, {period.label})
                    # Certain when the rows show evidence or the run had none; else unknown.
                    evident = (
                        True if _shows_evidence(rows) else (None if outcome.has_evidence else False)
                    )
                    _keep(results, period, key, rows, evident)
            del outcome
    if found.unknown and not found.evidence:
        # Whether the range had any evidence rests on kept periods whose rows do not tell
        # (a T&A row of 0 hours...): the range evaluated answers it, as afresh.
        every: list[tuple[Period, str | None]] = [(p, None) for p, _, _ in wanted]
        for chunk in _cut(every, clipped, max_run_days if on_rows is not None else None):
            low = min(clipped[p][0] for p, _ in chunk)
            if compute(low, max(clipped[p][1] for p, _ in chunk)).has_evidence:
                found.evidence = True
                break
    computed = len(missing)
    if on_rows is not None:
        return KeptEvaluation(
            None, found.employees, found.evidence, len(wanted) - computed, computed
        )
    combined = conformed(parts) if parts else pa.table({"employee_id": pa.array([], pa.string())})
    employees = pc.count_distinct(combined["employee_id"]).as_py()
    return KeptEvaluation(combined, employees, found.evidence, len(wanted) - computed, computed)


@dataclass
class _Found:
    evidence: bool = False  # some part had evidence
    unknown: bool = False  # some kept period does not know whether it had
    employees: int = 0  # with on_rows: the most employees in one part


def _cut(
    periods: list[tuple[Period, str | None]],
    extents: dict[Period, tuple[date, date]],
    max_days: int | None,
) -> list[list[tuple[Period, str | None]]]:
    """``periods`` (of one run) in runs of at most ``max_days`` days each, by their first
    day; a period is never cut, so a run holds at least one. All in one without a limit."""
    if max_days is None or not periods:
        return [periods] if periods else []
    chunks: list[list[tuple[Period, str | None]]] = []
    low = high = date.min
    for item in sorted(periods, key=lambda item: extents[item[0]]):
        first, last = extents[item[0]]
        if chunks and (max(high, last) - low).days + 1 <= max_days:
            chunks[-1].append(item)
            high = max(high, last)
        else:
            chunks.append([item])
            low, high = first, last
    return chunks
