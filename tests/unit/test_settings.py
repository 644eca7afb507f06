"""Settings come from the environment and dutystation.toml; a bad value is one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from dutystation.errors import ConfigError
from dutystation.settings import load_settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DUTYSTATION_DATA_DIR", "DUTYSTATION_DATABASE_URL", "DUTYSTATION_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_sqlite_in_the_data_dir_is_the_default_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUTYSTATION_DATA_DIR", "/srv/ds")
    settings = load_settings()
    assert settings.resolved_database_url == "sqlite:////srv/ds/dutystation.sqlite3"
    assert settings.events_dir == Path("/srv/ds/events")


def test_toml_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "dutystation.toml").write_text(
        'data_dir = "from-file"\nduckdb_memory_limit = "3GB"\n'
    )
    monkeypatch.setenv("DUTYSTATION_DATA_DIR", "from-env")
    settings = load_settings()
    assert settings.data_dir == Path("from-env")
    assert settings.duckdb_memory_limit == "3GB"


def test_postgres_url_replaces_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUTYSTATION_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert load_settings().resolved_database_url == "postgresql+psycopg://u@h/db"


def test_bad_value_names_the_key_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUTYSTATION_IMPORT_BATCH_ROWS", "0")
    with pytest.raises(ConfigError, match=r"import_batch_rows.*DUTYSTATION_IMPORT_BATCH_ROWS"):
        load_settings()


def test_unknown_key_in_the_toml_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dutystation.toml").write_text('data_dri = "typo"\n')
    with pytest.raises(ConfigError, match="data_dri"):
        load_settings()


def test_a_memory_limit_without_a_unit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUTYSTATION_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="duckdb_memory_limit"):
        load_settings()
