"""Presence properties (Hypothesis): the invariants the DuckDB implementation must share."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dutystation.domain.presence import (
    BadgeEvent,
    DirectionMode,
    HoursConvention,
    PresenceSettings,
    debounce,
    presence_by_day,
)
from dutystation.domain.vocabulary import Direction

START = datetime(2025, 3, 3)  # a Monday; streams run over three days

offsets = st.one_of(
    st.integers(0, 3 * 86400 - 1),  # any second
    st.integers(0, 3 * 24 * 60 - 1).map(lambda m: m * 60),  # whole minutes: more collisions
)
directions = st.sampled_from([Direction.IN, Direction.OUT, None])
events = st.lists(
    st.builds(
        lambda s, d, site: BadgeEvent(START + timedelta(seconds=s), d, site),
        offsets,
        directions,
        st.sampled_from(["HQ", "ANNEX"]),
    ),
    max_size=30,
)
settings = st.builds(
    PresenceSettings,
    st.sampled_from(list(HoursConvention)),
    st.sampled_from(list(DirectionMode)),
    st.sampled_from([0.0, 30.0, 60.0, 600.0]),
    st.sampled_from([8.0, 16.0, 24.0]),
)


@given(events, settings)
def test_hours_are_never_negative_nor_more_than_a_day(
    taps: list[BadgeEvent], config: PresenceSettings
) -> None:
    for found in presence_by_day(taps, config).values():
        assert 0 <= found.hours_on_site <= 24
        assert found.present is (found.taps > 0)


@given(events, settings)
def test_every_day_with_a_tap_is_present_and_kept_taps_never_exceed_the_input(
    taps: list[BadgeEvent], config: PresenceSettings
) -> None:
    by_day = presence_by_day(taps, config)
    assert set(by_day) == {t.at.date() for t in taps}
    assert sum(p.taps for p in by_day.values()) <= len(taps)
    assert all(p.present for p in by_day.values())


@given(events, st.sampled_from(list(DirectionMode)), st.sampled_from([0.0, 60.0]))
def test_pairs_never_exceed_first_last(
    taps: list[BadgeEvent], mode: DirectionMode, seconds: float
) -> None:
    pairs = presence_by_day(taps, PresenceSettings(HoursConvention.PAIRS, mode, seconds))
    span = presence_by_day(taps, PresenceSettings(HoursConvention.FIRST_LAST, mode, seconds))
    for day, found in pairs.items():
        assert found.hours_on_site <= span[day].hours_on_site + 1e-9


@given(events, settings, st.randoms(use_true_random=False))
def test_the_order_of_the_input_does_not_matter(
    taps: list[BadgeEvent], config: PresenceSettings, rnd: object
) -> None:
    shuffled = list(taps)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert presence_by_day(shuffled, config) == presence_by_day(taps, config)


@given(events, settings)
def test_debounce_is_idempotent(taps: list[BadgeEvent], config: PresenceSettings) -> None:
    once = debounce(taps, config.debounce_seconds)
    assert debounce(once, config.debounce_seconds) == once
    assert presence_by_day(once, config) == presence_by_day(taps, config)


@given(events, settings)
def test_cutting_at_midnight_keeps_every_paired_hour(
    taps: list[BadgeEvent], config: PresenceSettings
) -> None:
    # Pair hours over a long stream equal those of the stream cut into the days' pieces.
    pairs = PresenceSettings(
        HoursConvention.PAIRS, DirectionMode.READER, config.debounce_seconds, 24.0
    )
    kept = debounce(taps, pairs.debounce_seconds)
    total = 0.0
    open_in: datetime | None = None
    for tap in kept:
        if tap.direction is Direction.IN:
            open_in = tap.at
        elif tap.direction is Direction.OUT:
            if open_in is not None and tap.at - open_in <= timedelta(hours=24):
                total += (tap.at - open_in).total_seconds() / 3600
            open_in = None
    by_day = presence_by_day(taps, pairs)
    assert abs(sum(p.hours_on_site for p in by_day.values()) - total) < 1e-6


@given(st.lists(st.integers(0, 24 * 60 - 1), min_size=2, max_size=12, unique=True))
def test_well_formed_alternation_pairs_sum_its_pairs(minutes: list[int]) -> None:
    moments = sorted(START + timedelta(minutes=m) for m in minutes)
    moments = moments[: len(moments) // 2 * 2]
    taps = [
        BadgeEvent(at, Direction.IN if i % 2 == 0 else Direction.OUT)
        for i, at in enumerate(moments)
    ]
    expected = sum(
        (moments[i + 1] - moments[i]).total_seconds() / 3600 for i in range(0, len(moments), 2)
    )
    day = START.date()
    reader = PresenceSettings(HoursConvention.PAIRS, debounce_seconds=0, max_pair_hours=24)
    alternating = PresenceSettings(
        HoursConvention.PAIRS,
        direction_mode=DirectionMode.ALTERNATING,
        debounce_seconds=0,
        max_pair_hours=24,
    )
    first_last = PresenceSettings(HoursConvention.FIRST_LAST, debounce_seconds=0, max_pair_hours=24)
    found = presence_by_day(taps, reader)[day]
    undirected = presence_by_day([BadgeEvent(t.at) for t in taps], alternating)[day]
    span = presence_by_day(taps, first_last)[day]
    assert abs(found.hours_on_site - expected) < 1e-9
    assert abs(undirected.hours_on_site - expected) < 1e-9
    assert span.hours_on_site == (moments[-1] - moments[0]).total_seconds() / 3600
    assert span.first_in == moments[0] and span.last_out == moments[-1]
