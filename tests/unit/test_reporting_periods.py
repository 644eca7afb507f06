"""Report periods as people type them, cut to the days that have evidence."""

from __future__ import annotations

from datetime import date

import pytest
from report_tables import directive

from dutystation.errors import ConfigError, NoEvidence
from dutystation.services.reporting.periods import cut_to_evidence, parse_period, resolve

EVIDENCE = (date(2024, 11, 25), date(2025, 3, 14))  # Monday to a Friday


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025-02-11", date(2025, 2, 11), date(2025, 2, 11)),
        ("2025-02-03..2025-02-28", date(2025, 2, 3), date(2025, 2, 28)),
        ("2025-W07", date(2025, 2, 10), date(2025, 2, 16)),
        ("2025-PP05", date(2025, 3, 9), date(2025, 3, 22)),
        ("2025-PP01", date(2025, 1, 12), date(2025, 1, 25)),
        ("2025-02", date(2025, 2, 1), date(2025, 2, 28)),
        ("2024-12", date(2024, 12, 1), date(2024, 12, 31)),
        ("2025-Q1", date(2025, 1, 1), date(2025, 3, 31)),
        (" 2025-W07 ", date(2025, 2, 10), date(2025, 2, 16)),
    ],
)
def test_periods_people_type_are_understood(text: str, start: date, end: date) -> None:
    assert parse_period(text) == (start, end)


@pytest.mark.parametrize("text", ["2025-13", "2025-W54", "2025-PP40", "last week", "2025-Q5", ""])
def test_a_period_that_makes_no_sense_is_one_sentence_listing_the_forms(text: str) -> None:
    with pytest.raises(ConfigError, match=r"is not a day .* or since-directive"):
        parse_period(text)


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ConfigError, match="ends before it starts"):
        parse_period("2025-03-01..2025-02-01")


def test_since_directive_runs_from_the_directive_to_the_weekend_after_the_evidence() -> None:
    period = resolve("since-directive", None, None, directives=[directive()], evidence=EVIDENCE)
    assert (period.start, period.end) == (date(2025, 1, 24), date(2025, 3, 16))
    assert "Sunday after, 2025-03-16" in period.notes[0]


def test_no_period_means_since_the_directive() -> None:
    period = resolve(None, None, None, directives=[directive()], evidence=EVIDENCE)
    assert period.start == date(2025, 1, 24)


def test_a_period_beyond_the_evidence_is_cut_and_says_so() -> None:
    period = resolve("2025-03", None, None, directives=[], evidence=EVIDENCE)
    assert (period.start, period.end) == (date(2025, 3, 1), date(2025, 3, 16))
    period = resolve("2024-11", None, None, directives=[], evidence=EVIDENCE)
    assert period.start == date(2024, 11, 25)
    assert period.notes == ("Evidence starts on 2024-11-25; the period starts there.",)


def test_evidence_ending_midweek_is_not_stretched_over_the_weekend() -> None:
    period = cut_to_evidence(date(2025, 3, 1), date(2025, 3, 31), (EVIDENCE[0], date(2025, 3, 12)))
    assert period.end == date(2025, 3, 12)


def test_an_open_from_or_to_runs_to_the_evidence() -> None:
    period = resolve(None, date(2025, 2, 1), None, directives=[], evidence=EVIDENCE)
    assert (period.start, period.end) == (date(2025, 2, 1), date(2025, 3, 16))


def test_a_period_with_no_evidence_is_one_sentence_naming_what_exists() -> None:
    with pytest.raises(NoEvidence, match="evidence runs from 2024-11-25 to 2025-03-14"):
        resolve("2024-W30", None, None, directives=[], evidence=EVIDENCE)


def test_period_and_from_to_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="either --period or --from/--to"):
        resolve("2025-W07", date(2025, 2, 1), None, directives=[], evidence=EVIDENCE)


def test_since_directive_without_a_directive_says_so() -> None:
    with pytest.raises(ConfigError, match="needs a directive"):
        resolve("since-directive", None, None, directives=[], evidence=EVIDENCE)
