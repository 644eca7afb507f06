"""Mail delivery against a real SMTP server started in-process (aiosmtpd on 127.0.0.1), on
SQLite and PostgreSQL: exactly one mail per notice and person, however many workers run,
retries with backoff while the server is down, permanent refusals failed and reported."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from notice_builders import (
    ANNOUNCED_ON,
    BACKENDS,
    LEADER,
    MAILED,
    NOW,
    REF,
    SENDER,
    SmtpServer,
    directive,
    fresh_roster,
    module_database,
    sender,
)
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from dutystation.errors import ConfigError, Forbidden
from dutystation.services.mail_delivery import deliver, requeue_failed, watch
from dutystation.services.notice_status import status
from dutystation.services.notices import send_announcement
from dutystation.settings import Settings
from dutystation.store.schema_notices import MailOutbox

ADDRESSES = sorted(f"{e.lower()}@agency.example.gov" for e in MAILED)


@pytest.fixture(scope="module", params=BACKENDS)
def notice_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from module_database(request, tmp_path_factory)


@pytest.fixture
def announced(notice_db: Engine) -> Engine:
    """The roster with the directive announced (4 mails waiting, E6 in the app only)."""
    engine = fresh_roster(notice_db)
    send_announcement(engine, sender(), REF, directives=[directive()], today=ANNOUNCED_ON, now=NOW)
    return engine


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def outbox(engine: Engine) -> list[MailOutbox]:
    with Session(engine) as session:
        return list(session.scalars(select(MailOutbox).order_by(MailOutbox.to_address)))


def test_every_person_in_scope_gets_exactly_one_mail(
    announced: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = smtp.settings(tmp_path)
    result = deliver(announced, settings, now=NOW)
    assert (result.sent, result.failed, result.retrying) == (4, 0, 0)
    assert smtp.recorder.to() == ADDRESSES  # not E4, E5 (out of scope), nor E6 (no address)
    assert deliver(announced, settings, now=NOW + timedelta(days=1)).sent == 0
    assert smtp.recorder.to() == ADDRESSES
    rows = outbox(announced)
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    by_address = {tos[0]: message for tos, message in smtp.recorder.messages}
    for row in rows:
        message = by_address[row.to_address]
        assert message["Message-ID"] == row.message_id  # recorded with the mail it names
        assert message["To"] == row.to_address  # each mail names only its own recipient
        assert message["From"] == SENDER
        assert message["Auto-Submitted"] == "auto-generated"
        assert "Return to the office (ORDER@1)" in message["Subject"]
        body = message.get_content()
        assert f"dutystation notices ack {row.notice_id}" in body
    assert len({r.message_id for r in rows}) == 4


def test_workers_running_at_once_never_send_a_mail_twice(
    announced: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    for _ in range(3):  # 16 mails: 4 notices to the same 4 people
        send_announcement(
            announced,
            sender(),
            REF,
            directives=[directive()],
            today=ANNOUNCED_ON,
            now=NOW,
            again=True,
        )
    settings = smtp.settings(tmp_path)
    results = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        results.append(deliver(announced, settings, now=NOW))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.sent for r in results) == 16
    assert smtp.recorder.to() == sorted(ADDRESSES * 4)  # each notice once to each person
    assert len({m["Message-ID"] for _, m in smtp.recorder.messages}) == 16
    assert {r.status for r in outbox(announced)} == {"sent"}


def test_a_server_that_is_down_is_retried_with_backoff_until_it_is_back(
    announced: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = smtp.settings(tmp_path)
    smtp.stop()
    down = deliver(announced, settings, now=NOW)
    assert down.stopped == "connection_refused" and down.retrying == 4 and down.sent == 0
    rows = outbox(announced)
    assert {(r.status, r.attempts, r.last_error_code) for r in rows} == {
        ("pending", 1, "connection_refused")
    }
    # 60 s, then 120 s: nothing is tried before the next attempt is due.
    assert deliver(announced, settings, now=NOW + timedelta(seconds=59)).retrying == 0
    deliver(announced, settings, now=NOW + timedelta(seconds=60))
    assert {r.attempts for r in outbox(announced)} == {2}
    smtp.start()
    assert deliver(announced, settings, now=NOW + timedelta(seconds=179)).sent == 0
    back = deliver(announced, settings, now=NOW + timedelta(seconds=180))
    assert back.sent == 4 and smtp.recorder.to() == ADDRESSES
    assert {(r.status, r.last_error_code) for r in outbox(announced)} == {("sent", None)}


def test_a_temporary_refusal_fails_after_the_last_attempt(
    announced: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = smtp.settings(tmp_path)  # 3 attempts
    smtp.recorder.rcpt_reply = "451 4.3.0 Try again later"
    moment = NOW
    for wait in (0, 60, 120):
        moment += timedelta(seconds=wait)
        deliver(announced, settings, now=moment)
    assert {(r.status, r.attempts, r.last_error_code) for r in outbox(announced)} == {
        ("failed", 3, "smtp_451")
    }
    assert deliver(announced, settings, now=moment + timedelta(days=1)).handled == 0
    assert smtp.recorder.messages == []


def test_a_permanent_refusal_fails_at_once_and_is_reported(
    announced: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    smtp.recorder.rcpt_reply = "550 5.1.1 <someone@agency.example.gov>: no such user"
    result = deliver(announced, smtp.settings(tmp_path), now=NOW)
    assert result.failed == 4 and result.sent == 0
    rows = outbox(announced)
    # The code only: the server's text echoes the address.
    assert {(r.status, r.attempts, r.last_error_code) for r in rows} == {("failed", 1, "smtp_550")}
    by_unit = status(announced, LEADER, REF).section("by-unit").table.to_pylist()
    total = next(r for r in by_unit if r["is_total"])
    assert (total["mail_failed"], total["mail_sent"], total["in_app_only"]) == (4, 0, 1)


def test_a_worker_that_died_mid_send_leaves_the_mail_failed_not_sent_twice(
    announced: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = smtp.settings(tmp_path)  # lease 60 s
    # As a worker that claimed every mail and died: the server may or may not have them.
    with announced.begin() as conn:
        conn.execute(
            update(MailOutbox).values(
                status="sending",
                attempts=1,
                claim_token="dead-worker",
                lease_until=NOW + timedelta(seconds=60),
                message_id="<notice-1.fixed@agency.example.gov>",
            )
        )
    assert deliver(announced, settings, now=NOW + timedelta(seconds=30)).handled == 0
    later = deliver(announced, settings, now=NOW + timedelta(seconds=61))
    assert later.outcome_unknown == 4 and later.sent == 0
    assert {(r.status, r.last_error_code) for r in outbox(announced)} == {
        ("failed", "outcome_unknown")
    }
    assert smtp.recorder.messages == []  # never re-sent on a guess
    # A person decides a possible duplicate is better than a missing mail.
    with pytest.raises(Forbidden):
        requeue_failed(announced, sender("COMP-A"), now=NOW)
    assert requeue_failed(announced, sender(), now=NOW + timedelta(seconds=62)) == 4
    deliver(announced, settings, now=NOW + timedelta(seconds=62))
    assert smtp.recorder.to() == ADDRESSES
    ids = {m["Message-ID"] for _, m in smtp.recorder.messages}
    assert ids == {"<notice-1.fixed@agency.example.gov>"}  # the first attempt's Message-ID


def test_the_watch_loop_delivers_what_is_enqueued_later(
    announced: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = smtp.settings(tmp_path)
    stop = threading.Event()
    passes = []

    def on_pass(result: object) -> None:
        passes.append(result)
        if len(smtp.recorder.to()) >= 4:
            stop.set()

    worker = threading.Thread(
        target=watch,
        args=(announced, settings),
        kwargs={"stop": stop, "interval": 0.05, "on_pass": on_pass},
    )
    worker.start()
    worker.join(timeout=30)
    stop.set()
    assert not worker.is_alive()
    assert smtp.recorder.to() == ADDRESSES


def test_mail_needs_a_server_and_a_sender(announced: Engine, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="smtp_host"):
        deliver(announced, Settings(data_dir=tmp_path))
    clear = Settings(
        data_dir=tmp_path,
        smtp_host="mail.example.gov",
        smtp_from=SENDER,
        smtp_starttls=False,
        smtp_username="dutystation",
    )
    with pytest.raises(ConfigError, match="clear text"):
        deliver(announced, clear)
    assert {r.status for r in outbox(announced)} == {"pending"}


def test_a_login_is_used_when_configured(
    announced: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    # aiosmtpd without an authenticator does not offer AUTH: the login fails, the mail
    # waits for a retry and nothing is sent without the configured login.
    settings = smtp.settings(tmp_path, smtp_username="dutystation", smtp_password="secret")
    result = deliver(announced, settings, now=NOW)
    assert result.stopped is not None and result.sent == 0 and result.retrying == 4
    assert smtp.recorder.messages == []
