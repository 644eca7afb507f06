"""Use case: notices (docs/notices.md). Announce a directive to everyone in its scope,
remind those who have not acknowledged it before each deadline, let each person read and
acknowledge their own notices.

A notice, its recipients, their outbox rows (one per person with a mail address) and the
audit record are written in ONE write transaction: either all exist or none does. Mail is
not sent here; ``services/mail_delivery.py`` drains the outbox.

Nobody is announced to twice: a person who already received an announcement of the
directive is left out of a new one (unless ``again=True``), so announcing again reaches
only people who joined the scope since. A reminder goes once per deadline and person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection, Engine, insert, select, update

from dutystation.domain.access import Actor, Operation
from dutystation.domain.directive import Directive
from dutystation.domain.notices import Deadline, deadlines, due_for_reminder, scope_day
from dutystation.errors import NotFound
from dutystation.services.audit import Change, record
from dutystation.services.authorization import Subject, authorize
from dutystation.services.notice_scope import (
    NOTICES,
    OUTBOX,
    RECIPIENTS,
    Person,
    as_utc,
    authorized_roots,
    employees_with,
    find_directive,
    in_scope_people,
    org_chains,
    refusals_recorded,
    utc_now,
)
from dutystation.store.db import write_transaction

_TEMPLATES = Environment(
    loader=PackageLoader("dutystation.services", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class SendResult:
    """One notice created (``notice_id``), or none when everyone it would reach already
    has it (``notice_id`` None). ``in_app_only``: recipients without a mail address."""

    notice_id: int | None
    directive_ref: str
    recipients: int
    mails: int
    in_app_only: int
    skipped: int  # already announced (or reminded of this deadline, or acknowledged)
    deadline: Deadline | None = None


@dataclass(frozen=True)
class MyNotice:
    notice_id: int
    kind: str
    directive_ref: str
    subject: str
    body: str
    created_at: datetime
    deadline: date | None
    acknowledged_at: datetime | None


# --- writing a notice ---------------------------------------------------------------------


def _create_notice(
    conn: Connection,
    actor: Actor,
    directive: Directive,
    people: Sequence[Person],
    *,
    org_unit: str | None,
    now: datetime,
    skipped: int,
    deadline: Deadline | None = None,
    today: date | None = None,
) -> SendResult:
    kind = "announcement" if deadline is None else "reminder"
    if deadline is None:
        subject = f"{directive.title} ({directive.ref})"
    else:
        subject = f"Reminder: {deadline.kind.label} deadline {deadline.day.isoformat()}, "
        subject += f"{directive.title} ({directive.ref})"
    subject = " ".join(subject.split())[:300]  # one header line, whatever the policy file says
    created = conn.execute(
        insert(NOTICES).values(
            kind=kind,
            directive_ref=directive.ref,
            org_unit=org_unit,
            subject=subject,
            body="",
            created_by=actor.username,
            created_at=now,
            deadline=deadline.day if deadline else None,
            deadline_kind=str(deadline.kind) if deadline else None,
        )
    )
    key = created.inserted_primary_key
    assert key is not None
    notice_id = int(key[0])
    body = _render(directive, notice_id, deadline, today)
    conn.execute(update(NOTICES).where(NOTICES.c.id == notice_id).values(body=body))
    conn.execute(
        insert(RECIPIENTS),
        [
            {
                "notice_id": notice_id,
                "employee_pk": p.employee_pk,
                "org_unit": p.org_unit,
                "component": p.component,
                "email": p.email,
            }
            for p in people
        ],
    )
    mailed = [p for p in people if p.email is not None]
    if mailed:
        conn.execute(
            insert(OUTBOX),
            [
                {
                    "notice_id": notice_id,
                    "employee_pk": p.employee_pk,
                    "to_address": p.email,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for p in mailed
            ],
        )
    result = SendResult(
        notice_id,
        directive.ref,
        len(people),
        len(mailed),
        len(people) - len(mailed),
        skipped,
        deadline,
    )
    # Counts only: no names or addresses in the trail.
    after: dict[str, Any] = {
        "kind": kind,
        "directive_ref": directive.ref,
        "org_unit": org_unit,
        "recipients": result.recipients,
        "mails": result.mails,
        "in_app_only": result.in_app_only,
    }
    if deadline is not None:
        after |= {"deadline": deadline.day.isoformat(), "deadline_kind": str(deadline.kind)}
    record(
        conn,
        actor,
        Change(Operation.NOTICE_SEND.value, "notice", str(notice_id), None, after),
        now=now,
    )
    return result


def _render(
    directive: Directive, notice_id: int, deadline: Deadline | None, today: date | None
) -> str:
    if deadline is None:
        categories = [str(c).replace("_", " ") for c in directive.exemptions.categories]
        template = _TEMPLATES.get_template("notice_announcement.txt.j2")
        return template.render(
            directive=directive,
            notice_id=notice_id,
            deadlines=deadlines(directive),
            categories=categories,
        )
    days_left = (deadline.day - today).days if today is not None else None
    template = _TEMPLATES.get_template("notice_reminder.txt.j2")
    return template.render(
        directive=directive, notice_id=notice_id, deadline=deadline, days_left=days_left
    )


# --- the use cases ------------------------------------------------------------------------


def send_announcement(
    engine: Engine,
    actor: Actor,
    directive_ref: str,
    org_unit: str | None = None,
    *,
    directives: Sequence[Directive],
    today: date | None = None,
    again: bool = False,
    now: datetime | None = None,
) -> SendResult:
    """Announce the directive to everyone in its scope as of ``today`` (inside
    ``org_unit`` and the actor's scope), in the app and by mail. People who already had
    an announcement of it are left out unless ``again``. Needs ``NOTICE_SEND``."""
    day = today or date.today()
    moment = now or utc_now()
    attempt = Change(
        Operation.NOTICE_SEND.value, "directive", directive_ref, after={"org_unit": org_unit}
    )
    directive = find_directive(directives, directive_ref)
    with refusals_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        chains = org_chains(conn)
        roots = authorized_roots(conn, actor, Operation.NOTICE_SEND, org_unit, chains)
        people = in_scope_people(conn, directive, day, roots, chains)
        announced = (
            set()
            if again
            else employees_with(conn, directive.ref, NOTICES.c.kind == "announcement")
        )
        fresh = [p for p in people if p.employee_pk not in announced]
        skipped = len(people) - len(fresh)
        if not fresh:
            # Nobody new to tell: no notice, but the trail still shows who sent (T07).
            after = {"kind": "announcement", "org_unit": org_unit, "recipients": 0}
            after["skipped"] = skipped
            change = Change(attempt.action, "directive", directive.ref, None, after)
            record(conn, actor, change, now=moment)
            return SendResult(None, directive.ref, 0, 0, 0, skipped)
        return _create_notice(
            conn, actor, directive, fresh, org_unit=org_unit, now=moment, skipped=skipped
        )


def send_reminders(
    engine: Engine,
    actor: Actor,
    today: date,
    *,
    directives: Sequence[Directive],
    reminder_days: int = 7,
    org_unit: str | None = None,
    now: datetime | None = None,
) -> list[SendResult]:
    """For every deadline from ``today`` to ``reminder_days`` ahead, a reminder to those
    announced to, still in scope, who have acknowledged nothing of the directive, and have
    not been reminded of that deadline yet. One notice per deadline that reaches anyone."""
    moment = now or utc_now()
    attempt = Change(Operation.NOTICE_SEND.value, "reminders", None, after={"org_unit": org_unit})
    results = []
    with refusals_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        chains = org_chains(conn)
        roots = authorized_roots(conn, actor, Operation.NOTICE_SEND, org_unit, chains)
        for directive in directives:
            due = due_for_reminder(directive, today, reminder_days)
            if not due or scope_day(directive, today) is None:
                continue
            people = in_scope_people(conn, directive, today, roots, chains)
            announced = employees_with(conn, directive.ref, NOTICES.c.kind == "announcement")
            done = employees_with(conn, directive.ref, RECIPIENTS.c.acknowledged_at.is_not(None))
            waiting = [p for p in people if p.employee_pk in announced - done]
            for deadline in due:
                reminded = employees_with(
                    conn,
                    directive.ref,
                    NOTICES.c.kind == "reminder",
                    NOTICES.c.deadline_kind == str(deadline.kind),
                    NOTICES.c.deadline == deadline.day,
                )
                targets = [p for p in waiting if p.employee_pk not in reminded]
                skipped = len(people) - len(targets)
                if not targets:
                    results.append(SendResult(None, directive.ref, 0, 0, 0, skipped, deadline))
                    continue
                results.append(
                    _create_notice(
                        conn,
                        actor,
                        directive,
                        targets,
                        org_unit=org_unit,
                        now=moment,
                        skipped=skipped,
                        deadline=deadline,
                        today=today,
                    )
                )
        if all(r.notice_id is None for r in results):
            # No reminder was due or reached anyone: recorded all the same (T07).
            after: dict[str, Any] = {"kind": "reminder", "org_unit": org_unit, "recipients": 0}
            after["today"] = today.isoformat()
            record(conn, actor, Change(attempt.action, "reminders", None, None, after), now=moment)
    return results


def acknowledge(
    engine: Engine, actor: Actor, notice_id: int, *, now: datetime | None = None
) -> datetime:
    """The actor acknowledges one of their own notices (``NOTICE_ACKNOWLEDGE``, self
    only). Acknowledging again changes nothing and returns the first acknowledgement."""
    moment = now or utc_now()
    not_found = f"no notice {notice_id}"
    attempt = Change(Operation.NOTICE_ACKNOWLEDGE.value, "notice", str(notice_id))
    r = RECIPIENTS
    with refusals_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        own = Subject(employee_pk=actor.employee_pk)
        authorize(conn, actor, Operation.NOTICE_ACKNOWLEDGE, own, not_found=not_found)
        row = conn.execute(
            select(r.c.id, r.c.acknowledged_at).where(
                r.c.notice_id == notice_id, r.c.employee_pk == actor.employee_pk
            )
        ).first()
        if row is None:
            raise NotFound(not_found)
        if row.acknowledged_at is not None:
            return cast(datetime, as_utc(row.acknowledged_at))
        conn.execute(
            update(r)
            .where(r.c.id == row.id)
            .values(acknowledged_at=moment, acknowledged_via=actor.channel)
        )
        conn.execute(
            update(r)
            .where(r.c.id == row.id, r.c.delivered_at.is_(None))
            .values(delivered_at=moment)
        )
        after = {"acknowledged_at": moment.isoformat(), "via": actor.channel}
        record(
            conn,
            actor,
            Change(attempt.action, "notice", str(notice_id), {"acknowledged_at": None}, after),
            now=moment,
        )
    return moment


def my_notices(engine: Engine, actor: Actor, *, now: datetime | None = None) -> list[MyNotice]:
    """The actor's own notices, newest first (``NOTICE_READ_OWN``). Showing them is the
    in-app delivery: the first time, ``delivered_at`` is set (and audited, counts only)."""
    moment = now or utc_now()
    r, n = RECIPIENTS, NOTICES
    attempt = Change(Operation.NOTICE_READ_OWN.value, "employee", str(actor.employee_pk))
    with refusals_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        own = Subject(employee_pk=actor.employee_pk)
        authorize(conn, actor, Operation.NOTICE_READ_OWN, own, not_found="no notices")
        rows = conn.execute(
            select(
                n.c.id,
                n.c.kind,
                n.c.directive_ref,
                n.c.subject,
                n.c.body,
                n.c.created_at,
                n.c.deadline,
                r.c.acknowledged_at,
            )
            .join(r, r.c.notice_id == n.c.id)
            .where(r.c.employee_pk == actor.employee_pk)
            .order_by(n.c.id.desc())
        ).all()
        marked = conn.execute(
            update(r)
            .where(r.c.employee_pk == actor.employee_pk, r.c.delivered_at.is_(None))
            .values(delivered_at=moment)
        ).rowcount
        if marked:
            after = {"delivered_in_app": marked}
            change = Change(attempt.action, "employee", str(actor.employee_pk), None, after)
            record(conn, actor, change, now=moment)
    return [
        MyNotice(
            row.id,
            row.kind,
            row.directive_ref,
            row.subject,
            row.body,
            cast(datetime, as_utc(row.created_at)),
            row.deadline,
            as_utc(row.acknowledged_at),
        )
        for row in rows
    ]
