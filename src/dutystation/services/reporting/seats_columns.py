"""The columns of the ``capacity`` report (``seats.py``); docs/reports.md lists them."""

from __future__ import annotations

from dutystation.reports.model import Column, ColumnKind
from dutystation.services.reporting.tables import TOTAL, UNIT, unit_name

_K = ColumnKind


def _count(name: str, label: str, short: str, priority: int, what: str) -> Column:
    return Column(name, label, _K.INTEGER, short=short, priority=priority, description=what)


SITE = Column("site_id", "Office", priority=0, description="Office (site) id")
SEATS = Column("seats", "Seats", _K.INTEGER, priority=0, description="Seat capacity")
EXPECTED = Column(
    "expected",
    "Expected on site",
    _K.NUMBER,
    short="Expected",
    priority=0,
    description="People expected on site that day at full compliance (sum of each "
    "person's chance; docs/capacity.md)",
)
SHORTFALL = Column(
    "shortfall",
    "Short by",
    _K.INTEGER,
    short="Short",
    priority=0,
    description="People expected beyond the seats, rounded up (0 when they fit)",
)
ASSIGNED = _count(
    "assigned", "Assigned", "Roster", 1, "Employees whose duty station it is that day (roster)"
)
DESIGNATED = _count(
    "designated",
    "Designated",
    "Desig.",
    3,
    "Designated to the office, the roster not showing it yet (applied designations)",
)
EXEMPT = _count(
    "exempt",
    "Exempt",
    "Exempt",
    5,
    "Placed there, exempt that day (a category the directive allows)",
)

OFFICE_COLUMNS = [
    SITE,
    Column("name", "Name", priority=8, wrap=True, description="Office name"),
    SEATS,
    Column(
        "peak_date",
        "Busiest day",
        _K.DATE,
        short="Busiest",
        priority=2,
        description="First day with the most people expected",
    ),
    EXPECTED,
    SHORTFALL,
    ASSIGNED,
    DESIGNATED,
    EXEMPT,
    _count(
        "days_short",
        "Days short",
        "Days short",
        3,
        "Business days with more people expected than seats",
    ),
    Column(
        "avg_expected",
        "Expected, average day",
        _K.NUMBER,
        short="Avg exp.",
        priority=4,
        description="Mean of the people expected over the business days",
    ),
    Column(
        "observed_avg",
        "Observed, average day",
        _K.NUMBER,
        short="Avg obs.",
        priority=4,
        description="Mean of the people badged in over the business days with badge data",
    ),
    Column(
        "observed_peak",
        "Observed, busiest day",
        _K.INTEGER,
        short="Obs. peak",
        priority=2,
        description="Most people badged in on one business day (empty: no badge data)",
    ),
    _count("onsite", "On site (roster)", "Onsite", 6, "Assigned, arrangement onsite"),
    _count("telework", "Telework (roster)", "Telework", 6, "Assigned, arrangement telework"),
    _count("remote", "Remote (roster)", "Remote", 7, "Assigned, arrangement remote"),
    _count("field", "Field (roster)", "Field", 7, "Assigned, arrangement field"),
]

DAY_COLUMNS = [
    SITE,
    Column("day", "Date", _K.DATE, priority=0, description="The business day"),
    Column("week", "Week", priority=6, description="Its ISO week, e.g. 2025-W07"),
    SEATS,
    ASSIGNED,
    DESIGNATED,
    EXEMPT,
    EXPECTED,
    SHORTFALL,
    Column(
        "observed",
        "Observed",
        _K.INTEGER,
        short="Obs.",
        priority=1,
        description="People badged in that day; empty after the last badge data",
    ),
]

UNPLACED_COLUMNS = [
    UNIT,
    unit_name(4),
    _count(
        "people",
        "People",
        "People",
        0,
        "Required on site, with no duty station and no designation (busiest day)",
    ),
    Column(
        "expected",
        "Expected on site",
        _K.NUMBER,
        short="Expected",
        priority=0,
        description="Their expected attendance on the busiest day, placed at no office",
    ),
    TOTAL,
]

MAP_COLUMNS = [
    Column("kind", "Kind", priority=0, description="office, or unplaced staff"),
    Column(
        "place",
        "Place",
        priority=0,
        wrap=True,
        description="The office (id and name), or the area: ZIP3 prefix or office",
    ),
    Column(
        "latitude",
        "Latitude",
        _K.NUMBER,
        short="Lat.",
        priority=3,
        description="Of the office; of an area's centre, to 0.1 degree",
    ),
    Column(
        "longitude",
        "Longitude",
        _K.NUMBER,
        short="Lon.",
        priority=3,
        description="As latitude",
    ),
    Column("seats", "Seats", _K.INTEGER, priority=1, description="Seat capacity (offices)"),
    Column(
        "expected",
        "Expected on site",
        _K.NUMBER,
        short="Expected",
        priority=2,
        description="On the office's busiest day (offices)",
    ),
    Column(
        "shortfall",
        "Short by",
        _K.INTEGER,
        short="Short",
        priority=1,
        description="On the busiest day (offices)",
    ),
    Column(
        "people",
        "Unplaced staff",
        _K.INTEGER,
        short="Unplaced",
        priority=1,
        description="People the latest designation plan could not place (areas)",
    ),
]
