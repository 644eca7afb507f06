"""Who may do what to whom: roles, their scopes, the operations of every service, and the
policy that joins them (DESIGN.md §3: services check authorisation, not only the web).

A user holds one or more ``Grant``\\ s: a role over a scope. The scope of a grant is an org
subtree (``scope`` = an org-unit code; None = the whole organisation), except for the
supervisor role, whose scope is the people who report to the user, directly or through
other supervisors, as the roster says today.

Every service operation is an ``Operation``. ``POLICY`` says, for each operation and
role, which ``Relation``\\ s between the actor and the subject permit it. The service
layer (``services/authorization.py``) works out the relation for each of the actor's
grants and asks ``permits``. Operations without a subject (verifying the audit chain)
are checked with ``Relation.IN_SCOPE``. When the subject is a user account, the actor's own
account is ``SELF``; another account relates like the employee it is linked to, and one
linked to nobody (an administration or service account) is in scope of whole-organisation
grants only.

Two outcomes when the answer is no: an actor with no grant that could ever permit the
operation gets ``Forbidden``; an actor who could do it to someone, but not to this
subject, gets ``NotFound`` — exactly what a missing subject gives, so scopes do not leak
who exists (RELIABILITY T01/T02).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    EMPLOYEE = "employee"
    SUPERVISOR = "supervisor"
    CERTIFYING_OFFICIAL = "certifying_official"  # the agency head or a delegate
    TMO = "tmo"  # telework managing officer
    HR = "hr"  # HR administrator
    RA_COORDINATOR = "ra_coordinator"  # reasonable accommodation: the only medical reader
    LEADER = "leader"  # a department or component leader: reads reports for a subtree
    AUDITOR = "auditor"  # reads everything but medical matters, changes nothing
    AGENCY_ADMIN = "agency_admin"  # manages users and roles


class Relation(StrEnum):
    SELF = "self"  # the subject is the actor's own employee record
    IN_SCOPE = "in_scope"  # inside the grant's scope (subtree, or reports of a supervisor)
    OUT_OF_SCOPE = "out_of_scope"  # anyone or anything else


class Operation(StrEnum):
    # evidence and reports
    STATUS_READ = "status.read"  # an employee's requirement, hours, status and why
    REPORT_READ = "report.read"  # reports for an org unit (subject: the org unit)
    IMPORT_RUN = "import.run"  # roster, offices, T&A, badges
    # exemptions
    EXEMPTION_REQUEST = "exemption.request"  # file (or renew) a request for the subject
    EXEMPTION_WITHDRAW = "exemption.withdraw"
    EXEMPTION_READ = "exemption.read"  # category group, decision, dates, non-medical docs
    EXEMPTION_READ_MEDICAL = "exemption.read_medical"  # justification and medical documents
    EXEMPTION_CERTIFY = "exemption.certify"  # give or refuse one required certification
    EXEMPTION_REVOKE = "exemption.revoke"
    EXEMPTION_EXPIRE = "exemption.expire"  # the housekeeping run that closes ended ones
    # agreements and grievances
    AGREEMENT_READ = "agreement.read"
    AGREEMENT_MANAGE = "agreement.manage"  # agreements, clauses, legal status
    GRIEVANCE_READ = "grievance.read"  # subject: the org unit
    GRIEVANCE_MANAGE = "grievance.manage"
    # notices
    NOTICE_SEND = "notice.send"  # announce a directive, send reminders (subject: org unit)
    NOTICE_STATUS = "notice.status"  # acknowledgement rates
    NOTICE_READ_OWN = "notice.read_own"  # own notices
    NOTICE_ACKNOWLEDGE = "notice.acknowledge"
    # designation and capacity
    DESIGNATION_PLAN = "designation.plan"
    DESIGNATION_APPLY = "designation.apply"
    # users and the audit trail
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    ACCOUNT_SELF = "account.self"  # one's own password, API tokens and sessions
    AUDIT_READ = "audit.read"  # read, verify and export the trail
    AUDIT_PURGE = "audit.purge"  # remove records past their retention, leaving a checkpoint
    # the Privacy Act disclosure ledger (docs/privacy.md)
    DISCLOSURE_READ = "disclosure.read"  # the disclosures of a person's records
    DISCLOSURE_PURGE = "disclosure.purge"  # remove entries past their retention


R = Relation
_SELF = frozenset({R.SELF})
_SCOPE = frozenset({R.IN_SCOPE})
_SELF_OR_SCOPE = frozenset({R.SELF, R.IN_SCOPE})
_STAFF_READERS = (Role.TMO, Role.HR, Role.CERTIFYING_OFFICIAL, Role.AUDITOR)

POLICY: Mapping[Operation, Mapping[Role, frozenset[Relation]]] = {
    Operation.STATUS_READ: {
        Role.EMPLOYEE: _SELF,
        Role.SUPERVISOR: _SCOPE,
        Role.LEADER: _SCOPE,
        Role.AGENCY_ADMIN: _SCOPE,
        **dict.fromkeys(_STAFF_READERS, _SCOPE),
    },
    Operation.REPORT_READ: {
        Role.LEADER: _SCOPE,
        Role.AGENCY_ADMIN: _SCOPE,
        **dict.fromkeys(_STAFF_READERS, _SCOPE),
    },
    Operation.IMPORT_RUN: {Role.HR: _SCOPE, Role.AGENCY_ADMIN: _SCOPE},
    Operation.EXEMPTION_REQUEST: {Role.EMPLOYEE: _SELF, Role.SUPERVISOR: _SCOPE},
    Operation.EXEMPTION_WITHDRAW: {Role.EMPLOYEE: _SELF, Role.SUPERVISOR: _SCOPE},
    Operation.EXEMPTION_READ: {
        Role.EMPLOYEE: _SELF,
        Role.SUPERVISOR: _SCOPE,
        Role.RA_COORDINATOR: _SCOPE,
        Role.LEADER: _SCOPE,  # a component head certifies, so reads what they certify
        **dict.fromkeys(_STAFF_READERS, _SCOPE),
    },
    Operation.EXEMPTION_READ_MEDICAL: {Role.RA_COORDINATOR: _SCOPE},
    Operation.EXEMPTION_CERTIFY: {
        Role.SUPERVISOR: _SCOPE,
        Role.CERTIFYING_OFFICIAL: _SCOPE,
        Role.TMO: _SCOPE,
        Role.LEADER: _SCOPE,
    },
    Operation.EXEMPTION_REVOKE: {Role.CERTIFYING_OFFICIAL: _SCOPE, Role.TMO: _SCOPE},
    Operation.EXEMPTION_EXPIRE: {Role.TMO: _SCOPE, Role.HR: _SCOPE, Role.AGENCY_ADMIN: _SCOPE},
    Operation.AGREEMENT_READ: {
        Role.SUPERVISOR: _SCOPE,
        Role.LEADER: _SCOPE,
        Role.AGENCY_ADMIN: _SCOPE,
        **dict.fromkeys(_STAFF_READERS, _SCOPE),
    },
    Operation.AGREEMENT_MANAGE: {Role.HR: _SCOPE},
    Operation.GRIEVANCE_READ: {
        Role.LEADER: _SCOPE,
        **dict.fromkeys(_STAFF_READERS, _SCOPE),
    },
    Operation.GRIEVANCE_MANAGE: {Role.HR: _SCOPE},
    Operation.NOTICE_SEND: {Role.TMO: _SCOPE, Role.HR: _SCOPE},
    Operation.NOTICE_STATUS: {
        Role.LEADER: _SCOPE,
        **dict.fromkeys(_STAFF_READERS, _SCOPE),
    },
    Operation.NOTICE_READ_OWN: {Role.EMPLOYEE: _SELF},
    Operation.NOTICE_ACKNOWLEDGE: {Role.EMPLOYEE: _SELF},
    Operation.DESIGNATION_PLAN: {Role.TMO: _SCOPE, Role.HR: _SCOPE, Role.AGENCY_ADMIN: _SCOPE},
    Operation.DESIGNATION_APPLY: {Role.HR: _SCOPE, Role.AGENCY_ADMIN: _SCOPE},
    Operation.USER_READ: {Role.AGENCY_ADMIN: _SCOPE, Role.AUDITOR: _SCOPE},
    Operation.USER_MANAGE: {Role.AGENCY_ADMIN: _SCOPE},
    Operation.ACCOUNT_SELF: dict.fromkeys(Role, _SELF),
    Operation.AUDIT_READ: {Role.AUDITOR: _SCOPE, Role.AGENCY_ADMIN: _SCOPE},
    # The service also asks for a grant over the whole organisation (the trail is one).
    Operation.AUDIT_PURGE: {Role.AGENCY_ADMIN: _SCOPE},
    # Everyone sees the accounting of disclosures of their own records, whatever their
    # roles (5 U.S.C. 552a(c)(3)); HR, administrators and auditors see it for the people in
    # their scope.
    Operation.DISCLOSURE_READ: {
        **dict.fromkeys(Role, _SELF),
        Role.HR: _SELF_OR_SCOPE,
        Role.AUDITOR: _SELF_OR_SCOPE,
        Role.AGENCY_ADMIN: _SELF_OR_SCOPE,
    },
    # The service also asks for a grant over the whole organisation (the ledger is one).
    Operation.DISCLOSURE_PURGE: {Role.AGENCY_ADMIN: _SCOPE},
}


@dataclass(frozen=True)
class Grant:
    """``role`` over ``scope``: an org-unit code (its whole subtree), or None for the whole
    organisation. Ignored for the supervisor role, whose scope is their reports."""

    role: Role
    scope: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who is acting. ``employee_pk`` links the user to their employee record (None for
    accounts that are not employees, such as a service account). ``channel`` says how
    they came in (``cli``, ``web``, ``api``) and goes into the audit trail."""

    user_id: int | None
    username: str
    grants: tuple[Grant, ...] = ()
    employee_pk: int | None = None
    channel: str = "cli"
    roles: frozenset[Role] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(g.role for g in self.grants))

    def holds(self, role: Role) -> bool:
        return role in self.roles


# The actor of work no person started (scheduled expiry, mail delivery). It holds no
# grants: services called as SYSTEM skip the authorisation check explicitly.
SYSTEM = Actor(user_id=None, username="system", channel="system")


def could_ever(actor: Actor, operation: Operation) -> bool:
    """Whether any of the actor's roles allows ``operation`` for some subject."""
    allowed = POLICY.get(operation, {})
    return any(allowed.get(grant.role) for grant in actor.grants)


def permits(operation: Operation, role: Role, relation: Relation) -> bool:
    return relation in POLICY.get(operation, {}).get(role, frozenset())


def permitted_by_any(
    operation: Operation, relations: Iterable[tuple[Grant, Relation]]
) -> Grant | None:
    """The first grant whose relation to the subject permits the operation, if any."""
    for grant, relation in relations:
        if permits(operation, grant.role, relation):
            return grant
    return None
