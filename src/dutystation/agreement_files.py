"""Reading an agreements file (TOML): what ``dutystation agreements import`` stores and
``evaluation_inputs.load_agreements`` hands to the evaluator. docs/agreements.md shows
both shapes with examples.

One ``[[agreement]]`` table per agreement:

- ``code`` (optional; default ``UNIT-EFFECTIVE_FROM``), ``title``, ``union``;
- ``units`` (a list of the roster's bargaining unit codes) or ``unit`` (one code);
- ``effective_from`` (required), ``effective_to`` (optional, the last day, included);
- ``components`` and ``telework``: informational, not stored;
- ``[[agreement.clause]]`` tables: ``ref`` (required, "Art. 31 §4"), ``summary``,
  exactly one of ``min_onsite_days_per_pay_period``, ``min_onsite_days_per_week``,
  ``min_onsite_share_of_hours``, ``max_telework_days_per_pay_period``, an informational
  ``period``, and ``[[agreement.clause.status]]`` tables (``status``, ``on``, ``source``):
  the clause's legal-status history (none: in force as signed);
- or, the first format, an ``[agreement.hybrid]`` table with one of the first three term
  keys (and ``period``): one clause, ref ``hybrid terms``, in force as signed.

An agreement with neither covers nobody: the directive applies. Every problem is one
sentence naming the file, the line of the agreement's header and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from dutystation.domain.agreements import (
    TERM_KEYS,
    AgreementFacts,
    AgreementRuleError,
    Clause,
    HybridTerms,
    LegalStatus,
    StatusRecord,
    check_units_apart,
)
from dutystation.errors import ConfigError

T = TypeVar("T")
HYBRID_REF = "hybrid terms"  # the clause a first-format [agreement.hybrid] table becomes
_AGREEMENT_KEYS = frozenset(
    {
        "code",
        "unit",
        "units",
        "title",
        "union",
        "components",
        "effective_from",
        "effective_to",
        "telework",
        "hybrid",
        "clause",
    }
)
_CLAUSE_KEYS = frozenset({"ref", "summary", "period", "status", *TERM_KEYS})
_HYBRID_KEYS = frozenset({"period", *TERM_KEYS[:3]})
_STATUS_KEYS = frozenset({"status", "on", "source"})


def read_agreements_file(path: Path) -> list[AgreementFacts]:
    """The agreements of ``path`` in file order; ``ConfigError`` for any problem."""
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
    found: list[AgreementFacts] = []
    for index, table in enumerate(tables):
        line = lines[index] if index < len(lines) else None
        where = f"{path}, line {line}" if line else str(path)
        found.append(_Reader(f"{where}: key 'agreement[{index}]").agreement(table))
    codes = [a.code for a in found]
    if len(set(codes)) != len(codes):
        twice = next(c for c in codes if codes.count(c) > 1)
        raise ConfigError(f"{path}: agreement code {twice!r} is used twice")
    try:
        check_units_apart(found)
    except AgreementRuleError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return found


class _Reader:
    """Parses one agreement table; ``where`` is "FILE, line N: key 'agreement[i]"."""

    def __init__(self, where: str) -> None:
        self.where = where

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}{key}': {problem}")

    def table(self, value: Any, key: str, known: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        for name in value:
            if name not in known:
                listed = ", ".join(sorted(known))
                raise self.error(f"{key}.{name}", f"is not a known key; known keys: {listed}")
        return value

    def text(self, table: dict[str, Any], key: str, at: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{at}.{key}", "is required, a non-empty text")
        return value.strip()

    def agreement(self, raw: Any) -> AgreementFacts:
        table = self.table(raw, "", _AGREEMENT_KEYS)
        units = self._units(table)
        start, end = table.get("effective_from"), table.get("effective_to")
        if not isinstance(start, date):
            raise self.error(".effective_from", "is required, a date (YYYY-MM-DD)")
        if end is not None and (not isinstance(end, date) or end < start):
            raise self.error(".effective_to", "must be a date on or after effective_from")
        default_code = f"{units[0]}-{start.isoformat()}"
        code = self.text(table, "code", "", default_code)
        if "hybrid" in table and "clause" in table:
            raise self.error(".hybrid", "give [agreement.hybrid] or [[agreement.clause]], not both")
        clauses: list[Clause] = []
        if "hybrid" in table:
            hybrid = self.table(table["hybrid"], ".hybrid", _HYBRID_KEYS)
            clauses.append(Clause(HYBRID_REF, self._terms(hybrid, ".hybrid")))
        raw_clauses = table.get("clause", [])
        if not isinstance(raw_clauses, list):
            raise self.error(".clause", "must be an array of tables [[agreement.clause]]")
        for i, raw_clause in enumerate(raw_clauses):
            clauses.append(self._clause(raw_clause, f".clause[{i}]"))
        try:
            return AgreementFacts(
                code=code,
                title=self.text(table, "title", "", code),
                union=self.text(table, "union", "", "(not named)"),
                units=units,
                start=start,
                end=end,
                clauses=tuple(clauses),
            )
        except AgreementRuleError as exc:
            raise ConfigError(f"{self.where}': {exc}") from None

    def _units(self, table: dict[str, Any]) -> tuple[str, ...]:
        if "unit" in table and "units" in table:
            raise self.error(".units", "give unit or units, not both")
        if "units" in table:
            units = table["units"]
            if (
                not isinstance(units, list)
                or not units
                or not all(isinstance(u, str) and u.strip() for u in units)
            ):
                raise self.error(".units", "must be a non-empty list of bargaining unit codes")
            cleaned = tuple(dict.fromkeys(u.strip() for u in units))
            if len(cleaned) != len(units):
                raise self.error(".units", "lists a bargaining unit twice")
            return cleaned
        unit = table.get("unit")
        if not isinstance(unit, str) or not unit.strip():
            raise self.error(".unit", "is required (the roster's bargaining unit code)")
        return (unit.strip(),)

    def _terms(self, table: dict[str, Any], at: str) -> HybridTerms:
        given = {k: table[k] for k in TERM_KEYS if k in table}
        if len(given) != 1:
            keys = ", ".join(TERM_KEYS if at != ".hybrid" else TERM_KEYS[:3])
            raise self.error(at, f"give exactly one of {keys}")
        ((key, _),) = given.items()
        try:
            return HybridTerms.of(given)
        except AgreementRuleError as exc:
            raise self.error(f"{at}.{key}", _after_key(str(exc), key)) from None

    def _clause(self, raw: Any, at: str) -> Clause:
        table = self.table(raw, at, _CLAUSE_KEYS)
        ref = self.text(table, "ref", at)
        summary = table.get("summary", "")
        if not isinstance(summary, str):
            raise self.error(f"{at}.summary", "must be a text")
        records = table.get("status", [])
        if not isinstance(records, list):
            raise self.error(f"{at}.status", "must be an array of tables")
        statuses = tuple(self._status(r, f"{at}.status[{i}]") for i, r in enumerate(records))
        return Clause(ref, self._terms(table, at), summary.strip(), statuses)

    def _status(self, raw: Any, at: str) -> StatusRecord:
        table = self.table(raw, at, _STATUS_KEYS)
        status = _parse(table.get("status"), legal_status)
        if status is None:
            raise self.error(f"{at}.status", f"must be one of {', '.join(LegalStatus)}")
        day = table.get("on")
        if not isinstance(day, date):
            raise self.error(f"{at}.on", "is required, a date (YYYY-MM-DD)")
        return StatusRecord(status, day, self.text(table, "source", at))


def legal_status(text: str) -> LegalStatus:
    """``disputed``, ``grievance filed``, ``held-unenforceable``...: a ``LegalStatus``."""
    return LegalStatus(text.strip().lower().replace(" ", "_").replace("-", "_"))


def _parse(value: Any, parse: Callable[[str], T]) -> T | None:
    if not isinstance(value, str):
        return None
    try:
        return parse(value)
    except ValueError:
        return None


def _after_key(message: str, key: str) -> str:
    """The message without the key it starts with ("must be from 1 to 7")."""
    return message[len(key) :].strip() if message.startswith(key) else message
