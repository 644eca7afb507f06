"""``dutystation evaluate --export``: the evaluation's rows in a file, streamed.

The file holds exactly what the evaluation gives; it is written whole or not at all; it is
in the disclosure ledger of everyone it names; a scoped user exports only their scope; and
bad input is one sentence with no file left behind."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from snapshot_world import actor, demo_world
from sqlalchemy import func, select

from dutystation.bootstrap import Runtime
from dutystation.errors import ConfigError, Forbidden, NoEvidence, NotFound
from dutystation.services import evaluate as evaluate_module
from dutystation.services.disclosure_ledger import person_disclosures
from dutystation.services.disclosures import stated
from dutystation.services.evaluate import EvaluationRequest, decoded, evaluate
from dutystation.services.evaluation_export import export_evaluation, export_request
from dutystation.store.schema import OrgUnit
from dutystation.store.schema_disclosures import Disclosure

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("evaluation-export")]
KEY = ["employee_id", "period_kind", "period_label"]
SAID = stated("annual review of the return to office", "Office of Personnel Management")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with demo_world(tmp_path_factory.mktemp("export"), "sqlite") as runtime:
        yield runtime


def _rows(table: pa.Table) -> list[dict[str, object]]:
    return decoded(table).sort_by([(k, "ascending") for k in KEY]).to_pylist()


def _disclosures(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Disclosure)) or 0)


def test_the_parquet_file_holds_the_evaluation_rows(world: Runtime, tmp_path: Path) -> None:
    request = export_request(world, None, None)
    done = export_evaluation(world, request, tmp_path / "rows.parquet", SAID)
    exported = pq.read_table(done.path)
    expected = evaluate(world, request).employee_periods
    assert done.rows == exported.num_rows == expected.num_rows > 0
    assert exported.column_names == expected.column_names
    assert _rows(exported) == _rows(expected)
    assert done.people == len(set(exported["employee_id"].to_pylist()))
    assert os.stat(done.path).st_mode & 0o077 == 0  # personal data: the owner's only
    assert [p.name for p in tmp_path.iterdir()] == ["rows.parquet"]  # no partial left


def test_the_csv_file_holds_the_same_rows_as_text(world: Runtime, tmp_path: Path) -> None:
    request = export_request(world, date(2025, 2, 3), date(2025, 2, 16), None, ("day",))
    done = export_evaluation(world, request, tmp_path / "days.csv", SAID)
    expected = decoded(evaluate(world, request).employee_periods)
    with done.path.open(encoding="utf-8-sig", newline="") as f:
        read = list(csv.DictReader(f))
    assert len(read) == done.rows == expected.num_rows
    assert list(read[0]) == expected.column_names
    statuses = sorted((r["employee_id"], r["period_label"], r["status"]) for r in read)
    wanted = zip(
        expected["employee_id"].to_pylist(),
        expected["period_label"].to_pylist(),
        expected["status"].to_pylist(),
        strict=True,
    )
    assert statuses == sorted(wanted)


def test_everyone_named_sees_the_export_in_their_ledger(world: Runtime, tmp_path: Path) -> None:
    me = actor(world, "employee")
    before = len(person_disclosures(world.engine, me).entries)
    request = export_request(world, None, None)
    done = export_evaluation(world, request, tmp_path / "all.parquet", SAID)
    entries = person_disclosures(world.engine, me).entries
    assert len(entries) == before + 1
    newest = entries[0]
    assert newest.nature.startswith("evaluation export (parquet)")
    assert newest.purpose == SAID.purpose
    assert newest.recipient == SAID.recipient
    with world.engine.connect() as conn:
        people = conn.scalar(select(Disclosure.people).where(Disclosure.id == done.disclosure_id))
    assert people == done.people


def test_a_leader_exports_their_component_only(world: Runtime, tmp_path: Path) -> None:
    leader = actor(world, "leader")
    mine = leader.grants[0].scope
    request = export_request(world, None, None, mine)
    done = export_evaluation(world, request, tmp_path / "mine.parquet", SAID, actor=leader)
    assert set(pq.read_table(done.path)["component"].to_pylist()) == {mine}
    with world.engine.connect() as conn:
        root = conn.scalar(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)))
        components = conn.scalars(select(OrgUnit.code).where(OrgUnit.parent_id == root)).all()
    other = next(c for c in components if c != mine)
    # The whole organisation, another component, and one that does not exist: refused,
    # the last two in the same words.
    ledger = _disclosures(world)

    def refused(unit: str | None, name: str) -> NotFound:
        with pytest.raises(NotFound) as caught:
            request = export_request(world, None, None, unit)
            export_evaluation(world, request, tmp_path / name, SAID, actor=leader)
        return caught.value

    refused(None, "a.csv")
    out_of_scope, missing = refused(other, "b.csv"), refused("NOPE", "c.csv")
    assert str(out_of_scope) == f"org unit {other!r} does not exist"
    assert str(missing) == "org unit 'NOPE' does not exist"
    assert _disclosures(world) == ledger
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.parquet"]


def test_an_employee_exports_nothing(world: Runtime, tmp_path: Path) -> None:
    with pytest.raises(Forbidden):
        export_evaluation(
            world, export_request(world, None, None), tmp_path / "x.parquet", SAID,
            actor=actor(world, "employee"),
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_bad_requests_leave_no_file_and_no_ledger_entry(world: Runtime, tmp_path: Path) -> None:
    ledger = _disclosures(world)
    request = export_request(world, None, None)
    with pytest.raises(ConfigError, match=r"\.parquet or \.csv file, not '\.xlsx'"):
        export_evaluation(world, request, tmp_path / "rows.xlsx", SAID)
    with pytest.raises(ConfigError, match="does not exist"):
        export_evaluation(world, request, tmp_path / "missing" / "rows.csv", SAID)
    later = EvaluationRequest(date(2030, 1, 6), date(2030, 1, 19))
    with pytest.raises(NoEvidence):
        export_evaluation(world, later, tmp_path / "rows.csv", SAID)
    assert list(tmp_path.iterdir()) == []
    assert _disclosures(world) == ledger


def test_daily_rows_too_many_for_memory_are_still_exported(
    world: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluate_module, "MAX_DAY_ROWS", 1_000)
    request = EvaluationRequest(date(2025, 2, 3), date(2025, 2, 9), None, ("day",))
    with pytest.raises(ConfigError, match="rows; ask for a shorter range"):
        evaluate(world, request)
    done = export_evaluation(world, request, tmp_path / "days.parquet", SAID)
    assert done.rows == pq.read_metadata(done.path).num_rows > 1_000


def _cli(runtime: Runtime, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUTYSTATION_DATA_DIR": str(runtime.settings.data_dir), "COLUMNS": "80"}
    env.pop("DUTYSTATION_DATABASE_URL", None)
    program = "from dutystation.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", program, "evaluate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_command_writes_the_file_or_says_why_not(world: Runtime, tmp_path: Path) -> None:
    done = _cli(world, tmp_path, "--export", "weeks.csv", "--periods", "week", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "wrote " in done.stdout and " rows (week) for " in done.stdout
    assert (tmp_path / "weeks.csv").is_file()
    for args, sentence in [
        (["--export", "w.txt"], "not '.txt'"),
        (["--export", "w.csv", "--periods", "month"], "period kinds must be some of"),
        (["--export", "w.csv", "--org", "NOPE"], "org unit 'NOPE' does not exist"),
        (["--org", "DEA"], "--org goes with --export"),
    ]:
        refused = _cli(world, tmp_path, *args)
        assert refused.returncode != 0, args
        said = refused.stdout + refused.stderr
        assert sentence in said, said
        assert "Traceback" not in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weeks.csv"]
