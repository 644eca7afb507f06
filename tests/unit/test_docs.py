"""Docs that cannot rot: every setting, import field and CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dutystation.ingest.fields import FIELDS, ImportKind
from dutystation.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_documented_with_its_environment_variable() -> None:
    text = (DOCS / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"`{name}`" in text, name
        assert f"`DUTYSTATION_{name.upper()}`" in text, name


@pytest.mark.parametrize("kind", list(ImportKind))
def test_every_import_field_is_documented_in_its_section(kind: ImportKind) -> None:
    text = (DOCS / "importing.md").read_text()
    match = re.search(rf"^## `{kind}`$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/importing.md has no section ## `{kind}`"
    for field in FIELDS[kind]:
        assert f"`{field.name}`" in match.group(1), f"{kind}: {field.name}"


def test_every_rejection_reason_code_is_documented() -> None:
    from dutystation.domain.values import REASONS as record_reasons
    from dutystation.ingest.quarantine import REASONS as event_reasons

    text = (DOCS / "importing.md").read_text()
    for code in {*record_reasons, *event_reasons}:
        assert f"`{code}`" in text, code
