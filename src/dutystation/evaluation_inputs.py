"""Loading exemption decisions, exemption requests and bargaining agreements from files,
until the exemption workflow stores them (the demo writes both files).

**Exemptions file** (CSV, UTF-8, a header row), one row per request:

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

**Agreements file** (TOML): one ``[[agreement]]`` table per agreement with ``unit`` (the
bargaining unit code of the roster), ``effective_from``, optional ``effective_to``
(included), optional ``title``, ``union``, ``components`` and ``telework``, and an
optional ``[agreement.hybrid]`` table with exactly one of
``min_onsite_days_per_pay_period``, ``min_onsite_days_per_week`` or
``min_onsite_share_of_hours`` (and an informational ``period``). Without hybrid terms the
agreement covers nobody: the directive applies. Two agreements of one unit may not be in
force on the same day.

Every problem is one sentence naming the file, the line and the column or key.
"""

from __future__ import annotations

import csv
import itertools
import tomllib
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from dutystation.domain.directive import ExemptionCategory, Requirement
from dutystation.domain.inputs import Agreement, EmployeeExemption, ExemptionRequest
from dutystation.domain.status import ApprovedExemption
from dutystation.errors import ConfigError, InputFileError, Location

CATEGORY_ALIASES = {
    "qualifying_medical_condition": ExemptionCategory.MEDICAL_CONDITION,
    "reasonable_accommodation": ExemptionCategory.DISABILITY_ACCOMMODATION,
}
_STATUSES = ("pending", "approved", "denied", "withdrawn")
_TERMS = {
    "min_onsite_days_per_pay_period": "days_per_pay_period",
    "min_onsite_days_per_week": "days_per_week",
    "min_onsite_share_of_hours": "onsite_share_of_hours",
}
_AGREEMENT_KEYS = {
    "unit",
    "title",
    "union",
    "components",
    "effective_from",
    "effective_to",
    "telework",
    "hybrid",
}
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


def load_exemptions(path: Path) -> tuple[list[EmployeeExemption], list[ExemptionRequest]]:
    """Approved exemptions and requests (each with the day it stopped being pending)."""
    approved: list[EmployeeExemption] = []
    requests: list[ExemptionRequest] = []
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
                    approved.append(
                        EmployeeExemption(employee, ApprovedExemption(category, start, end))
                    )
                    decided = decided or start
                elif status != "pending":
                    decided = cells.need("decided_on", decided, f"a {status} request needs it")
                if decided is not None and decided < filed:
                    raise cells.error("decided_on", "is before requested_on")
                if status == "pending":
                    decided = None
                requests.append(ExemptionRequest(employee, category, filed, decided))
    except OSError as exc:
        raise InputFileError(Location(path), f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputFileError(Location(path), "is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputFileError(Location(path), f"is not valid CSV ({exc})") from None
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
    """The agreements of an agreements file (module docstring), in file order."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML ({exc})") from None
    tables = data.get("agreement", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{path}: key 'agreement' must be an array of tables [[agreement]]")
    # tomllib keeps no positions: the n-th "[[agreement]]" header is the n-th table.
    lines = [n for n, t in enumerate(text.splitlines(), 1) if t.strip() == "[[agreement]]"]
    found: list[Agreement] = []
    for index, table in enumerate(tables):
        line = lines[index] if index < len(lines) else None
        where = f"{path}, line {line}" if line else str(path)
        found.append(_agreement(table, f"{where}: key 'agreement[{index}]"))
    _no_overlap(found, path)
    return found


def _agreement(table: Any, where: str) -> Agreement:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}': must be a table")
    for key in table:
        if key not in _AGREEMENT_KEYS:
            known = ", ".join(sorted(_AGREEMENT_KEYS))
            raise ConfigError(f"{where}.{key}': is not a known key; known keys: {known}")
    unit = table.get("unit")
    if not isinstance(unit, str) or not unit.strip():
        raise ConfigError(f"{where}.unit': is required (the roster's bargaining unit code)")
    start, end = table.get("effective_from"), table.get("effective_to")
    if not isinstance(start, date):
        raise ConfigError(f"{where}.effective_from': is required, a date (YYYY-MM-DD)")
    if end is not None and (not isinstance(end, date) or end < start):
        raise ConfigError(f"{where}.effective_to': must be a date on or after effective_from")
    title = table.get("title")
    return Agreement(
        unit.strip(),
        title if isinstance(title, str) else unit.strip(),
        start,
        end,
        _terms(table.get("hybrid"), f"{where}.hybrid"),
    )


def _terms(hybrid: Any, where: str) -> Requirement | None:
    if hybrid is None:
        return None
    if not isinstance(hybrid, dict):
        raise ConfigError(f"{where}': must be a table")
    for key in hybrid:
        if key not in (*_TERMS, "period"):
            raise ConfigError(
                f"{where}.{key}': is not a known key; known keys: period, {', '.join(_TERMS)}"
            )
    given = {_TERMS[k]: v for k, v in hybrid.items() if k in _TERMS}
    if len(given) != 1:
        raise ConfigError(f"{where}': give exactly one of {', '.join(_TERMS)}")
    try:
        return Requirement.model_validate(given)
    except ValidationError as exc:
        key = next(k for k, v in _TERMS.items() if v in given)
        message = str(exc.errors()[0]["msg"])
        raise ConfigError(f"{where}.{key}': {message[:1].lower()}{message[1:]}") from None


def _no_overlap(agreements: list[Agreement], path: Path) -> None:
    by_unit: dict[str, list[Agreement]] = {}
    for agreement in agreements:
        by_unit.setdefault(agreement.bargaining_unit, []).append(agreement)
    for unit, items in by_unit.items():
        items.sort(key=lambda a: a.start)
        for first, second in itertools.pairwise(items):
            if first.end is None or first.end >= second.start:
                raise ConfigError(
                    f"{path}: two agreements of bargaining unit {unit!r} are in force on "
                    f"{second.start.isoformat()}; give the first an effective_to before it"
                )
