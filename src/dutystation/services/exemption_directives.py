"""Which directive an exemption request is judged by: the one binding the employee on the
requested start (org unit and arrangement as of that day, docs/directives.md), with the
categories it allows and the certifications it requires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, and_, or_, select

from dutystation.bootstrap import Runtime
from dutystation.domain.directive import (
    BindingKind,
    Certifier,
    Directive,
    ExemptionCategory,
    binding_directive,
)
from dutystation.domain.exemptions import required_certifiers
from dutystation.domain.org import ancestor_chains
from dutystation.domain.vocabulary import Arrangement
from dutystation.errors import Conflict
from dutystation.policy_files import load_directives
from dutystation.services.evaluate import policies_dir
from dutystation.store.schema import EmployeeAssignment, OrgUnit


@dataclass(frozen=True)
class Judged:
    """The directive a request is judged by (None: none binds the person that day)."""

    directive_ref: str | None
    allowed: tuple[ExemptionCategory, ...]
    required: tuple[Certifier, ...]


class Directives:
    """The policy files and the org tree, loaded once per service call."""

    def __init__(self, runtime: Runtime, conn: Connection) -> None:
        units = conn.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.parent_id)).all()
        code_of = {uid: code for uid, code, _ in units}
        self._chains = ancestor_chains(
            {code: code_of[parent] if parent is not None else None for _, code, parent in units}
        )
        known = set(self._chains) or None
        self._directives: list[Directive] = load_directives(
            policies_dir(runtime), known_org_units=known
        )

    def judging(self, conn: Connection, employee_pk: int, day: date) -> Judged:
        a = EmployeeAssignment
        row = conn.execute(
            select(OrgUnit.code, a.arrangement)
            .join(OrgUnit, OrgUnit.id == a.org_unit_id)
            .where(
                a.employee_pk == employee_pk,
                and_(a.effective_from <= day, or_(a.effective_to.is_(None), a.effective_to > day)),
            )
        ).first()
        if row is None:
            return Judged(None, (), required_certifiers(()))
        chain = tuple(reversed(self._chains.get(row.code, (row.code,))))
        binding = binding_directive(self._directives, chain, Arrangement(row.arrangement), day)
        directive = binding.directive
        if binding.kind is not BindingKind.BOUND or directive is None:
            return Judged(None, (), required_certifiers(()))
        rules = directive.exemptions
        return Judged(
            directive.ref, rules.categories, required_certifiers(rules.certification_required_by)
        )

    def require(self, conn: Connection, employee_pk: int, employee: str, day: date) -> Judged:
        """As ``judging``, refusing a day on which no directive binds the person."""
        judged = self.judging(conn, employee_pk, day)
        if judged.directive_ref is None:
            raise Conflict(
                f"no directive binds employee {employee} on {day.isoformat()}; there is "
                "nothing to be exempted from"
            )
        return judged
