"""`make bench` must refuse figures that disagree: a faster step that computes something else
is no benchmark. The check runs on real Parquet files, as the suite writes them."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from suite import compare_figures, disagreement


def _figure(path: Path, hours_off_site: list[float]) -> Path:
    n = len(hours_off_site)
    pq.write_table(
        pa.table(
            {
                "employee_id": [f"E{i:07d}" for i in range(n)],
                "week": ["2025-W04"] * n,
                "hours_required": [40.0] * n,
                "hours_at_duty_station": [32.0] * n,
                "hours_off_site": hours_off_site,
                "days_present_badge": pa.array([4] * n, pa.int64()),
            }
        ),
        path,
    )
    return path


def test_identical_figures_pass(tmp_path: Path) -> None:
    outputs = {
        step: _figure(tmp_path / f"{step}.parquet", [8.0, 0.0, 4.0])
        for step in ("product", "handwritten", "pandas")
    }
    differing = compare_figures(outputs)
    assert differing == {"handwritten": 0, "pandas": 0}
    assert disagreement(differing) is None


def test_a_differing_step_is_named(tmp_path: Path) -> None:
    outputs = {
        "product": _figure(tmp_path / "product.parquet", [8.0, 0.0, 4.0]),
        "handwritten": _figure(tmp_path / "handwritten.parquet", [8.0, 0.0, 4.0]),
        # one value off, one employee-week missing
        "pandas": _figure(tmp_path / "pandas.parquet", [8.0, 0.5]),
    }
    differing = compare_figures(outputs)
    assert differing == {"handwritten": 0, "pandas": 2}
    message = disagreement(differing)
    assert message is not None
    assert "pandas (2 rows)" in message
    assert "handwritten" not in message
