"""Validation of org-unit and office rows, loops in a tree, and duplicates within one
import. Pure: a raw row (canonical field -> text or None) goes in, a value object or a
``Rejection`` (reason code + column) comes out; the cell parsers are in ``values``."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from dutystation.domain.values import (
    MAX_TEXT,
    RawRow,
    Rejection,
    RowError,
    check_no_nul,
    choice,
    coordinates,
    id_list,
    identifier,
    text,
    text_list,
    timezone_name,
    zip_code,
)
from dutystation.domain.vocabulary import OrgUnitKind

V = TypeVar("V")


# --- org units -------------------------------------------------------------------------


_KINDS = {k.value: k for k in OrgUnitKind}


@dataclass(frozen=True, slots=True)
class OrgUnitRow:
    code: str
    name: str
    parent: str | None
    kind: OrgUnitKind


def validate_org_unit_row(raw: RawRow) -> OrgUnitRow | Rejection:
    try:
        check_no_nul(raw)
        code = identifier(raw, "org_unit", required=True)
        name = text(raw, "name", required=True)
        parent = identifier(raw, "parent")
        kind = choice(raw, "kind", _KINDS, "invalid_kind")
    except RowError as err:
        return err.rejection
    assert code is not None and name is not None
    return OrgUnitRow(code, name, parent, kind or OrgUnitKind.OTHER)


# --- offices ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfficeRow:
    site_id: str
    name: str
    address: str | None
    zip: str | None
    latitude: float | None
    longitude: float | None
    timezone: str
    seats: int
    owners: tuple[str, ...]  # org unit codes, sorted
    job_functions: tuple[str, ...]  # sorted


def _seats(raw: RawRow) -> int:
    value = (raw.get("seats") or "").strip()
    if not value:
        raise RowError("missing_value", "seats")
    # Digits only: "12.0", "1,200" and "-3" are all refused rather than guessed at.
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise RowError("invalid_seats", "seats")
    return int(value)


def validate_office_row(raw: RawRow) -> OfficeRow | Rejection:
    try:
        check_no_nul(raw)
        site_id = identifier(raw, "site_id", required=True)
        name = text(raw, "name", required=True)
        address = text(raw, "address", limit=MAX_TEXT)
        zipc = zip_code(raw, "zip")
        latitude, longitude = coordinates(raw, "latitude", "longitude")
        zone = timezone_name(raw, "timezone")
        seats = _seats(raw)
        owners = id_list(raw, "org_unit", required=True)
        functions = text_list(raw, "job_functions")
    except RowError as err:
        return err.rejection
    assert site_id is not None and name is not None
    return OfficeRow(
        site_id, name, address, zipc, latitude, longitude, zone, seats, owners, functions
    )


# --- graphs and duplicates -------------------------------------------------------------


def find_cycle(edges: Mapping[str, str | None]) -> list[str] | None:
    """The first loop in a child -> parent (or employee -> supervisor) map, as the list of
    nodes on it, or None. Iterative, so a chain 100,000 deep does not hit the recursion
    limit; linear, because each node is walked once."""
    done: set[str] = set()
    for start in edges:
        if start in done:
            continue
        path: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in path:
                nodes = list(path)
                return nodes[path[node] :]
            path[node] = len(path)
            node = edges.get(node)
        done.update(path)
    return None


def ancestor_chains(parents: Mapping[str, str | None]) -> dict[str, tuple[str, ...]]:
    """For each unit, the codes from the root down to the unit itself (cycle-free input)."""
    chains: dict[str, tuple[str, ...]] = {}

    def chain(code: str) -> tuple[str, ...]:
        pending: list[str] = []
        node: str | None = code
        while node is not None and node not in chains:
            pending.append(node)
            node = parents.get(node)
        base = chains[node] if node is not None else ()
        for item in reversed(pending):
            base = (*base, item)
            chains[item] = base
        return chains[code]

    for code in parents:
        chain(code)
    return chains


K = TypeVar("K", bound=Hashable)


@dataclass
class Deduplicated(Generic[K, V]):
    kept: dict[K, tuple[V, int]]  # key -> (value, index of its first row)
    repeats: int  # identical rows collapsed into the first
    conflicting: list[int]  # indices of every row whose key had differing values


def deduplicate(items: Iterable[V], key: Callable[[V], K]) -> Deduplicated[K, V]:
    """Identical repeats collapse into one; a key seen with different values rejects every
    row carrying it, because nothing says which one is right."""
    kept: dict[K, tuple[V, int]] = {}
    rows_by_key: dict[K, list[int]] = {}
    bad: set[K] = set()
    for index, item in enumerate(items):
        k = key(item)
        rows = rows_by_key.get(k)
        if rows is None:
            rows_by_key[k] = [index]
            kept[k] = (item, index)
            continue
        rows.append(index)
        if k not in bad and kept[k][0] != item:
            bad.add(k)
    for k in bad:
        del kept[k]
    repeats = sum(len(rows_by_key[k]) - 1 for k in kept)
    conflicting = sorted(i for k in bad for i in rows_by_key[k])
    return Deduplicated(kept, repeats, conflicting)
