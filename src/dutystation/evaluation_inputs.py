"""Reading exemption decisions, exemption requests and bargaining agreements from files.

**Exemptions file** (CSV, UTF-8, a header row), one row per request; what
``dutystation exemptions import`` stores as historical records (docs/exemptions.md):

- ``employee_id`` (required): the HR id.
- ``category`` (required): an exemption category (``medical_condition``, ...); OPM's
  wording ``qualifying_medical_condition`` and ``reasonable_accommodation`` is accepted.
- ``requested_on`` (required): the day the request was filed.
- ``status``: ``pending`` (default), ``approved``, ``denied`` or ``withdrawn``.
- ``decided_on``: the day a decided request stopped being pending (required when denied
  or withdrawn; an approved one defaults to ``start``).
- ``start``, ``end``: the days an approved exemption covers, ``end`` included (empty:
  until revoked); ``start`` is required when approved.

Other columns (``component``, ``documentation``, ...) are ignored: documentation of
medical matters is confidential and never read (DESIGN.md §5).

**Agreements file** (TOML): the format ``dutystation.agreement_files`` reads (and
``dutystation agreements import`` stores; docs/agreements.md). The evaluation reads the
stored agreements; ``load_agreements`` serves tests and comparisons.

Every problem is one sentence naming the file, the line and the column or key.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from dutystation.agreement_files import read_agreements_file
from dutystation.domain.agreements import evaluation_agreements
from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.inputs import Agreement, EmployeeExemption, ExemptionRequest
from dutystation.domain.status import ApprovedExemption
from dutystation.errors import InputFileError, Location

CATEGORY_ALIASES = {
    "qualifying_medical_condition": ExemptionCategory.MEDICAL_CONDITION,
    "reasonable_accommodation": ExemptionCategory.DISABILITY_ACCOMMODATION,
}
_STATUSES = ("pending", "approved", "denied", "withdrawn")
T = TypeVar("T")


def _category(text: str) -> ExemptionCategory:
    value = text.strip().lower()
    if value in CATEGORY_ALIASES:
        return CATEGORY_ALIASES[value]
    try:
        return ExemptionCategory(value)
    except ValueError:
        known = ", ".join(c.value for c in ExemptionCategory)
        raise ValueError(f"is not an exemption category ({known})") from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class ExemptionRow:
    """One record of an exemptions file, checked. ``decided_on``: the day it stopped being
    pending (None while pending; an approved one defaults to ``start``)."""

    line: int
    employee_id: str
    category: ExemptionCategory
    requested_on: date
    status: str  # pending, approved, denied or withdrawn
    decided_on: date | None
    start: date | None
    end: date | None


def read_exemption_rows(path: Path) -> list[ExemptionRow]:
    """Every record of an exemptions file (module docstring), in file order."""
    rows: list[ExemptionRow] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            for column in ("employee_id", "category", "requested_on"):
                if column not in header:
                    raise InputFileError(Location(path, 1, column), "the column is missing")
            for row in reader:
                cells = _Cells(path, reader.line_num, row)
                employee = cells.need("employee_id", cells.get("employee_id", str.strip))
                category = cells.need("category", cells.get("category", _category))
                filed = cells.need("requested_on", cells.get("requested_on", _day))
                status = cells.get("status", _status) or "pending"
                start, end = cells.get("start", _day), cells.get("end", _day)
                decided = cells.get("decided_on", _day)
                if status == "approved":
                    start = cells.need("start", start, "an approved request needs a start date")
                    if end is not None and end < start:
                        raise cells.error("end", "is before start")
                    decided = decided or start
                elif status != "pending":
                    decided = cells.need("decided_on", decided, f"a {status} request needs it")
                if decided is not None and decided < filed:
                    raise cells.error("decided_on", "is before requested_on")
                if status == "pending":
                    decided = None
                rows.append(
                    ExemptionRow(
                        reader.line_num, employee, category, filed, status, decided, start, end
                    )
                )
    except OSError as exc:
        raise InputFileError(Location(path), f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputFileError(Location(path), "is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputFileError(Location(path), f"is not valid CSV ({exc})") from None
    return rows


def load_exemptions(path: Path) -> tuple[list[EmployeeExemption], list[ExemptionRequest]]:
    """Approved exemptions and requests (each with the day it stopped being pending), as
    the evaluator takes them, straight from a file (tests and comparisons; the product
    evaluates the stored ones)."""
    approved: list[EmployeeExemption] = []
    requests: list[ExemptionRequest] = []
    for row in read_exemption_rows(path):
        if row.status == "approved" and row.start is not None:
            exemption = ApprovedExemption(row.category, row.start, row.end)
            approved.append(EmployeeExemption(row.employee_id, exemption))
        requests.append(
            ExemptionRequest(row.employee_id, row.category, row.requested_on, row.decided_on)
        )
    return approved, requests


class _Cells:
    """The cells of one CSV record, parsed with errors that name file, line and column."""

    def __init__(self, path: Path, line: int, row: Mapping[str, Any]) -> None:
        self.path, self.line, self.row = path, line, row

    def error(self, column: str, reason: str) -> InputFileError:
        return InputFileError(Location(self.path, self.line, column), reason)

    def get(self, column: str, parse: Callable[[str], T]) -> T | None:
        text = self.row.get(column)
        if not isinstance(text, str) or not text.strip():
            return None
        try:
            return parse(text)
        except ValueError as exc:
            raise self.error(column, str(exc)) from None

    def need(self, column: str, value: T | None, why: str = "is empty") -> T:
        if value is None:
            raise self.error(column, why)
        return value


def _status(text: str) -> str:
    value = text.strip().lower()
    if value not in _STATUSES:
        raise ValueError(f"is not a request status ({', '.join(_STATUSES)})")
    return value


def load_agreements(path: Path) -> list[Agreement]:
    """The evaluator's inputs for the agreements of an agreements file
    (``dutystation.agreement_files``): one per bargaining unit and run of days a clause
    binds; agreements without clauses come as one ``Agreement`` without terms per unit."""
    return [a for facts in read_agreements_file(path) for a in evaluation_agreements(facts)]
