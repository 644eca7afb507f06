"""``dutystation notices`` as people run it: real processes against a SQLite data dir and a
real SMTP server (aiosmtpd) in this process; exit codes and the sentences printed."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The roster and SMTP builders of the integration tests (they import their neighbours).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from notice_builders import MAILED, SmtpServer, load_roster

from dutystation.domain.access import SYSTEM, Grant, Role
from dutystation.services.accounts import create_user
from dutystation.store.db import make_engine, migrate

POLICY = """
id = "ORDER"
version = 1
issuer = "The Secretary"
title = "Return to the office"
issued = 2025-01-20
effective = 2025-01-20

[scope]
org_units = ["DEPT"]
arrangements = ["telework", "remote"]
presumed_compliant = ["onsite"]

[[scope.not_bound]]
org_unit = "COMP-B"
legal_basis = "legal impediment"

[requirement]
onsite_share_of_hours = 1.0

[deadlines]
full_compliance = 2025-02-21
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir with the notice roster, a sender, a leader and employee E1 as users."""
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'dutystation.sqlite3'}")
    migrate(engine)
    load_roster(engine, tmp_path)
    create_user(engine, SYSTEM, "tmo", grants=[Grant(Role.TMO)])
    create_user(engine, SYSTEM, "leader", grants=[Grant(Role.LEADER)])
    create_user(engine, SYSTEM, "e1", employee_id="E1", grants=[Grant(Role.EMPLOYEE)])
    engine.dispose()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "order.toml").write_text(POLICY)
    return data


def _run(data: Path, smtp: SmtpServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DUTYSTATION_DATA_DIR": str(data),
        "DUTYSTATION_POLICIES_DIR": str(data.parent / "policies"),
        "DUTYSTATION_SMTP_HOST": "127.0.0.1",
        "DUTYSTATION_SMTP_PORT": str(smtp.port),
        "DUTYSTATION_SMTP_FROM": "dutystation@agency.example.gov",
        "DUTYSTATION_SMTP_STARTTLS": "false",
        "COLUMNS": "120",
    }
    return subprocess.run(
        [sys.executable, "-m", "dutystation", "notices", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_announce_deliver_acknowledge_and_see_the_rate(data_dir: Path) -> None:
    smtp = SmtpServer()
    smtp.start()
    try:
        sent = _run(data_dir, smtp, "send", "ORDER@1", "--as", "tmo")
        assert sent.returncode == 0, sent.stderr
        assert "5 recipients, 4 mails queued, 1 in the app only" in sent.stdout
        assert "mail: 4 sent, 0 to retry, 0 failed" in sent.stdout
        assert len(smtp.recorder.to()) == len(MAILED)

        acked = _run(data_dir, smtp, "ack", "1", "--as", "e1")
        assert acked.returncode == 0 and "notice 1 acknowledged" in acked.stdout

        rate = _run(data_dir, smtp, "status", "ORDER@1", "--as", "leader", "--format", "csv")
        assert rate.returncode == 0, rate.stderr
        rows = {r["org_unit"]: r for r in csv.DictReader(io.StringIO(rate.stdout.lstrip("\ufeff")))}
        assert rows["COMP-A"]["recipients"] == "4" and rows["COMP-A"]["acknowledged"] == "1"

        refused = _run(data_dir, smtp, "send", "ORDER@1", "--as", "e1")
        assert refused.returncode == 4
        assert refused.stderr.strip() == "error: user 'e1' may not notice.send"
    finally:
        smtp.stop()
