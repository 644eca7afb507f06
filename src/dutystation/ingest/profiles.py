"""Column-mapping profiles: which source column is which canonical field, plus value maps
(reader direction codes, T&A pay codes) and the source's dialect. A profile is a small TOML
or YAML file; with no ``--profile`` the generic default applies (canonical names as columns).
The format is documented in docs/profiles.md."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dutystation.errors import ConfigError
from dutystation.ingest.fields import FIELDS, ImportKind, field_names


class SourceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoding: str | None = Field(None, description="e.g. utf-8, utf-16, latin-1; default: detect")
    delimiter: str | None = Field(None, description="one of , ; tab | ; default: detect")
    sheet: str | None = Field(None, description="XLSX sheet name; default: the first")
    date_format: str | None = Field(None, description="strptime format of dates; default ISO")
    timestamp_format: str | None = Field(
        None, description="strptime format of timestamps; default ISO 8601"
    )
    timestamp_timezone: str | None = Field(
        None,
        description="IANA zone of timestamps that carry no offset; default: the site's zone",
    )
    null_values: list[str] = Field(
        default_factory=lambda: ["", "NULL", "null", "N/A", "n/a"],
        description="cell texts that mean 'no value'",
    )


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: ImportKind
    description: str = ""
    source: SourceOptions = Field(default_factory=SourceOptions)
    columns: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="canonical field -> source column name (or a list: first one present)",
    )
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="canonical field -> {source value: canonical value}"
    )
    patterns: dict[str, str] = Field(
        default_factory=dict,
        description="canonical field -> regex with one group, applied to the source value",
    )

    @model_validator(mode="after")
    def _known_fields(self) -> Profile:
        known = set(field_names(self.kind))
        for section in ("columns", "values", "patterns"):
            for key in getattr(self, section):
                if key not in known:
                    raise ValueError(
                        f"[{section}] names {key!r}, which is not a {self.kind} field "
                        f"(known: {', '.join(sorted(known))})"
                    )
        return self

    def source_names(self, field: str) -> list[str]:
        """Source column names that may hold ``field``, in order of preference."""
        mapped = self.columns.get(field)
        if mapped is None:
            return [field]
        return [mapped] if isinstance(mapped, str) else list(mapped)


def default_profile(kind: ImportKind) -> Profile:
    return Profile(name=f"generic-{kind}", kind=kind, description="canonical column names")


def load_profile(path: Path, kind: ImportKind) -> Profile:
    """Read and validate a profile file; errors name the file, the key and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read profile ({exc.strerror})") from None
    try:
        data: Any = (
            yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else tomllib.loads(text)
        )
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid TOML/YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a profile is a table of keys")
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(f"{path}: key {key!r}: {err['msg']}") from None
    if profile.kind != kind:
        raise ConfigError(f"{path}: this profile is for {profile.kind} imports, not {kind}")
    return profile


__all__ = ["FIELDS", "Profile", "SourceOptions", "default_profile", "load_profile"]
