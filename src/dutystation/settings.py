"""Configuration: environment variables (``DUTYSTATION_*``) over an optional ``dutystation.toml``.

The TOML file is looked up at ``$DUTYSTATION_CONFIG`` if set, else ``./dutystation.toml``.
Nothing here touches the disk beyond reading that file; building engines is
``bootstrap``'s job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dutystation.errors import ConfigError
from dutystation.retention_floors import (
    AUDIT_RETENTION_FLOOR_YEARS,
    STATUTORY_RETENTION_YEARS,
    audit_years,
    disclosure_years,
)

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
    evaluation_reads: Literal["rollup", "raw"] = Field(
        default="rollup",
        description="Evaluate from the employee-day roll-up, or from the raw events (a check).",
    )
    keep_period_results: bool = Field(
        default=True,
        description="Keep each whole period's evaluation and reuse it while its inputs are "
        "unchanged (docs/evaluation.md).",
    )
    analytics: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="Engine of the evaluation: in-process DuckDB, or Apache Spark (docs/spark.md).",
    )
    spark_master: str = Field(
        default="local[2]",
        description="Spark master URL when analytics is spark (local[N], spark://host:7077, yarn).",
    )
    spark_connect_url: str | None = Field(
        default=None,
        description="Spark Connect URL (sc://host:15002); when set, used instead of spark_master.",
    )
    spark_shuffle_partitions: int = Field(
        default=8,
        ge=1,
        description="Partitions of Spark's joins and aggregates (about 2-3 per executor core).",
    )
    spark_driver_memory: str | None = Field(
        default=None,
        pattern=r"^\d+[kmgt]$",
        description="Heap of the Spark driver's JVM (spark.driver.memory, e.g. 4g); default 1g.",
    )
    import_batch_rows: int = Field(
        default=1_000_000,
        gt=0,
        description="Rows read from a source file per processing batch (memory stays flat).",
    )
    import_cpus: int | None = Field(
        default=None,
        gt=0,
        description="Cores a `dutystation import`, or the import of an upload, may use; "
        "default: all. Set it below the machine's cores where the server answers reads "
        "while imports run.",
    )
    import_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower than the shell's the CPU priority of a `dutystation "
        "import` command is (Unix nice; 0: unchanged). A server on the same machine then "
        "answers reads first; alone, the import runs as fast.",
    )
    upload_import_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower than the server's the CPU priority of an upload's import "
        "is (Unix nice; 0: the same). It runs in a child process beside the server's "
        "workers, which then answer reads first.",
    )
    import_gzip_max_bytes: int = Field(
        default=64 * 1024**3,
        gt=0,
        description="Largest decompressed size of one gzip-compressed import file, in bytes.",
    )
    import_xlsx_max_bytes: int = Field(
        default=2 * 1024**3,
        gt=0,
        description="Largest uncompressed size of all parts of one XLSX import file, in bytes.",
    )
    import_xlsx_max_entries: int = Field(
        default=1000, gt=0, description="Most parts (files inside the ZIP) one XLSX may hold."
    )
    import_max_compression_ratio: int = Field(
        default=100,
        gt=1,
        description="A compressed import expanding more than this many times (past 64 MiB) "
        "is refused as a bomb.",
    )
    future_tolerance_minutes: int = Field(
        default=5,
        ge=0,
        description="A badge event later than now plus this many minutes is rejected.",
    )
    roster_hold_separated_share: float = Field(
        default=0.10,
        ge=0,
        le=1,
        description="A roster snapshot separating more than this share of active staff is held.",
    )
    roster_hold_moved_share: float = Field(
        default=0.20,
        ge=0,
        le=1,
        description="A roster snapshot moving more than this share to other org units is held.",
    )
    policies_dir: Path | None = Field(
        default=None,
        description="Folder of directive files; default: the example policies shipped.",
    )
    designation_rules_file: Path | None = Field(
        default=None,
        description="TOML of designation rules (docs/designation.md); default: built-in rules.",
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
        default=60,
        ge=0,
        description="Taps this close after a kept tap of the same local day collapse into it.",
    )
    badge_max_pair_hours: float = Field(
        default=16, gt=0, le=24, description="An IN/OUT pair longer than this does not count."
    )
    earliest_event_date: str = Field(
        default="2000-01-01",
        description="Events and timecards dated before this day are rejected as impossible.",
    )
    exemption_max_days: int = Field(
        default=365,
        ge=1,
        le=3660,
        description="Longest exemption that can be requested or approved, in days.",
    )
    document_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        gt=0,
        description="Largest document accepted with an exemption request, in bytes.",
    )
    documents_per_request_max: int = Field(
        default=10, gt=0, description="Most documents one exemption request may carry."
    )
    medical_key_file: Path | None = Field(
        default=None,
        description="Key file of the medical store; default: data_dir/medical/key, "
        "created on first use.",
    )

    # Notices and mail (docs/notices.md). No smtp_host: notices are kept in the app and
    # their mails wait in the outbox until one is configured.
    smtp_host: str | None = Field(
        default=None, description="SMTP server notices are mailed through; unset: no mail."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_from: str | None = Field(
        default=None, description="Sender address of notice mails (required to send mail)."
    )
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS before sending."
    )
    smtp_username: str | None = Field(default=None, description="SMTP login name; unset: no login.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP login password.")
    smtp_timeout_seconds: float = Field(
        default=30, gt=0, le=600, description="How long one SMTP exchange may take."
    )
    mail_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Attempts per mail before it is marked failed."
    )
    mail_retry_base_seconds: float = Field(
        default=60, gt=0, description="Wait before the 2nd attempt; doubles on each retry."
    )
    mail_lease_seconds: float = Field(
        default=300,
        gt=0,
        description="How long a delivery worker owns a mail it claimed (above the timeout).",
    )
    notice_reminder_days: int = Field(
        default=7, ge=1, le=90, description="Remind this many days before a directive deadline."
    )

    # Accounts and sign-in (docs/access.md).
    password_min_length: int = Field(
        default=15,
        ge=8,
        le=128,
        description="Shortest password accepted (NIST SP 800-63B: 15 for password-only login).",
    )
    password_hash_memory_kib: int = Field(
        default=65536,
        ge=1024,
        description="Argon2id memory cost per password hash, in KiB (RFC 9106: 65536).",
    )
    password_hash_time_cost: int = Field(
        default=3, ge=1, description="Argon2id passes over that memory (RFC 9106: 3)."
    )
    login_max_failures: int = Field(
        default=5, gt=0, description="Failed logins in a row that lock an account."
    )
    login_lockout_minutes: int = Field(
        default=15, gt=0, description="How long such a lock lasts, in minutes."
    )
    session_max_hours: float = Field(
        default=12, gt=0, description="A web session ends this long after sign-in, in hours."
    )
    session_idle_minutes: float = Field(
        default=30, gt=0, description="A web session unused this long ends, in minutes."
    )
    token_max_days: int = Field(
        default=90, gt=0, le=3660, description="Longest lifetime an API token may be given."
    )
    oidc_issuer: str | None = Field(
        default=None, description="OpenID Connect issuer URL; unset: no single sign-on."
    )
    oidc_client_id: str | None = Field(default=None, description="OpenID Connect client id.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="OpenID Connect client secret."
    )
    oidc_username_claim: str = Field(
        default="preferred_username",
        description="The ID-token claim that carries the dutystation username.",
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="The sign-in callback URL registered with the identity provider; "
        "unset: built from the request.",
    )
    oidc_scopes: str = Field(
        default="openid profile email",
        description="Scopes asked of the identity provider (openid is always added).",
    )

    # The web server (docs/api.md).
    cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie over HTTPS only; false only for http://localhost.",
    )
    session_cookie_samesite: Literal["lax", "strict"] = Field(
        default="lax", description="SameSite attribute of the session cookie."
    )
    request_body_max_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Largest request body accepted (not uploads)."
    )
    upload_body_max_bytes: int = Field(
        default=110 * 1024 * 1024,
        gt=0,
        description="Largest multipart upload body accepted (documents and imports).",
    )
    request_body_idle_seconds: float = Field(
        default=30,
        gt=0,
        description="Longest pause while a request body arrives; a slower upload is refused (408).",
    )
    login_rate_per_minute: int = Field(
        default=10, gt=0, description="Sign-in attempts per minute for one username."
    )
    login_rate_per_address_per_minute: int = Field(
        default=30, gt=0, description="Sign-in attempts per minute from one client address."
    )

    # The Privacy Act disclosure ledger (docs/privacy.md).
    disclosure_retention_years: int = Field(
        default=STATUTORY_RETENTION_YEARS,
        le=100,
        description="Years a disclosure ledger entry is kept before `disclosures purge` "
        "removes it; at least 5 (5 U.S.C. 552a(c)(2)).",
    )

    _disclosure_floor = field_validator("disclosure_retention_years")(disclosure_years)

    # The security audit trail (docs/audit.md, "Retention").
    audit_retention_years: int = Field(
        default=AUDIT_RETENTION_FLOOR_YEARS,
        le=100,
        description="Years an audit record is kept before `audit purge` may remove it; "
        "at least 6 (NARA GRS 3.2 item 031).",
    )

    _audit_floor = field_validator("audit_retention_years")(audit_years)

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
    def events_dir(self) -> Path:
        return self.data_dir / "events"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def medical_dir(self) -> Path:
        return self.data_dir / "medical"

    @property
    def resolved_medical_key_file(self) -> Path:
        return self.medical_key_file or self.medical_dir / "key"


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
