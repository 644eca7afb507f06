"""Configuration: environment variables (``DUTYSTATION_*``) over an optional ``dutystation.toml``.

The TOML file is looked up at ``$DUTYSTATION_CONFIG`` if set, else ``./dutystation.toml``.
Nothing here touches the disk beyond reading that file; building engines is
``bootstrap``'s job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dutystation.errors import ConfigError

DEFAULT_DATA_DIR = Path("dutystation-data")


def config_file() -> Path:
    return Path(os.environ.get("DUTYSTATION_CONFIG", "dutystation.toml"))


class Settings(BaseSettings):
    """Every setting the product reads. Each one is documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="DUTYSTATION_", extra="forbid")

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Folder holding the SQLite file, the event store and quarantine files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the operational database; default: SQLite in data_dir.",
    )
    duckdb_memory_limit: str = Field(
        default="1GB",
        pattern=r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory DuckDB may use before it spills to data_dir/tmp (e.g. 512MB, 4GB).",
    )
    import_batch_rows: int = Field(
        default=1_000_000,
        gt=0,
        description="Rows read from a source file per processing batch (memory stays flat).",
    )
    future_tolerance_minutes: int = Field(
        default=5,
        ge=0,
        description="A badge event later than now plus this many minutes is rejected.",
    )
    policies_dir: Path | None = Field(
        default=None,
        description="Folder of directive files; default: the example policies shipped.",
    )
    exemptions_file: Path | None = Field(
        default=None,
        description="CSV of exemptions and pending requests; default: "
        "data_dir/exemptions.csv when it exists.",
    )
    agreements_file: Path | None = Field(
        default=None,
        description="TOML of bargaining agreements; default: data_dir/agreements.toml "
        "when it exists.",
    )
    badge_hours: Literal["first-last", "pairs"] = Field(
        default="first-last",
        description="Hours from badges: span from first IN to last OUT, or sum of pairs.",
    )
    badge_direction: Literal["reader", "alternating"] = Field(
        default="reader",
        description="Trust the reader's IN/OUT, or alternate IN/OUT when readers record none.",
    )
    badge_debounce_seconds: float = Field(
        default=60, ge=0, description="Taps this close after a kept tap collapse into it."
    )
    badge_max_pair_hours: float = Field(
        default=16, gt=0, le=24, description="An IN/OUT pair longer than this does not count."
    )
    earliest_event_date: str = Field(
        default="2000-01-01",
        description="Events and timecards dated before this day are rejected as impossible.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dutystation.sqlite3').resolve()}"

    @property
    def resolved_exemptions_file(self) -> Path | None:
        return self.exemptions_file or _existing(self.data_dir / "exemptions.csv")

    @property
    def resolved_agreements_file(self) -> Path | None:
        return self.agreements_file or _existing(self.data_dir / "agreements.toml")

    @property
    def events_dir(self) -> Path:
        return self.data_dir / "events"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning a validation failure into one clear sentence."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"configuration key {key!r} (environment DUTYSTATION_{key.upper()} or "
            f"{config_file()}): {first['msg']}"
        ) from None
