"""Loading directive files (TOML or YAML) into ``domain.directive.Directive`` models.

This is the I/O edge of the directive rules: it reads files, and turns every problem into a
``ConfigError`` of one sentence per problem naming the file and the key, e.g.
``policies/x.toml: key 'deadlines.full_compliance': is before the effective date 2025-01-20``.
Loading a folder also checks what no single file can: duplicate ``id@version``, a
``supersedes`` naming nothing, and two versions of one directive in force on the same day.
"""

from __future__ import annotations

import difflib
import itertools
import tomllib
import types
import typing
from collections.abc import Collection, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dutystation.domain.directive import EVERY_ORG_UNIT, Directive, KeyedValueError
from dutystation.errors import ConfigError

SUFFIXES = (".toml", ".yaml", ".yml")


def load_directive(path: Path, *, known_org_units: Collection[str] | None = None) -> Directive:
    """One policy file. ``known_org_units``, when given, are the org-unit codes the scope
    may name (``*`` always may)."""
    return parse_directive(_read(path), str(path), known_org_units=known_org_units)


def load_directives(
    folder: Path, *, known_org_units: Collection[str] | None = None
) -> list[Directive]:
    """Every ``*.toml``, ``*.yaml`` and ``*.yml`` file of ``folder`` (other files are left
    alone), checked together; sorted by id and version."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: is not a folder of policy files")
    files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
    loaded = [(load_directive(p, known_org_units=known_org_units), str(p)) for p in files]
    check_together(loaded)
    return sorted((d for d, _ in loaded), key=lambda d: (d.id, d.version))


def parse_directive(
    data: Any, source: str, *, known_org_units: Collection[str] | None = None
) -> Directive:
    """A directive from already-parsed data; ``source`` names it in messages."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must hold a table of keys (id, version, scope, ...)")
    try:
        directive = Directive.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_sentences(exc, source))) from None
    if known_org_units is not None:
        _check_org_units(directive, source, set(known_org_units))
    return directive


def _read(path: Path) -> Any:
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"{path}: is not a policy file (use .toml, .yaml or .yml)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: is not valid TOML ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"{path}: is not valid YAML{where} ({problem})") from None


# --- turning pydantic errors into sentences ------------------------------------------------


def _key(loc: Iterable[int | str]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
    return key


def policy_keys(model: type[BaseModel] = Directive, prefix: str = "") -> list[str]:
    """Every key a policy file may hold, dotted (``deadlines.full_compliance``); tables too."""
    found = []
    for name, field in model.model_fields.items():
        found.append(prefix + name)
        nested = _model_in(field.annotation)
        if nested is not None:
            found += policy_keys(nested, f"{prefix}{name}.")
    return found


def _model_at(path: Iterable[int | str]) -> type[BaseModel] | None:
    """The model class reached by following field names from ``Directive``."""
    model: type[BaseModel] = Directive
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        found = _model_in(field.annotation) if field is not None else None
        if found is None:
            return None
        model = found
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            if (found := _model_in(arg)) is not None:
                return found
    return None


def _sentences(exc: ValidationError, source: str) -> list[str]:
    out = []
    # An unknown key first: a misspelt key also shows up as the required key it missed.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    for error in errors:
        loc = error["loc"]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, KeyedValueError):
            key, problem = cause.key, cause.problem
        else:
            key, problem = _key(loc) or "(top level)", _problem(error)
        sentence = f"{source}: key {key!r}: {problem}"
        if sentence not in out:
            out.append(sentence)
    return out


def _problem(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"is not a known key{hint}; known keys here: {', '.join(known)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    given = error.get("input")
    if isinstance(given, str | int | float | date):
        message += f" (got {given!r})" if not isinstance(given, date) else f" (got {given})"
    return message


# --- checks across files ----------------------------------------------------------------


def _check_org_units(directive: Directive, source: str, known: set[str]) -> None:
    named = [(f"scope.org_units[{i}]", u) for i, u in enumerate(directive.scope.org_units)]
    named += [
        (f"scope.not_bound[{i}].org_unit", n.org_unit)
        for i, n in enumerate(directive.scope.not_bound)
    ]
    for key, unit in named:
        if unit != EVERY_ORG_UNIT and unit not in known:
            raise ConfigError(f"{source}: key {key!r}: names unknown org unit {unit!r}")


def check_together(loaded: list[tuple[Directive, str]]) -> None:
    """Rules across files: unique ``id@version``; ``supersedes`` names a directive of the
    set that takes effect earlier; versions of one id are never in force on the same day
    (a version ends at its ``expires`` date or the day before its superseder takes effect)."""
    by_ref: dict[str, tuple[Directive, str]] = {}
    for directive, source in loaded:
        if directive.ref in by_ref:
            raise ConfigError(
                f"{source}: key 'version': {directive.ref} is also defined in "
                f"{by_ref[directive.ref][1]}"
            )
        by_ref[directive.ref] = (directive, source)
    ends: dict[str, date] = {}
    for directive, source in loaded:
        if directive.supersedes is None:
            continue
        if directive.supersedes not in by_ref:
            raise ConfigError(
                f"{source}: key 'supersedes': names {directive.supersedes}, "
                "which no policy file in the folder defines"
            )
        old, _ = by_ref[directive.supersedes]
        if directive.effective <= old.effective:
            raise ConfigError(
                f"{source}: key 'effective': must be after the effective date "
                f"{old.effective.isoformat()} of {old.ref}, which it supersedes"
            )
        cut = directive.effective - timedelta(days=1)
        ends[old.ref] = min(cut, ends.get(old.ref, cut))
    _check_overlaps(loaded, ends)


def _check_overlaps(loaded: list[tuple[Directive, str]], ends: dict[str, date]) -> None:
    def last_day(d: Directive) -> date | None:
        options = [x for x in (d.expires, ends.get(d.ref)) if x is not None]
        return min(options) if options else None

    ordered = sorted(loaded, key=lambda pair: (pair[0].id, pair[0].effective, pair[0].version))
    for (a, a_source), (b, b_source) in itertools.pairwise(ordered):
        a_end = last_day(a)
        if a.id != b.id or (a_end is not None and a_end < b.effective):
            continue
        until = a_end.isoformat() if a_end else "further notice"
        raise ConfigError(
            f"{b_source}: key 'effective': version {b.version} of {a.id!r} is in force from "
            f"{b.effective.isoformat()}, overlapping version {a.version} ({a_source}, "
            f"in force {a.effective.isoformat()} to {until}); add supersedes = "
            f'"{a.ref}" or give version {a.version} an expires date'
        )
