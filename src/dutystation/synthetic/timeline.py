"""The demo's calendar: the reference directive's dates (DESIGN.md §7), the 16-week
evidence window around it, federal pay periods and the days the government was closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import holidays
import numpy as np
import numpy.typing as npt

# 2025-01-20: presidential memorandum "Return to In-Person Work" (also MLK Day and
# Inauguration Day, so nobody works that day).
DIRECTIVE = date(2025, 1, 20)
# 2025-01-22: OPM guidance; agencies revise telework policy by Friday 2025-01-24.
OPM_GUIDANCE = date(2025, 1, 22)
POLICY_REVISION_DEADLINE = date(2025, 1, 24)
# OPM asked for the date of full compliance, "about 30 days" after its guidance.
FULL_COMPLIANCE = OPM_GUIDANCE + timedelta(days=30)
# The department memo wants non-returners reported within 30 days.
REPORTING_DEADLINE = DIRECTIVE + timedelta(days=30)
# The hiring freeze memorandum was signed the same day: no entries on duty after it.
HIRING_FREEZE = DIRECTIVE
# The roster baseline: a snapshot at the start of fiscal year 2025, before the window.
BASELINE = date(2024, 10, 1)
WEEKS_EACH_SIDE = 8
WINDOW_START = DIRECTIVE - timedelta(weeks=WEEKS_EACH_SIDE)  # Monday 2024-11-25
WINDOW_END = DIRECTIVE + timedelta(weeks=WEEKS_EACH_SIDE) - timedelta(days=1)  # Sun 2025-03-16
# Federal biweekly pay periods start on Sundays; leave year 2025 began Sunday 2025-01-12,
# so the pay period holding the window's first day began 2024-11-17.
PAY_PERIOD_ANCHOR = date(2024, 11, 17)


@dataclass(frozen=True)
class Timeline:
    start: date = WINDOW_START
    end: date = WINDOW_END

    @cached_property
    def days(self) -> list[date]:
        n = (self.end - self.start).days + 1
        return [self.start + timedelta(days=i) for i in range(n)]

    @property
    def n_days(self) -> int:
        return len(self.days)

    def index(self, day: date) -> int:
        return (day - self.start).days

    @cached_property
    def weekday(self) -> npt.NDArray[np.int8]:
        """0 = Monday ... 6 = Sunday, per window day."""
        return np.array([d.weekday() for d in self.days], dtype=np.int8)

    @cached_property
    def pay_period_day(self) -> npt.NDArray[np.int8]:
        """0..13: the day's position in its biweekly pay period (0 = the first Sunday)."""
        return np.array([(d - PAY_PERIOD_ANCHOR).days % 14 for d in self.days], dtype=np.int8)

    @cached_property
    def closures(self) -> dict[int, tuple[str, bool]]:
        """Window day index -> (name, statutory). Statutory holidays are coded HOL; days
        the President closed offices by executive order (Christmas Eve 2024, the national
        day of mourning for President Carter on 2025-01-09) are excused absence (ADM)."""
        years = sorted({self.start.year, self.end.year})
        public = holidays.country_holidays("US", years=years)
        government = holidays.country_holidays("US", years=years, categories=("government",))
        out: dict[int, tuple[str, bool]] = {}
        for day, name in sorted(government.items()):
            if self.start <= day <= self.end:
                out[self.index(day)] = (str(name), day in public)
        return out

    @cached_property
    def epoch_seconds(self) -> npt.NDArray[np.int64]:
        """Seconds from 1970-01-01 to each window day's midnight (naive, no zone)."""
        first = (self.start - date(1970, 1, 1)).days
        return (np.arange(self.n_days, dtype=np.int64) + first) * 86_400

    @cached_property
    def us_dates(self) -> list[str]:
        """MM/DD/YYYY, as the T&A extract writes dates."""
        return [d.strftime("%m/%d/%Y") for d in self.days]
