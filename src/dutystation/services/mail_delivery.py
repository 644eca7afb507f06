"""Mail delivery: drain the notice outbox through SMTP (docs/notices.md, "Delivery").

Any number of workers may run ``deliver`` at once, on SQLite or PostgreSQL. A worker owns
a mail only after a conditional UPDATE moved it from ``pending`` to ``sending`` (one row,
one short write transaction): the database lets exactly one worker win it. The claim
carries a lease; a mail still ``sending`` after its lease is one whose worker stopped
mid-send.

**At most once.** A mail is handed to the SMTP server only by the worker that claimed
it, and a mail whose outcome is unknown is never sent again automatically: a worker that
dies after the server accepted the message but before recording it leaves the row
``sending``; when the lease runs out it becomes ``failed`` with code ``outcome_unknown``,
as does a connection lost while the message itself was being transferred. Nobody gets a
notice mail twice; the price is that such a mail may be missing, which the status and
the ``acknowledgements`` report show, the notice is in the app regardless, and reminders
go to whoever has not acknowledged. ``requeue_failed`` sends those again when a person
decides to; the Message-ID, fixed at the first attempt, is reused so a duplicate is
recognisable.

Failures before the message transfer are certain not to have delivered anything and are
retried with exponential backoff (``mail_retry_base_seconds``, doubling, at most 6 h) up to
``mail_max_attempts``: the server unreachable, a lost connection, a temporary ``4xx``
reply. A permanent ``5xx`` reply fails the mail at once (RFC 5321 4.2.1). Error codes are
short (``smtp_550``, ``connection_refused``); the server's text is never stored, since it
may echo addresses.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from dutystation.domain.access import Actor, Operation
from dutystation.domain.notices import retry_delay
from dutystation.errors import Forbidden, StoreError
from dutystation.services.audit import Change, record
from dutystation.services.authorization import authorize
from dutystation.services.notice_scope import (
    NOTICES,
    OUTBOX,
    as_utc,
    refusals_recorded,
    scope_roots,
    utc_now,
)
from dutystation.services.progress import NullProgress, Progress
from dutystation.services.smtp_client import (
    ADDRESS,
    UNKNOWN,
    MailConfig,
    SendFailure,
    SmtpSession,
    build_message,
    new_message_id,
)
from dutystation.settings import Settings
from dutystation.store.db import translate_errors, write_transaction


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0  # back to pending, with a later next attempt
    failed: int = 0  # refused for good, or out of attempts
    outcome_unknown: int = 0  # leases that ran out: marked failed, not re-sent
    taken: int = 0  # claimed by another worker first
    stopped: str | None = None  # the server could not be used: the pass ended early

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.taken


# --- the outbox ---------------------------------------------------------------------------


@contextlib.contextmanager
def _outbox_transaction(engine: Engine) -> Iterator[Connection]:
    """A short transaction of the outbox's own. Not ``write_transaction``: these writes are
    not audited, so they need not queue behind every other writer (an import holding the
    writer lock for minutes) for the audit chain's sake. Each starts with its UPDATE, so on
    SQLite the write lock is taken by the first statement (busy timeout applies), and two
    workers' conditional UPDATEs on one row are decided by the database on both backends."""
    with translate_errors(), engine.begin() as conn:
        yield conn


@dataclass(frozen=True)
class _Due:
    id: int
    notice_id: int
    attempts: int


@dataclass(frozen=True)
class _Claimed:
    id: int
    to_address: str
    attempts: int
    message_id: str
    subject: str
    body: str


def _expire_leases(engine: Engine, now: datetime) -> int:
    o = OUTBOX
    with _outbox_transaction(engine) as conn:
        # claim_token stays: the late worker may still record "sent" if it got that far.
        return conn.execute(
            update(o)
            .where(o.c.status == "sending", o.c.lease_until < now)
            .values(status="failed", last_error_code=UNKNOWN, lease_until=None)
        ).rowcount


def due_mail(engine: Engine, now: datetime | None = None, limit: int | None = None) -> list[_Due]:
    o = OUTBOX
    query = (
        select(o.c.id, o.c.notice_id, o.c.attempts)
        .where(o.c.status == "pending", o.c.next_attempt_at <= as_utc(now or utc_now()))
        .order_by(o.c.next_attempt_at, o.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_Due(*row) for row in conn.execute(query)]


def _claim(
    engine: Engine, due: _Due, token: str, now: datetime, config: MailConfig
) -> _Claimed | None:
    o, n = OUTBOX, NOTICES
    with _outbox_transaction(engine) as conn:
        won = conn.execute(
            update(o)
            .where(o.c.id == due.id, o.c.status == "pending", o.c.next_attempt_at <= now)
            .values(
                status="sending",
                claim_token=token,
                lease_until=now + config.lease,
                attempts=o.c.attempts + 1,
                message_id=func.coalesce(
                    o.c.message_id, new_message_id(due.notice_id, config.sender)
                ),
            )
        ).rowcount
        if won != 1:
            return None
        row = conn.execute(
            select(o.c.id, o.c.to_address, o.c.attempts, o.c.message_id, n.c.subject, n.c.body)
            .join(n, n.c.id == o.c.notice_id)
            .where(o.c.id == due.id)
        ).one()
    return _Claimed(*row)


def _outcome_values(
    attempts: int, failure: SendFailure, now: datetime, config: MailConfig
) -> dict[str, Any]:
    common: dict[str, Any] = {"last_error_code": failure.code, "lease_until": None}
    if failure.kind == "retry" and attempts < config.max_attempts:
        later = now + retry_delay(attempts, config.retry_base)
        return common | {"status": "pending", "next_attempt_at": later, "claim_token": None}
    return common | {"status": "failed"}


def _record(
    engine: Engine,
    claimed: _Claimed,
    token: str,
    now: datetime,
    failure: SendFailure | None,
    config: MailConfig,
) -> None:
    o = OUTBOX
    mine = (o.c.id == claimed.id, o.c.claim_token == token)
    with _outbox_transaction(engine) as conn:
        if failure is None:
            # Also over a lease that ran out meanwhile: the server did take the message.
            sent = {"status": "sent", "sent_at": now, "last_error_code": None, "lease_until": None}
            conn.execute(update(o).where(*mine).values(**sent))
        else:
            values = _outcome_values(claimed.attempts, failure, now, config)
            conn.execute(update(o).where(*mine, o.c.status == "sending").values(**values))


def _defer(
    engine: Engine, rows: Sequence[_Due], failure: SendFailure, now: datetime, config: MailConfig
) -> tuple[int, int]:
    """The server could not be reached while these mails were due: an attempt for each
    (compare-and-set on attempts, in case another worker moved one). (retrying, failed)."""
    o = OUTBOX
    retrying = failed = 0
    with _outbox_transaction(engine) as conn:
        for row in rows:
            values = _outcome_values(row.attempts + 1, failure, now, config)
            changed = conn.execute(
                update(o)
                .where(o.c.id == row.id, o.c.status == "pending", o.c.attempts == row.attempts)
                .values(attempts=row.attempts + 1, **values)
            ).rowcount
            if changed and values["status"] == "pending":
                retrying += 1
            elif changed:
                failed += 1
    return retrying, failed


def deliver(
    engine: Engine,
    settings: Settings,
    *,
    limit: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> DeliveryResult:
    """One delivery pass over the mails due (at most ``limit``). ``now`` fixes the clock
    (tests); by default each step reads the real one. ``stop`` ends the pass between two
    mails (a worker asked to shut down never leaves one half-sent)."""
    config = MailConfig.from_settings(settings)
    fixed = as_utc(now)

    def clock() -> datetime:
        return fixed or utc_now()

    result = DeliveryResult(outcome_unknown=_expire_leases(engine, clock()))
    due = due_mail(engine, clock(), limit)
    if not due:
        return result
    token = uuid.uuid4().hex
    bar = progress or NullProgress()
    bar.start("sending mail", len(due))
    session = SmtpSession(config)
    try:
        for index, row in enumerate(due):
            if stop is not None and stop.is_set():
                break
            try:
                session.connect()
            except SendFailure as down:
                retrying, failed = _defer(engine, due[index:], down, clock(), config)
                result.retrying += retrying
                result.failed += failed
                result.stopped = down.code
                break
            claimed = _claim(engine, row, token, clock(), config)
            if claimed is None:
                result.taken += 1
            else:
                failure = _attempt(session, claimed, config, clock())
                _record(engine, claimed, token, clock(), failure, config)
                _count(result, failure, claimed.attempts, config)
            bar.advance(rows=1, bytes_done=index + 1)
    finally:
        session.close()
        bar.finish()
    return result


def _attempt(
    session: SmtpSession, claimed: _Claimed, config: MailConfig, now: datetime
) -> SendFailure | None:
    if not ADDRESS.fullmatch(claimed.to_address):
        return SendFailure("bad_address", "fail")
    message = build_message(
        config.sender,
        claimed.to_address,
        claimed.subject,
        claimed.body,
        claimed.message_id,
        now,
    )
    try:
        session.send(config.sender, claimed.to_address, message)
    except SendFailure as failure:
        return failure
    return None


def _count(
    result: DeliveryResult, failure: SendFailure | None, attempts: int, c: MailConfig
) -> None:
    if failure is None:
        result.sent += 1
    elif failure.kind == "retry" and attempts < c.max_attempts:
        result.retrying += 1
    else:
        result.failed += 1


def watch(
    engine: Engine,
    settings: Settings,
    *,
    stop: threading.Event,
    interval: float = 30.0,
    batch: int = 500,
    on_pass: Callable[[DeliveryResult], None] | None = None,
    on_error: Callable[[StoreError], None] | None = None,
) -> None:
    """Deliver until ``stop`` is set: a full batch is followed at once by the next, else
    the worker waits ``interval`` seconds. A database that cannot be used is reported to
    ``on_error`` and tried again after the interval; the worker keeps running."""
    MailConfig.from_settings(settings)  # a configuration error stops it at once
    while not stop.is_set():
        try:
            result = deliver(engine, settings, limit=batch, stop=stop)
        except StoreError as exc:
            if on_error is not None:
                on_error(exc)
            stop.wait(interval)
            continue
        if on_pass is not None:
            on_pass(result)
        if result.handled < batch or result.stopped is not None:
            stop.wait(interval)


def requeue_failed(
    engine: Engine,
    actor: Actor,
    *,
    codes: Sequence[str] | None = (UNKNOWN,),
    now: datetime | None = None,
) -> int:
    """Failed mails back to pending with fresh attempts (``codes``: only those error
    codes; None: every failed mail). For a person who decided a possible duplicate is
    better than a missing mail. Needs ``NOTICE_SEND`` over the whole organisation."""
    moment = as_utc(now) or utc_now()
    o = OUTBOX
    attempt = Change(Operation.NOTICE_SEND.value, "mail_outbox", None, after={"requeue": True})
    with refusals_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        authorize(conn, actor, Operation.NOTICE_SEND)
        if scope_roots(actor, Operation.NOTICE_SEND) is not None:
            raise Forbidden(
                f"user {actor.username!r} may requeue mail only with a grant over the whole "
                "organisation"
            )
        chosen = o.c.status == "failed"
        if codes is not None:
            chosen = chosen & o.c.last_error_code.in_(list(codes))
        count = conn.execute(
            update(o)
            .where(chosen)
            .values(
                status="pending",
                attempts=0,
                next_attempt_at=moment,
                claim_token=None,
                lease_until=None,
                last_error_code=None,
            )
        ).rowcount
        if count:
            after = {"requeued": count, "codes": list(codes) if codes is not None else "all"}
            change = Change(Operation.NOTICE_SEND.value, "mail_outbox", None, None, after)
            record(conn, actor, change, now=moment)
    return count
