"""Header mapping (source column names to canonical fields) and the value rules of a profile
(trimming, null texts, patterns, value maps), applied to whole Arrow columns at a time."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dutystation.errors import ConfigError, InputFileError, Location
from dutystation.ingest.fields import FIELDS, ONE_OF
from dutystation.ingest.profiles import Profile

LINE = "_line"
# More columns than any export the profiles describe: refusing them keeps a crafted header
# (10,000 columns) from costing a parse of every one of them (RELIABILITY T16).
MAX_COLUMNS = 1000
_SEPARATORS = re.compile(r"[\s_\-]+")
_SHOWN_COLUMNS = 20
# Fields holding identifiers. Zero-width and bidi controls are invisible in every viewer;
# in an id they would silently make a second person or office, so they are removed before
# matching (RELIABILITY C1; domain/values.py does the same for the roster).
ID_FIELDS = frozenset(
    {"employee_id", "badge_id", "site_id", "org_unit", "parent", "duty_station", "supervisor_id"}
)
_INVISIBLE = "[\u200b-\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069]"


def normalise(name: str) -> str:
    """``Employee ID ``, ``employee_id`` and ``EMPLOYEE-ID`` all become ``employee id``."""
    return " ".join(p for p in _SEPARATORS.split(name.replace("\ufeff", "").casefold()) if p)


def expected_names(profile: Profile) -> set[str]:
    """Every normalised source name the profile could map, to recognise a header line."""
    return {normalise(n) for f in FIELDS[profile.kind] for n in profile.source_names(f.name)}


def _show(names: Sequence[str]) -> str:
    # Header names come from the file: keep them printable and short in messages.
    shown = [n if n.isprintable() and len(n) <= 40 else repr(n[:40]) for n in names]
    if len(shown) > _SHOWN_COLUMNS:
        shown = [*shown[:_SHOWN_COLUMNS], f"and {len(shown) - _SHOWN_COLUMNS} more"]
    return ", ".join(shown) if shown else "no columns"


def map_header(
    path: Path, header: Sequence[str], profile: Profile, header_line: int
) -> list[tuple[str, int]]:
    """(canonical field, source column index) for every field the file has, in field order.

    Raises ``InputFileError`` for too many columns, a duplicated name, a missing required
    column, or (badges) neither identity column. Header names are only ever compared with
    the profile's: they never become an identifier, a path or part of a query."""
    if len(header) > MAX_COLUMNS:
        raise InputFileError(
            Location(path, header_line),
            f"the header has {len(header):,} columns, more than {MAX_COLUMNS:,}; export only "
            "the columns the profile maps",
        )
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        key = normalise(name)
        if not key:
            continue  # unnamed columns (e.g. a trailing delimiter) are never mapped
        if key in index:
            raise InputFileError(
                Location(path, header_line, name.strip()),
                f"the header names this column twice (columns {index[key] + 1} and {i + 1})",
            )
        index[key] = i
    mapped: list[tuple[str, int]] = []
    for f in FIELDS[profile.kind]:
        candidates = profile.source_names(f.name)
        found = next((index[normalise(c)] for c in candidates if normalise(c) in index), None)
        if found is not None:
            mapped.append((f.name, found))
        elif f.required:
            label = repr(f.name) if candidates == [f.name] else f"{f.name!r} ({_or(candidates)})"
            raise InputFileError(
                Location(path, header_line, f.name),
                f"required column {label} is missing ({_found(header, index, profile)})",
            )
    alternatives = ONE_OF.get(profile.kind)
    present = {name for name, _ in mapped}
    if alternatives and not present.intersection(alternatives):
        raise InputFileError(
            Location(path, header_line, alternatives[0]),
            f"one of the columns {_or(list(alternatives))} is required "
            f"({_found(header, index, profile)})",
        )
    return mapped


def _found(header: Sequence[str], index: dict[str, int], profile: Profile) -> str:
    """What the header line holds. When not one of its cells is a name this import knows,
    the line is most likely a data row (the file has no header): its cells are then not
    echoed, because they would be an employee's values (RELIABILITY C9). A cell that
    holds a known name inside it (a header split with the wrong delimiter) is a header."""
    known = expected_names(profile)
    if not any(name in cell for cell in index for name in known):
        return (
            f"none of the {len(header)} names on the header line is one this import knows: "
            "does the file start with a header line, and is the profile the right one?"
        )
    return f"found: {_show(header)}"


def _or(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


@dataclass(frozen=True)
class ValueRules:
    """The profile's value rules, in the order they apply to each canonical column:

    1. surrounding whitespace is trimmed;
    2. a value equal to one of ``source.null_values`` becomes null;
    3. ``patterns``: the regex (RE2 syntax, one capturing group) is searched in the value
       and the value becomes the group; a value the regex does not match is kept as it
       is, so that validation rejects it by name instead of it silently turning null;
    4. ``values``: an exact match is replaced by the mapped text; other values pass;
    5. a result equal to a null value (e.g. a map to ``""``) becomes null.
    """

    null_values: pa.Array
    patterns: dict[str, str]
    maps: dict[str, tuple[pa.Array, pa.Array]]

    @classmethod
    def from_profile(cls, profile: Profile) -> ValueRules:
        patterns = {f: _search_pattern(profile, f, p) for f, p in profile.patterns.items()}
        maps = {
            f: (pa.array(list(m), pa.string()), pa.array(list(m.values()), pa.string()))
            for f, m in profile.values.items()
        }
        return cls(pa.array(profile.source.null_values, pa.string()), patterns, maps)

    def apply(self, field: str, column: pa.Array, *, nulls_applied: bool) -> pa.Array:
        """``nulls_applied``: the reader already turned exact null texts into nulls."""
        if column.type != pa.string():
            column = column.cast(pa.string())
        if _may_need_trim(column):
            if field in ID_FIELDS:
                column = pc.replace_substring_regex(column, pattern=_INVISIBLE, replacement="")
            column = pc.utf8_trim_whitespace(column)
            nulls_applied = False
        if not nulls_applied:
            column = self._nulls(column)
        changed = False
        pattern = self.patterns.get(field)
        if pattern is not None:
            column = pc.replace_substring_regex(column, pattern=pattern, replacement=r"\1")
            changed = True
        mapping = self.maps.get(field)
        if mapping is not None:
            keys, targets = mapping
            column = pc.coalesce(pc.take(targets, pc.index_in(column, value_set=keys)), column)
            changed = True
        return self._nulls(column) if changed else column

    def _nulls(self, column: pa.Array) -> pa.Array:
        if len(self.null_values) == 0:
            return column
        hit = pc.is_in(column, value_set=self.null_values)
        return pc.if_else(hit, pa.scalar(None, pa.string()), column)


def _search_pattern(profile: Profile, field: str, pattern: str) -> str:
    # Python's re.search semantics (first match anywhere, take group 1) expressed as a
    # whole-value RE2 replacement, so it runs vectorised in Arrow.
    try:
        groups = re.compile(pattern).groups
    except re.error:
        groups = 1  # RE2-only syntax; Arrow's compile below is the judge
    wrapped = f"(?s)^.*?(?:{pattern}).*$"
    try:
        pc.replace_substring_regex(pa.array([""], pa.string()), pattern=wrapped, replacement="")
    except pa.ArrowInvalid:
        groups = -1
    if groups != 1:
        raise ConfigError(
            f"profile {profile.name!r}: [patterns] {field} must be a valid regular "
            "expression with exactly one capturing group"
        )
    return wrapped


def _may_need_trim(column: pa.Array) -> bool:
    """Cheap pre-check on the raw bytes: trimming is only needed when some value holds a
    byte that could be whitespace (ASCII space and controls, or any non-ASCII byte)."""
    if column.null_count == len(column) or len(column) == 0:
        return False
    buffers = column.buffers()
    offsets = np.frombuffer(
        buffers[1], dtype=np.int32, count=len(column) + 1, offset=column.offset * 4
    )
    start, end = int(offsets[0]), int(offsets[-1])
    if end == start or buffers[2] is None:
        return False
    data = np.frombuffer(buffers[2], dtype=np.uint8)[start:end]
    return bool(data.min() <= 0x20 or data.max() >= 0x80)


def canonical_batch(
    rules: ValueRules,
    columns: Sequence[tuple[str, pa.Array]],
    lines: np.ndarray,
    *,
    nulls_applied: bool,
) -> pa.RecordBatch:
    arrays = [rules.apply(name, col, nulls_applied=nulls_applied) for name, col in columns]
    names = [name for name, _ in columns]
    return pa.RecordBatch.from_arrays([*arrays, pa.array(lines, pa.int64())], names=[*names, LINE])
