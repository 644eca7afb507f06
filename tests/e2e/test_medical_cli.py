"""The medical store's operator commands as a user runs them: real processes, exit codes
and the one sentence printed on a key problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data_dir), **env}
    return subprocess.run(
        [sys.executable, "-m", "dutystation", *args],
        capture_output=True, text=True, env=full_env, timeout=120,
    )  # fmt: skip


def test_rotate_key_adds_a_key_and_reports_what_it_resealed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = _run(data, "medical", "rotate-key")
    assert done.returncode == 0, done.stderr
    assert "re-sealed 0 records" in done.stdout
    assert "0 rows still under older keys" in done.stdout
    assert (data / "medical" / "key").stat().st_mode & 0o777 == 0o600
    swept = _run(data, "medical", "sweep")
    assert swept.returncode == 0 and "removed 0" in swept.stdout


def test_a_missing_configured_key_file_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    absent = tmp_path / "secrets" / "medical.key"
    done = _run(
        tmp_path / "data", "medical", "rotate-key", DUTYSTATION_MEDICAL_KEY_FILE=str(absent)
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: the medical key file {absent} does not exist; check medical_key_file "
        "(DUTYSTATION_MEDICAL_KEY_FILE)"
    ]
    assert not absent.exists()
