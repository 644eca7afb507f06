"""The org-unit tree of the fictional department: department > component > division
(> branch), flattened into arrays the generator indexes by number."""

from __future__ import annotations

from dataclasses import dataclass, field

from dutystation.domain.vocabulary import OrgUnitKind
from dutystation.synthetic.spec import (
    COMPONENTS,
    DEPARTMENT_CODE,
    DEPARTMENT_NAME,
    ComponentSpec,
    UnitSpec,
)


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    parent: int | None  # index into Org.units
    kind: OrgUnitKind
    component: int | None  # index into COMPONENTS; None for the department
    weight: float = 0.0
    functions: tuple[str, ...] = ()


@dataclass
class Org:
    units: list[Unit] = field(default_factory=list)
    leaves: list[int] = field(default_factory=list)  # unit indices that hold staff
    components: tuple[ComponentSpec, ...] = COMPONENTS

    def children(self, index: int) -> list[int]:
        return [i for i, u in enumerate(self.units) if u.parent == index]

    def leaves_of(self, component: int) -> list[int]:
        """Leaf positions (indices into ``leaves``) belonging to a component."""
        return [k for k, u in enumerate(self.leaves) if self.units[u].component == component]

    def first_leaf_under(self, index: int) -> int:
        """The leaf whose head heads ``index`` too: the first child, all the way down."""
        while True:
            kids = self.children(index)
            if not kids:
                return index
            index = kids[0]

    def ancestors(self, index: int) -> list[int]:
        out = []
        parent = self.units[index].parent
        while parent is not None:
            out.append(parent)
            parent = self.units[parent].parent
        return out


def build_org() -> Org:
    org = Org()
    org.units.append(Unit(DEPARTMENT_CODE, DEPARTMENT_NAME, None, OrgUnitKind.DEPARTMENT, None))
    for c, comp in enumerate(COMPONENTS):
        code = f"{DEPARTMENT_CODE}-{comp.suffix}"
        org.units.append(Unit(code, comp.name, 0, OrgUnitKind.COMPONENT, c))
        _add_units(org, comp.units, len(org.units) - 1, code, c)
    return org


def _add_units(org: Org, specs: tuple[UnitSpec, ...], parent: int, prefix: str, c: int) -> None:
    for spec in specs:
        code = f"{prefix}-{spec.suffix}"
        org.units.append(
            Unit(code, spec.name, parent, OrgUnitKind.DIVISION, c, spec.weight, spec.functions)
        )
        index = len(org.units) - 1
        if spec.children:
            _add_units(org, spec.children, index, code, c)
        else:
            org.leaves.append(index)
