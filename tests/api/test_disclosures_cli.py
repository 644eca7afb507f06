"""RELIABILITY T09 on the command line: ``report``, ``audit export``, ``exemptions
document`` and ``designate --out`` record their copies in the disclosure ledger, with
``--purpose`` and ``--recipient``; ``disclosures list`` shows a person their own entries
and HR those of its component; ``disclosures purge`` is for whole-organisation
administrators and refuses a retention under five years. One seeded world
(tests/api_world.py) for the module: each command is a process start of about 2 s."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from area_world import PDF, roster_update, write_policies

from api_world import World, world_settings, world_template  # noqa: F401
from dutystation.bootstrap import bootstrap
from dutystation.ingest.fields import ImportKind
from dutystation.services.importing import run_import

HOMES = {"W1": ("", "", "20002"), "W3": ("", "", "98101")}


@pytest.fixture(scope="module")
def data_dir(world_template: World, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A copy of the world where W1 and W3 have homes (the distance report names them)."""
    root = tmp_path_factory.mktemp("disclosures")
    folder = root / "data"
    shutil.copytree(world_template.data_dir, folder)
    write_policies(root / "policies")
    roster = root / "roster.csv"
    roster.write_bytes(roster_update("2025-01-13", HOMES))
    runtime = bootstrap(world_settings(folder))
    run_import(runtime, ImportKind.ROSTER, [roster])
    runtime.engine.dispose()
    return folder


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DUTYSTATION_DATA_DIR": str(data_dir),
        "DUTYSTATION_POLICIES_DIR": str(data_dir.parent / "policies"),
        "COLUMNS": "200",
        **env,
    }
    environment.pop("DUTYSTATION_AS", None)
    environment.pop("DUTYSTATION_DATABASE_URL", None)
    dutystation = str(Path(sys.executable).parent / "dutystation")
    return subprocess.run(
        [dutystation, *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def ok(data_dir: Path, *args: str) -> str:
    done = run(data_dir, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def entries(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(ok(data_dir, "disclosures", "list", "--json", *args))
    return found


DISTANCE = ["report", "distance", "--to", "2025-03-03", "--org", "COMP-A"]


def test_every_command_line_export_is_recorded_and_shown_to_its_subject(
    data_dir: Path, tmp_path: Path
) -> None:
    outside = ["--purpose", "FOIA request 2026-014", "--recipient", "Office of Special Counsel"]
    report = [*DISTANCE, "--format", "csv", "--section", "people", "-o", str(tmp_path / "d.csv")]
    ok(data_dir, *report, *outside, "--as", "hr")
    ok(data_dir, *DISTANCE, "--format", "json", "-o", str(tmp_path / "d.json"))  # no --as
    ok(data_dir, "audit", "export", "--out", str(tmp_path / "t.jsonl"), "--as", "auditor")
    filed = ok(
        data_dir,
        "exemptions",
        "request",
        "W1",
        "--category",
        "compelling_reason",
        "--start",
        "2025-03-03",
        "--end",
        "2025-03-31",
        "--justification",
        "caring for a parent",
        "--document",
        str(_pdf(tmp_path)),
        "--as",
        "w1",
    )
    request_id = next(w for w in filed.split() if w.isdigit())
    document = ["exemptions", "document", request_id, "1", "--out", str(tmp_path / "doc.pdf")]
    ok(data_dir, *document, "--purpose", "deciding the request", "--as", "mgr1")
    ok(
        data_dir,
        "designate",
        "--plan",
        "--on",
        "2025-03-03",
        "--org",
        "COMP-A",
        "--out",
        str(tmp_path / "plan.json"),
        "--purpose",
        "designation review",
        "--as",
        "hr",
    )

    w1 = entries(data_dir, "--as", "w1")
    kinds = [e["nature_kind"] for e in w1]
    assert kinds == ["document_download", "audit_export", "report_export", "report_export"]
    document_entry, audit, no_as, first = w1
    assert (first["purpose"], first["recipient"], first["recipient_kind"]) == (
        "FOIA request 2026-014",
        "Office of Special Counsel",
        "outside_agency",
    )
    assert first["nature"] == "report distance (csv), 2025-03-03 to 2025-03-03"
    assert no_as["recipient"].endswith("(operating-system login; no --as given)")
    assert (audit["recipient"], document_entry["recipient"]) == ("auditor", "mgr1")
    assert document_entry["purpose"] == "deciding the request"
    # The plan names the remote W3 only (who has no account; HR reads W3's entries).
    plan = entries(data_dir, "--employee", "W3", "--as", "hr")[0]
    assert plan["nature"].startswith("designation plan ") and plan["nature"].endswith("(json)")
    assert (plan["purpose"], plan["recorded_by"]) == ("designation review", "hr")
    # HR reads W1's entries (its component); nobody reads another's by naming them.
    assert len(entries(data_dir, "--employee", "W1", "--as", "hr")) == len(w1)
    refused = run(data_dir, "disclosures", "list", "--employee", "W2", "--as", "w1")
    assert refused.returncode == 1 and "no employee 'W2'" in refused.stderr
    beyond = run(data_dir, "disclosures", "list", "--employee", "B1", "--as", "hr")
    assert beyond.returncode == 1 and "no employee 'B1'" in beyond.stderr
    assert "disclosure(s) of W1's records" in ok(data_dir, "disclosures", "list", "--as", "w1")


def test_purpose_and_recipient_are_checked_before_anything_is_built(data_dir: Path) -> None:
    lone = run(data_dir, *DISTANCE, "--format", "csv", "--recipient", "The Daily Planet")
    assert lone.returncode == 2 and "needs its purpose" in lone.stderr
    table = run(data_dir, *DISTANCE, "--purpose", "a look")
    assert table.returncode == 2 and "go with a file" in table.stderr


def test_purge_is_for_whole_organisation_administrators_with_at_least_five_years(
    data_dir: Path,
) -> None:
    dry = ok(data_dir, "disclosures", "purge", "--dry-run", "--as", "admin")
    assert dry.startswith("would remove 0 disclosure(s)") and "(retention 5 years)" in dry
    refused = run(data_dir, "disclosures", "purge", "--as", "hr")
    assert refused.returncode == 4
    short = run(
        data_dir,
        "disclosures",
        "purge",
        "--as",
        "admin",
        DUTYSTATION_DISCLOSURE_RETENTION_YEARS="3",
    )
    assert short.returncode == 2
    assert "at least 5 years (5 U.S.C. 552a(c)(2)); 3 is too few" in short.stderr


def _pdf(folder: Path) -> Path:
    path = folder / "lease.pdf"
    path.write_bytes(PDF)
    return path
