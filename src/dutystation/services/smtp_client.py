"""Talking to the SMTP server for the delivery worker (``services/mail_delivery.py``): the
mail settings checked once, one reusable connection, and every way an attempt can end
turned into a short code and a kind: ``retry`` (certainly not delivered), ``fail``
(refused for good, RFC 5321 4.2.1: a 5xx reply) or ``unknown`` (the connection broke
while the message itself was being transferred: it may have been delivered).

Codes never carry the server's text (it may echo addresses): ``smtp_550``,
``connection_refused``, ``timeout``, ``tls_failed``, ``starttls_unsupported``,
``disconnected``, ``connect_failed``, ``bad_address``, ``outcome_unknown``.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from dutystation.errors import ConfigError
from dutystation.settings import Settings

UNKNOWN = "outcome_unknown"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# Plain ASCII addresses only: no SMTPUTF8, no display names, nothing a header could split on.
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    sender: str
    starttls: bool
    username: str | None
    password: str | None
    timeout: float
    max_attempts: int
    retry_base: float
    lease: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> MailConfig:
        if not settings.smtp_host or not settings.smtp_from:
            raise ConfigError(
                "mail is not configured: set smtp_host and smtp_from "
                "(DUTYSTATION_SMTP_HOST, DUTYSTATION_SMTP_FROM); notices stay in the app"
            )
        if not ADDRESS.fullmatch(settings.smtp_from):
            raise ConfigError("configuration key 'smtp_from': is not a plain mail address")
        if settings.mail_lease_seconds < 4 * settings.smtp_timeout_seconds:
            raise ConfigError(
                "configuration key 'mail_lease_seconds': must be at least 4 x "
                "smtp_timeout_seconds (one mail is up to four SMTP exchanges)"
            )
        clear_text = settings.smtp_username and not settings.smtp_starttls
        if clear_text and settings.smtp_host not in _LOOPBACK:
            raise ConfigError(
                "configuration key 'smtp_username': a login without smtp_starttls "
                "would send the password in clear text; turn smtp_starttls on"
            )
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_starttls,
            settings.smtp_username,
            password,
            settings.smtp_timeout_seconds,
            settings.mail_max_attempts,
            settings.mail_retry_base_seconds,
            timedelta(seconds=settings.mail_lease_seconds),
        )


class SendFailure(Exception):
    """How one attempt ended: ``retry`` (nothing was delivered), ``fail`` (refused for
    good) or ``unknown`` (maybe delivered). ``connection``: the server is unusable."""

    def __init__(self, code: str, kind: str = "retry", *, connection: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.kind = kind
        self.connection = connection


def _reply(code: int) -> SendFailure:
    # 421: the server is closing the connection; any other 4xx: try again later.
    return SendFailure(
        f"smtp_{code}", "retry" if 400 <= code < 500 else "fail", connection=code == 421
    )


def _network(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"smtp_{exc.smtp_code}"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls_failed"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "starttls_unsupported"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "disconnected"
    return "connect_failed"


class SmtpSession:
    """One SMTP connection, opened when first needed and reused for every mail."""

    def __init__(self, config: MailConfig) -> None:
        self._config = config
        self._smtp: smtplib.SMTP | None = None

    def connect(self) -> None:
        if self._smtp is not None:
            return
        c = self._config
        # gethostname, not getfqdn: no DNS lookup that may hang before every connection.
        smtp = smtplib.SMTP(timeout=c.timeout, local_hostname=socket.gethostname())
        try:
            smtp.connect(c.host, c.port)
            smtp.ehlo()
            if c.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if c.username:
                smtp.login(c.username, c.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise SendFailure(_network(exc), connection=True) from None
        self._smtp = smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def send(self, sender: str, to: str, message: bytes) -> None:
        smtp = self._smtp
        assert smtp is not None, "connect() first"
        try:
            code, _ = smtp.mail(sender)
            if code == 250:
                code, _ = smtp.rcpt(to)
            if code not in (250, 251):
                self._reset()
                raise _reply(code)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise SendFailure(_network(exc), connection=True) from None
        # From here on the server may hold the message: an interruption is no proof it
        # was not delivered, so it is "unknown" and never retried on a guess.
        try:
            code, _ = smtp.data(message)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing was sent
            self._reset()
            raise _reply(exc.smtp_code) from None
        except (OSError, smtplib.SMTPException):
            self._drop()
            raise SendFailure(UNKNOWN, "unknown", connection=True) from None
        if code != 250:
            self._reset()
            raise _reply(code)

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


def build_message(
    sender: str, to: str, subject: str, body: str, message_id: str, now: datetime
) -> bytes:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    # RFC 3834: no vacation replies to a broadcast.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, cte="quoted-printable")
    return message.as_bytes()


def new_message_id(notice_id: int, sender: str) -> str:
    return f"<notice-{notice_id}.{uuid.uuid4().hex}@{sender.rpartition('@')[2]}>"
