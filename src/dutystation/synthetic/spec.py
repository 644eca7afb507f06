"""What the fictional Department of Example Affairs looks like: its components, their
units and job functions, and how each job function tends to work. Pure data.

The arrangement mix per job function is chosen so that the whole department comes out
near the federal shape OMB published in May 2024 (DESIGN.md §7): about 54 % of staff on
site by the nature of the job (onsite + field), 46 % telework-eligible, about 10 % fully
remote. ``tests/unit/test_synthetic_people.py`` checks the generated mix."""

from __future__ import annotations

from dataclasses import dataclass

DEPARTMENT_CODE = "DEA"
DEPARTMENT_NAME = "Department of Example Affairs (synthetic)"


@dataclass(frozen=True)
class JobFunction:
    name: str
    position: str
    # Probability of each arrangement for someone doing this job:
    # onsite, field, telework, remote (they sum to 1).
    mix: tuple[float, float, float, float]


# fmt: off
JOB_FUNCTIONS: dict[str, JobFunction] = {
    f.name: f
    for f in (
        JobFunction("emergency-response", "Emergency Management Specialist", (0.2, 0.72, 0.08, 0)),
        JobFunction("logistics", "Logistics Management Specialist", (0.72, 0.1, 0.16, 0.02)),
        JobFunction("recovery-grants", "Grants Management Specialist", (0.25, 0, 0.55, 0.2)),
        JobFunction("mission-support", "Management and Program Analyst", (0.4, 0, 0.5, 0.1)),
        JobFunction("field-inspection", "Consumer Safety Inspector", (0.12, 0.83, 0.05, 0)),
        JobFunction("lab-analysis", "Chemist", (0.9, 0, 0.1, 0)),
        JobFunction("compliance-review", "Compliance Investigator", (0.15, 0, 0.5, 0.35)),
        JobFunction("incident-response", "IT Specialist (Incident Response)", (0.6, 0, 0.36, 0.04)),
        JobFunction("threat-analysis", "Intelligence Analyst", (0.2, 0, 0.66, 0.14)),
        JobFunction("security-engineering", "IT Specialist (INFOSEC)", (0.2, 0, 0.64, 0.16)),
        JobFunction("policy", "Policy Analyst", (0.4, 0, 0.54, 0.06)),
        JobFunction("legal", "Attorney-Advisor", (0.35, 0, 0.6, 0.05)),
        JobFunction("finance", "Accountant", (0.45, 0, 0.45, 0.1)),
        JobFunction("human-resources", "Human Resources Specialist", (0.45, 0, 0.45, 0.1)),
        JobFunction("it-support", "IT Specialist (Customer Support)", (0.85, 0, 0.15, 0)),
        JobFunction("survey-operations", "Survey Statistician", (0.12, 0.6, 0.2, 0.08)),
        JobFunction("statistical-analysis", "Mathematical Statistician", (0.2, 0, 0.62, 0.18)),
        JobFunction("data-engineering", "Data Scientist", (0.15, 0, 0.6, 0.25)),
    )
}
# fmt: on


@dataclass(frozen=True)
class UnitSpec:
    """A unit under a component. Leaves hold staff; a unit with children holds none."""

    suffix: str
    name: str
    weight: float = 0.0  # share of the component's staff (leaves only)
    functions: tuple[str, ...] = ()
    children: tuple[UnitSpec, ...] = ()


@dataclass(frozen=True)
class ComponentSpec:
    suffix: str
    name: str
    share: float  # share of the department's staff
    units: tuple[UnitSpec, ...]  # the first unit is the component head's own office
    # Mean share of workdays a telework-arrangement employee spent off site before the
    # directive. Set so the component lands near its memo figure before calibration.
    telework_offsite: float
    # Off-site share of hours worked before the directive, as the department memo of
    # Jan 2025 reported it (DESIGN.md §7); None for components the memo did not cite.
    memo_offsite: float | None
    # Median days from the directive until a telework employee is back full time.
    return_lag_days: float
    # Job functions a small field office of this component hosts (empty: none).
    field_office_functions: tuple[str, ...] = ()
    field_office_weight: float = 0.0  # share of the department's field offices


def _u(suffix: str, name: str, weight: float, *functions: str) -> UnitSpec:
    return UnitSpec(suffix, name, weight, tuple(functions))


# fmt: off
COMPONENTS: tuple[ComponentSpec, ...] = (
    # The headquarters comes first: its head's office is the Secretary's.
    ComponentSpec(
        "HQ", "Office of the Secretary (headquarters)", 0.18,
        (
            _u("OS", "Immediate Office of the Secretary", 0.04, "policy"),
            _u("POL", "Office of Policy", 0.22, "policy"),
            _u("OGC", "Office of the General Counsel", 0.12, "legal"),
            _u("CFO", "Office of the Chief Financial Officer", 0.22, "finance"),
            _u("CHCO", "Office of the Chief Human Capital Officer", 0.22, "human-resources"),
            _u("CIO", "Office of the Chief Information Officer", 0.18, "it-support"),
        ),
        telework_offsite=0.55, memo_offsite=None, return_lag_days=21,
    ),
    # Memo figure 28.9 %: an emergency-management agency with many field responders.
    ComponentSpec(
        "EMA", "Example Emergency Management Agency", 0.27,
        (
            _u("OA", "Office of the Administrator", 0.04, "mission-support"),
            UnitSpec("RSP", "Response Directorate", children=(
                _u("EAST", "Eastern Region Response Branch", 0.15, "emergency-response"),
                _u("CENT", "Central Region Response Branch", 0.12, "emergency-response",
                   "logistics"),
                _u("WEST", "Western Region Response Branch", 0.12, "emergency-response",
                   "logistics"),
            )),
            _u("RCV", "Recovery Directorate", 0.25, "recovery-grants"),
            _u("LOG", "Logistics Management Directorate", 0.12, "logistics"),
            _u("MSD", "Mission Support Directorate", 0.2, "mission-support"),
        ),
        telework_offsite=0.64, memo_offsite=0.289, return_lag_days=10,
        field_office_functions=("emergency-response", "logistics"), field_office_weight=0.3,
    ),
    # Memo figure 24.4 %: a largely field-based inspection service.
    ComponentSpec(
        "EIS", "Example Inspection Service", 0.25,
        (
            _u("OA", "Office of the Administrator", 0.03, "compliance-review"),
            UnitSpec("FO", "Office of Field Operations", children=(
                _u("D1", "District 1 (Atlantic)", 0.2, "field-inspection"),
                _u("D2", "District 2 (Central)", 0.2, "field-inspection"),
                _u("D3", "District 3 (Pacific)", 0.17, "field-inspection"),
            )),
            _u("LAB", "Office of Laboratory Services", 0.12, "lab-analysis"),
            _u("CE", "Office of Compliance and Enforcement", 0.28, "compliance-review"),
        ),
        telework_offsite=0.67, memo_offsite=0.244, return_lag_days=14,
        field_office_functions=("field-inspection",), field_office_weight=0.5,
    ),
    # Memo figure 39.7 %: a cyber-security agency with high telework.
    ComponentSpec(
        "ECA", "Example Cybersecurity Agency", 0.14,
        (
            _u("OD", "Office of the Director", 0.04, "threat-analysis"),
            _u("IR", "Incident Response Division", 0.3, "incident-response"),
            _u("THR", "Threat Analysis Division", 0.33, "threat-analysis"),
            _u("ENG", "Security Engineering Division", 0.33, "security-engineering"),
        ),
        telework_offsite=0.48, memo_offsite=0.397, return_lag_days=35,
    ),
    ComponentSpec(
        "ESB", "Example Statistics Bureau", 0.15,
        (
            _u("OD", "Office of the Director", 0.04, "statistical-analysis"),
            _u("FSO", "Field Survey Operations", 0.34, "survey-operations"),
            _u("MTH", "Methodology and Analysis Division", 0.37, "statistical-analysis"),
            _u("DAT", "Data Engineering Division", 0.25, "data-engineering"),
        ),
        telework_offsite=0.6, memo_offsite=None, return_lag_days=28,
        field_office_functions=("survey-operations",), field_office_weight=0.2,
    ),
    # A small Office of Inspector General: the department memo names it as not bound
    # (policies/2025-01-department-memo.toml), so reports must show it with its legal basis.
    ComponentSpec(
        "OIG", "Office of Inspector General", 0.01,
        (
            _u("IG", "Immediate Office of the Inspector General", 0.2, "legal"),
            _u("AUD", "Office of Audits", 0.8, "compliance-review"),
        ),
        telework_offsite=0.6, memo_offsite=None, return_lag_days=30,
    ),
)
# fmt: on


@dataclass(frozen=True)
class BargainingUnit:
    code: str
    union: str
    title: str
    components: tuple[str, ...]  # component suffixes whose non-supervisory staff it covers
    functions: tuple[str, ...]  # ... doing one of these job functions
    # Minimum on-site days per biweekly pay period under the agreement's hybrid terms;
    # None when the agreement leaves telework levels to agency policy.
    hybrid_min_onsite_days: int | None
    effective_from: str
    effective_to: str


# fmt: off
BARGAINING_UNITS: tuple[BargainingUnit, ...] = (
    BargainingUnit(
        "EEU-L1", "Example Employees Union, Local 1 (synthetic)",
        "Master Agreement, Article 31: Telework and Hybrid Work",
        ("EMA", "EIS"),
        ("recovery-grants", "mission-support", "compliance-review", "logistics",
         "field-inspection", "emergency-response", "lab-analysis"),
        hybrid_min_onsite_days=4, effective_from="2023-10-01", effective_to="2026-09-30",
    ),
    BargainingUnit(
        "EPA-C7", "Example Professional Association, Chapter 7 (synthetic)",
        "Collective Bargaining Agreement: Hybrid Schedules for Professional Staff",
        ("ECA", "ESB"),
        ("threat-analysis", "security-engineering", "statistical-analysis",
         "data-engineering", "incident-response", "survey-operations"),
        hybrid_min_onsite_days=2, effective_from="2024-03-01", effective_to="2027-02-28",
    ),
    BargainingUnit(
        "ECG-3", "Example Clerical Guild, Unit 3 (synthetic)",
        "Local Agreement on Working Conditions (telework per agency policy)",
        ("HQ",), ("finance", "human-resources", "it-support"),
        hybrid_min_onsite_days=None, effective_from="2022-07-01", effective_to="2025-06-30",
    ),
)
# fmt: on

# Share of covered telework staff who keep working under the agreement's hybrid terms
# after the directive instead of returning full time (the unions dispute OPM's reading).
HYBRID_HOLDOUT_SHARE = 0.35
# Share of eligible non-supervisory staff who are members of their bargaining unit.
UNIT_COVERAGE = 0.8
