"""The audit trail over the API: search with paging and filters, verify, and an export
download that verifies offline (docs/audit.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dutystation.services.audit_verify import verify_file


def test_search_pages_newest_first_and_filters(client_for: Any) -> None:
    auditor = client_for("auditor")
    everything = auditor.get("/api/v1/audit/records?limit=500").json()
    assert everything["total"] == len(everything["items"]) > 20
    seqs = [r["seq"] for r in everything["items"]]
    assert seqs == sorted(seqs, reverse=True)
    page = auditor.get("/api/v1/audit/records?limit=5&offset=5").json()
    assert [r["seq"] for r in page["items"]] == seqs[5:10]
    creates = auditor.get("/api/v1/audit/records?action=user.create&by=admin").json()
    assert creates["total"] == 10
    assert {r["subject_id"] for r in creates["items"]} >= {"w1", "mgr1", "auditor"}
    first = creates["items"][0]
    assert isinstance(first["after"], dict) and "roles" in first["after"]
    imports = auditor.get("/api/v1/audit/records?action=import.*").json()
    assert imports["total"] == 3
    assert auditor.get("/api/v1/audit/records?since=2999-01-01").json()["total"] == 0


def test_failed_sign_ins_show_up_as_denied(client_for: Any) -> None:
    client_for("anonymous").post(
        "/api/v1/auth/login", json={"username": "w1", "password": "wrong-password-123"}
    )
    denied = client_for("auditor").get("/api/v1/audit/records?outcome=denied&action=login")
    record = denied.json()["items"][0]
    assert record["subject_id"] == "w1" and record["channel"] == "api"
    assert "wrong-password-123" not in denied.text


def test_verify_reports_an_intact_chain(client_for: Any) -> None:
    answer = client_for("auditor").get("/api/v1/audit/verify")
    assert answer.status_code == 200
    body = answer.json()
    assert body["intact"] is True and body["broken"] is None
    assert body["records"] == body["head_seq"] > 20
    again = client_for("auditor").get(f"/api/v1/audit/verify?expect_head={body['head_hash']}")
    assert again.json()["anchor_seq"] == body["head_seq"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_downloads_a_file_that_verifies_offline(
    client_for: Any, tmp_path: Path, fmt: str
) -> None:
    auditor = client_for("auditor")
    answer = auditor.get(f"/api/v1/audit/export?format={fmt}")
    assert answer.status_code == 200
    assert f'filename="audit-trail.{fmt}"' in answer.headers["content-disposition"]
    assert answer.headers["cache-control"] == "no-store"
    saved = tmp_path / f"trail.{fmt}"
    saved.write_bytes(answer.content)
    result = verify_file(saved)
    assert result.intact and result.records > 20
    # The export is itself recorded, and no temporary file is left behind.
    exports = auditor.get("/api/v1/audit/records?action=audit.export").json()
    assert exports["items"][0]["after"]["format"] == fmt


def test_export_leaves_no_temporary_files(client_for: Any, world: Any) -> None:
    client_for("auditor").get("/api/v1/audit/export")
    assert list((world.data_dir / "tmp").glob("audit-export-*")) == []


@pytest.mark.parametrize("role", ["employee", "supervisor", "hr", "leader"])
def test_only_auditors_and_administrators_read_the_trail(client_for: Any, role: str) -> None:
    client = client_for(role)
    for path in ("/api/v1/audit/records", "/api/v1/audit/verify", "/api/v1/audit/export"):
        assert client.get(path).status_code == 403
    assert client_for("agency_admin").get("/api/v1/audit/verify").status_code == 200
