"""The dashboard's vendored scripts are the npm packages' files, unchanged and licensed,
and every asset a template names is shipped (so the wheel serves it too)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import dutystation.web

WEB = Path(dutystation.web.__file__).parent
VENDOR = WEB / "static" / "vendor"
# | file | package | version | file in the package | licence (LICENSE file) | sha256 |
ROW = re.compile(
    r"^\| (\S+\.js) \| (\S+) \| (\S+) \| .* \| \S+ \((LICENSE-\S+)\) \| ([0-9a-f]{64}) \|$"
)


def _manifest() -> list[tuple[str, str, str, str, str]]:
    text = (VENDOR / "README.md").read_text(encoding="utf-8")
    found = [ROW.match(line) for line in text.splitlines()]
    return [(m[1], m[2], m[3], m[4], m[5]) for m in found if m is not None]


def test_every_vendored_script_matches_its_recorded_checksum_and_has_its_licence() -> None:
    rows = _manifest()
    assert {r[0] for r in rows} == {p.name for p in VENDOR.glob("*.js")}
    for file, _package, _version, licence, sha256 in rows:
        assert hashlib.sha256((VENDOR / file).read_bytes()).hexdigest() == sha256, file
        assert (VENDOR / licence).read_text(encoding="utf-8").strip(), licence


def test_every_static_file_a_template_names_exists() -> None:
    named = set()
    for template in (WEB / "templates").glob("*.html"):
        named |= set(re.findall(r'(?:src|href)="/static/([^"]+)"', template.read_text("utf-8")))
    assert named
    for path in named:
        assert (WEB / "static" / path).is_file(), path
