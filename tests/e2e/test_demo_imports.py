"""The demo's files go through the same importers a user runs and land without a single
rejected row; running it again stores nothing new."""

from __future__ import annotations

from pathlib import Path

import pytest

from dutystation.ingest.fields import ImportKind
from dutystation.services.demo import run_demo
from dutystation.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_every_demo_file_imports_cleanly_with_its_profile(settings: Settings) -> None:
    steps: list[str] = []
    result = run_demo(settings, employees=1_000, seed=11, on_step=steps.append)
    assert [i.kind for i in result.imports] == [
        ImportKind.ORG_UNITS,
        ImportKind.OFFICES,
        ImportKind.ROSTER,
        ImportKind.TIMECARDS,
        ImportKind.BADGES,
    ]
    for step in result.imports:
        s = step.summary
        assert s.rows_rejected == 0, (step.kind, s.rejections)
        assert s.rows_read == result.generated.rows[step.path.name.split(".")[0]]
        assert s.rows_stored + s.duplicates == s.rows_read
    badges = result.imports[-1].summary
    # Exact duplicate reads are dropped as duplicates; re-reads a second later are kept.
    assert 0 < badges.duplicates < 0.02 * badges.rows_read
    assert "import badges" in steps


def test_running_the_demo_again_stores_nothing_new_and_fresh_starts_over(
    settings: Settings,
) -> None:
    run_demo(settings, employees=1_000, seed=11)
    again = run_demo(settings, employees=1_000, seed=11)
    assert all(i.summary.rows_stored == 0 for i in again.imports)
    fresh = run_demo(settings, employees=1_000, seed=11, fresh=True)
    assert all(i.summary.rows_stored > 0 for i in fresh.imports)
