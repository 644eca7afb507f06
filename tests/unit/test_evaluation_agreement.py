"""The DuckDB evaluation agrees with the pure domain (``decide_status``) on random small
scenarios: a few directives (shares and days, deadlines, expiry, ``counts_at``, not-bound
units, presumed arrangements), employees with changing assignments and gaps, every
schedule kind across federal holidays, T&A rows of every category at the duty station,
elsewhere or nowhere, badge days, exemptions, requests and agreements. Every status,
reason, directive and hour figure of every (employee, period) must be the same."""

from __future__ import annotations

import pytest
from test_evaluation_scenario import mismatches, random_scenario

SEEDS = range(120)
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("chunk", range(4))
def test_sql_and_domain_decide_every_employee_period_alike(chunk: int) -> None:
    problems: list[str] = []
    for seed in SEEDS[chunk::4]:
        problems += [f"seed {seed}: {p}" for p in mismatches(random_scenario(seed))]
    assert problems == [], "\n".join(problems[:20])
