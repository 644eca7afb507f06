"""Use cases: certify (approve or deny) a request, revoke an exemption, expire the ones
whose end has passed (docs/exemptions.md).

A certification is given in one role: supervisor, certifying official (agency head),
leader (component head) or TMO (telework managing officer); the request is approved when
every certification the directive requires approves it, and denied by the first denial.
For a confidential category the certifier's reason goes to the medical store and the
request keeps a generic one, so nothing medical reaches the supervisor's view.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM, Actor, Operation, Role
from dutystation.domain.directive import Certifier
from dutystation.domain.exemptions import (
    CERTIFIER_OF_ROLE,
    CERTIFIER_WORDS,
    ROLE_OF_CERTIFIER,
    CertifierFacts,
    Decision,
    InvalidRequest,
    NotPermitted,
    RequestFacts,
    RequestStatus,
    Span,
    approved_dates,
    check_certifier,
    check_reason,
    check_revoke,
    due_to_expire,
    outcome,
)
from dutystation.errors import Forbidden, NotFound
from dutystation.services import medical_store
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.services.exemption_guard import (
    attempt,
    guarded_request,
    may_ever,
    restricted,
    translated,
)
from dutystation.services.exemption_records import (
    CERTIFICATIONS,
    EMPLOYEES,
    REQUESTS,
    SUBJECT_TYPE,
    audit_picture,
    certification_rows,
    certifications,
    facts,
    load_request,
    not_found,
    utc_now,
)
from dutystation.store.db import write_transaction
from dutystation.store.snapshot_rows import mark_stale

# What the request keeps of a confidential decision; the certifier's words are in the
# medical store, readable by the RA coordinator only.
CONFIDENTIAL_REASON = {
    Decision.APPROVE: "approved; the reasons are on file with the reasonable-accommodation office",
    Decision.DENY: "denied; the reasons are on file with the reasonable-accommodation office",
}
CONFIDENTIAL_REVOCATION = (
    "revoked; the reasons are on file with the reasonable-accommodation office"
)


@dataclass(frozen=True)
class Certified:
    request_id: int
    certifier: Certifier
    status: RequestStatus  # the request's status after this certification
    approved: Span | None = None


def certify(
    runtime: Runtime,
    actor: Actor,
    request_id: int,
    decision: Decision,
    reason: str,
    *,
    start: date | None = None,
    end: date | None = None,
    certifier: Certifier | None = None,
    now: datetime | None = None,
) -> Certified:
    """Give one required certification. ``start``/``end`` narrow the dates an approval
    agrees to (default: the requested dates; an open-ended request needs ``end``).
    ``certifier`` says in which role, when the actor holds several that could."""
    refused = attempt(Operation.EXEMPTION_CERTIFY, request_id)
    with (
        denials_recorded(runtime.engine, actor, refused),
        write_transaction(runtime.engine) as conn,
    ):
        may_ever(actor, Operation.EXEMPTION_CERTIFY)
        if actor is SYSTEM:
            raise Forbidden("certifications are given by people, not by the system")
        row = load_request(conn, request_id)
        if row is None:
            raise NotFound(not_found(request_id))
        request = facts(row)
        with translated():
            if actor.employee_pk is not None and actor.employee_pk == request.employee_pk:
                raise NotPermitted("nobody may certify their own exemption request")
        given_rows = certification_rows(conn, request_id)
        given = certifications(given_rows)
        role = _certifying_as(conn, actor, request, certifier, {c.certifier for c in given})
        chosen = CERTIFIER_OF_ROLE[role]
        with translated():
            check_certifier(
                request, chosen, CertifierFacts(actor.user_id, actor.employee_pk), given
            )
            text = check_reason(reason)
            approves = None
            if decision is Decision.APPROVE:
                proposed = None
                if start or end:
                    asked = request.requested
                    proposed = Span(start or asked.start, end or asked.end)
                approves = approved_dates(
                    request, proposed, given, runtime.settings.exemption_max_days
                )
            elif start or end:
                raise InvalidRequest("a denial carries no dates")
        moment = now or utc_now()
        confidential = request.category.confidential
        conn.execute(
            insert(CERTIFICATIONS).values(
                request_id=request_id,
                certifier=chosen.value,
                user_id=actor.user_id,
                username=actor.username,
                decision=decision.value,
                reason=CONFIDENTIAL_REASON[decision] if confidential else text,
                approve_start=approves.start if approves else None,
                approve_end=approves.end if approves else None,
                at=moment,
            )
        )
        if confidential:
            fields = {f"decision.{chosen.value}.reason": text}
            medical_store.put(conn, runtime.settings, request_id, fields, ())
        result = outcome(request.required, certifications(certification_rows(conn, request_id)))
        before = audit_picture(row)
        changed: dict[str, Any] = {}
        if result.status is not RequestStatus.SUBMITTED:
            changed = {"status": result.status.value, "decided_at": moment}
            if result.approved is not None:
                changed |= {
                    "approved_start": result.approved.start,
                    "approved_end": result.approved.end,
                }
            conn.execute(update(REQUESTS).where(REQUESTS.c.id == request_id).values(**changed))
            # The employee's status changes (pending → exempt or not): pages that read the
            # evaluation snapshot say it is out of date until the next refresh.
            mark_stale(conn, Operation.EXEMPTION_CERTIFY.value)
        after = audit_picture({**row._mapping, **changed})
        after |= {"certifier": chosen.value, "decision": decision.value}
        if not confidential:
            after["reason"] = text
        record(
            conn,
            actor,
            Change(
                action=Operation.EXEMPTION_CERTIFY.value,
                subject_type=SUBJECT_TYPE,
                subject_id=str(request_id),
                before=before,
                after=after,
            ),
        )
        return Certified(request_id, chosen, result.status, result.approved)


def _certifying_as(
    conn: Connection,
    actor: Actor,
    request: RequestFacts,
    asked: Certifier | None,
    given: set[Certifier],
) -> Role:
    """The role the actor certifies in: the one asked for, else the only certifying role
    of theirs that has the employee in scope and is still required."""
    roles = [r for r in dict.fromkeys(g.role for g in actor.grants) if r in CERTIFIER_OF_ROLE]
    if asked is not None:
        wanted = ROLE_OF_CERTIFIER[asked]
        if wanted not in roles:
            raise Forbidden(
                f"user {actor.username!r} holds no role that certifies as {CERTIFIER_WORDS[asked]}"
            )
        roles = [wanted]
    in_scope: list[Role] = []
    refusal: NotFound | None = None
    subject = Subject(employee_pk=request.employee_pk)
    for role in roles:
        one_role = restricted(actor, tuple(g for g in actor.grants if g.role is role))
        try:
            sentence = not_found(request.id)
            authorize(conn, one_role, Operation.EXEMPTION_CERTIFY, subject, not_found=sentence)
        except NotFound as exc:
            refusal = exc
            continue
        in_scope.append(role)
    if not in_scope:
        assert refusal is not None  # roles is never empty: may_ever passed
        raise refusal
    still_open = set(request.required) - given
    open_roles = [r for r in in_scope if CERTIFIER_OF_ROLE[r] in still_open]
    if len(open_roles) > 1:
        choices = " or ".join(CERTIFIER_OF_ROLE[r].value for r in open_roles)
        with translated():
            raise InvalidRequest(
                f"you may certify request {request.id} as {choices}; say which (--certifier)"
            )
    return open_roles[0] if open_roles else in_scope[0]


def revoke(
    runtime: Runtime,
    actor: Actor,
    request_id: int,
    from_day: date,
    reason: str,
    *,
    now: datetime | None = None,
) -> None:
    """End an approved exemption's coverage from ``from_day`` on (it covers up to the day
    before), with a reason."""
    refused = attempt(Operation.EXEMPTION_REVOKE, request_id)
    with (
        denials_recorded(runtime.engine, actor, refused),
        write_transaction(runtime.engine) as conn,
    ):
        row, _ = guarded_request(conn, actor, Operation.EXEMPTION_REVOKE, request_id)
        request = facts(row)
        with translated():
            check_revoke(request, from_day, reason)
        text = reason.strip()
        confidential = request.category.confidential
        changed = {
            "status": RequestStatus.REVOKED.value,
            "revoked_from": from_day,
            "revoked_at": now or utc_now(),
            "revoke_reason": CONFIDENTIAL_REVOCATION if confidential else text,
        }
        conn.execute(update(REQUESTS).where(REQUESTS.c.id == request_id).values(**changed))
        mark_stale(conn, Operation.EXEMPTION_REVOKE.value)  # coverage ends: statuses change
        if confidential:
            medical_store.put(conn, runtime.settings, request_id, {"revocation.reason": text}, ())
        after = audit_picture({**row._mapping, **changed})
        if not confidential:
            after["reason"] = text
        record(
            conn,
            actor,
            Change(
                action=Operation.EXEMPTION_REVOKE.value,
                subject_type=SUBJECT_TYPE,
                subject_id=str(request_id),
                before=audit_picture(row),
                after=after,
            ),
        )


def expire_due(
    runtime: Runtime, actor: Actor, today: date, *, now: datetime | None = None
) -> list[int]:
    """Mark every approved exemption whose last day is before ``today`` expired (the
    housekeeping run: ``SYSTEM``, or a role allowed ``exemption.expire``, which expires
    those in its scope). Returns the ids, in order. Coverage is unchanged: an expired
    exemption still covered its dates."""
    refused = dataclasses.replace(attempt(Operation.EXEMPTION_EXPIRE), subject_type=SUBJECT_TYPE)
    with (
        denials_recorded(runtime.engine, actor, refused),
        write_transaction(runtime.engine) as conn,
    ):
        may_ever(actor, Operation.EXEMPTION_EXPIRE)
        rows = conn.execute(
            select(REQUESTS, EMPLOYEES.c.employee_id)
            .join(EMPLOYEES, EMPLOYEES.c.id == REQUESTS.c.employee_pk)
            .where(
                REQUESTS.c.status == RequestStatus.APPROVED.value,
                REQUESTS.c.approved_end < today,
            )
            .order_by(REQUESTS.c.id)
        ).all()
        expired: list[int] = []
        moment = now or utc_now()
        for row in rows:
            if not due_to_expire(facts(row), today) or not _may_expire(conn, actor, row):
                continue
            changed = {"status": RequestStatus.EXPIRED.value, "expired_at": moment}
            conn.execute(update(REQUESTS).where(REQUESTS.c.id == row.id).values(**changed))
            record(
                conn,
                actor,
                Change(
                    action=Operation.EXEMPTION_EXPIRE.value,
                    subject_type=SUBJECT_TYPE,
                    subject_id=str(row.id),
                    before=audit_picture(row),
                    after=audit_picture({**row._mapping, **changed}),
                ),
            )
            expired.append(row.id)
        if not expired:
            # One record per expired request above; a run that found none is recorded too,
            # so the trail shows who ran the expiry and when (RELIABILITY T07).
            after = {"today": today.isoformat(), "expired": 0}
            change = Change(Operation.EXEMPTION_EXPIRE.value, SUBJECT_TYPE, None, None, after)
            record(conn, actor, change, now=moment)
        return expired


def _may_expire(conn: Connection, actor: Actor, row: Row[Any]) -> bool:
    if actor is SYSTEM:
        return True
    try:
        authorize(conn, actor, Operation.EXEMPTION_EXPIRE, Subject(employee_pk=row.employee_pk))
    except NotFound:
        return False
    return True
