"""docs/access.md tells the truth: its table of what each role may do is POLICY, cell for
cell, and it names every role and every `users` command."""

from __future__ import annotations

import re
from pathlib import Path

from dutystation.domain.access import POLICY, Operation, Relation, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"
CELL = {"self": Relation.SELF, "scope": Relation.IN_SCOPE}


def _section(title: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"^## {re.escape(title)}$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/access.md has no section '## {title}'"
    return match.group(1)


def _cells(line: str) -> list[str]:
    return [c.strip().strip("`") for c in line.strip().strip("|").split("|")]


def test_the_documented_role_table_is_the_policy() -> None:
    lines = [ln for ln in _section("What each role may do").splitlines() if ln.startswith("|")]
    header, rows = _cells(lines[0]), lines[2:]
    assert header[1:] == [r.value for r in Role], "the columns must be the roles, in order"
    documented: dict[str, dict[Role, frozenset[Relation]]] = {}
    for line in rows:
        operation, *cells = _cells(line)
        documented[operation] = {
            role: frozenset(CELL[w] for w in re.split(r"[,\s]+", cell) if w in CELL)
            for role, cell in zip(Role, cells, strict=True)
        }
    assert list(documented) == [o.value for o in Operation], "one row per operation, in order"
    wrong = [
        f"{op.value}/{role.value}"
        for op in Operation
        for role in Role
        if documented[op.value][role] != POLICY[op].get(role, frozenset())
    ]
    assert not wrong, f"docs/access.md disagrees with POLICY at {wrong}"


def test_every_role_is_described() -> None:
    roles = _section("Roles")
    for role in Role:
        assert f"| `{role.value}` |" in roles, role


def test_every_users_command_is_shown() -> None:
    from dutystation.cli import _register
    from dutystation.cli.users import token_app, users_app

    _register()
    text = DOC.read_text()
    names = [c.name for c in users_app.registered_commands]
    names += [f"token {c.name}" for c in token_app.registered_commands]
    for name in names:
        assert f"dutystation users {name}" in text, name
