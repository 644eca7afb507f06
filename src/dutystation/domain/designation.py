"""Designating staff to agency offices: who needs a designation, which offices may take
them, and the words a plan uses to explain itself. Pure: plain values in, plain values out;
the spatial search and the solver are in ``analytics/``, the store in ``services/``.

OPM (2025-01-22): "where an official duty station is more than 50 miles from any agency
office, move it to the most appropriate agency office based on duties and job function".
The limit comes from the directive (``distance_rule.designate_beyond_miles``); what makes an
office able to host someone's duties comes from the designation rules below, whose keys
docs/designation.md lists (a test checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dutystation.domain.directive import (
    EVERY_ORG_UNIT,
    Directive,
    KeyedValueError,
    Scope,
    in_force,
)
from dutystation.domain.geodesy import miles_to_metres
from dutystation.domain.vocabulary import Arrangement

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


class HostLevel(StrEnum):
    # An office hosts a component when it lists the component, a unit above it, or any
    # unit inside it: the component's staff may be designated to any office it works from.
    COMPONENT = "component"
    # An office hosts a unit only when it lists that unit or a unit above it.
    ORG_UNIT = "org_unit"


class BeyondLimit(StrEnum):
    LIST = "list"  # people with no eligible office within the limit are listed, unplaced
    DESIGNATE = "designate"  # ... or designated to the nearest eligible office with a seat


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hosting(_Model):
    """An office that hosts units it does not own (shared space, OMB's "options for
    sharing space")."""

    site_id: Code
    org_units: tuple[Code, ...] = Field(min_length=1)


class DesignationRules(_Model):
    """The rules of a designation plan. Every key has a default, so no file is needed."""

    host_level: HostLevel = HostLevel.COMPONENT
    require_job_function: bool = True
    hosts: tuple[Hosting, ...] = ()
    beyond_limit: BeyondLimit = BeyondLimit.LIST
    max_candidates: int = Field(default=64, ge=1, le=1000)

    @model_validator(mode="after")
    def _unique_hosts(self) -> DesignationRules:
        seen: set[str] = set()
        for i, entry in enumerate(self.hosts):
            if entry.site_id in seen:
                raise KeyedValueError(f"hosts[{i}].site_id", f"lists {entry.site_id!r} twice")
            seen.add(entry.site_id)
        return self


# --- the distance rule of the directives -----------------------------------------------


@dataclass(frozen=True)
class DistanceLimit:
    """The distance rule that holds a unit: the smallest limit among the directives in
    force whose scope holds it. ``arrangements``: those the rule orders designated."""

    limit_m: float
    directive_ref: str
    arrangements: frozenset[Arrangement]

    @property
    def limit_miles(self) -> float:
        return self.limit_m / miles_to_metres(1.0)


def _holds(scope: Scope, chain_root_first: Sequence[str]) -> bool:
    # The nearest unit the scope names decides, as in ``directive.binding_directive``: a
    # not-bound division inside a component in scope is not bound.
    not_bound = {n.org_unit for n in scope.not_bound}
    for unit in reversed(chain_root_first):
        if unit in not_bound:
            return False
        if unit in scope.org_units:
            return True
    return EVERY_ORG_UNIT in scope.org_units


def distance_limit(
    directives: Iterable[Directive], chain_root_first: Sequence[str], day: date
) -> DistanceLimit | None:
    """The distance rule for a unit (given by its chain, root first) on ``day``; None when
    no directive in force with a ``distance_rule`` holds it."""
    found: list[DistanceLimit] = []
    for directive in in_force(directives, day):
        rule = directive.distance_rule
        if rule is None or not _holds(directive.scope, chain_root_first):
            continue
        found.append(
            DistanceLimit(
                miles_to_metres(rule.designate_beyond_miles),
                directive.ref,
                frozenset(rule.arrangements),
            )
        )
    if not found:
        return None
    return min(found, key=lambda f: (f.limit_m, f.directive_ref))


# --- who needs a designation ------------------------------------------------------------


class Need(StrEnum):
    """Why someone needs a designation (the directive's arrangements only)."""

    # Remote: the alternative worksite (home) is the official worksite; ending remote work
    # means naming an agency office as duty station.
    NO_AGENCY_OFFICE = "no_agency_office"
    # Their duty station is an office farther from home than the limit.
    DUTY_STATION_BEYOND_LIMIT = "duty_station_beyond_limit"


def need_for(
    subject_to_rule: bool,
    has_duty_station: bool,
    duty_station_m: float | None,
    limit_m: float,
) -> Need | None:
    """Whether one person needs a designation. ``duty_station_m``: home to duty station."""
    if not subject_to_rule:
        return None
    if not has_duty_station:
        return Need.NO_AGENCY_OFFICE
    if duty_station_m is not None and duty_station_m > limit_m:
        return Need.DUTY_STATION_BEYOND_LIMIT
    return None


# --- which offices may take whom ---------------------------------------------------------


class Rejection(StrEnum):
    """Why an office nearer than the chosen one (or any office, for the unplaced) was not
    taken. The values are what plans and reports show."""

    WRONG_COMPONENT = "wrong component"
    JOB_FUNCTION_NOT_LISTED = "job function not listed"
    FULL = "full"
    BEYOND_LIMIT = "beyond limit"
    NO_SEATS = "no seats"
    CLOSED = "closed"
    NOT_A_CANDIDATE = "not a candidate"  # an office excluded from the plan (listed apart)


def host_key(chain_root_first: Sequence[str], level: HostLevel) -> str:
    """What an office must host for a person in the unit with this chain: their
    component (the unit at depth 2; a department's own staff: the department), or their
    own unit."""
    if level is HostLevel.ORG_UNIT:
        return chain_root_first[-1]
    return chain_root_first[1] if len(chain_root_first) > 1 else chain_root_first[0]


def keys_by_listed_unit(
    chains: Mapping[str, Sequence[str]], level: HostLevel
) -> dict[str, frozenset[str]]:
    """For every unit an office may list, the host keys (see ``host_key``) that listing it
    serves. ``chains``: every unit's chain, root first.

    Listing a unit serves every unit whose chain holds it (the unit and those below). At
    the component level that is the component of each of them, so a listed division serves
    its whole component and a listed department every component under it."""
    found: dict[str, set[str]] = {}
    for chain in chains.values():
        key = host_key(chain, level)
        for unit in chain:
            found.setdefault(unit, set()).add(key)
    return {unit: frozenset(keys) for unit, keys in found.items()}


def hosted_keys(
    listed_units: Iterable[str],
    chains: Mapping[str, Sequence[str]],
    level: HostLevel,
    by_unit: Mapping[str, frozenset[str]] | None = None,
) -> frozenset[str]:
    """The host keys an office that lists ``listed_units`` (owners and hosting rules)
    serves; ``by_unit`` is ``keys_by_listed_unit`` when the caller has it already."""
    table = by_unit if by_unit is not None else keys_by_listed_unit(chains, level)
    keys: set[str] = set()
    for unit in listed_units:
        keys |= table.get(unit, frozenset())
    return frozenset(keys)


def rule_text(host: str, listed_function: str | None, distance_miles: float, limit: float) -> str:
    """The rule a designation matched, in words (stored with the designation)."""
    parts = [f"hosts {host}"]
    if listed_function:
        parts.append(f"lists job function {listed_function!r}")
    relation = "within" if distance_miles <= limit else "beyond"
    parts.append(f"{distance_miles:.1f} mi, {relation} the {limit:g}-mile limit")
    return "; ".join(parts)
