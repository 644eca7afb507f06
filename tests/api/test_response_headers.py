"""RELIABILITY T13 ``response_headers``: a crawl of every HTML and JSON route as every user
of the world and as nobody (tests/api/site_crawl.py over the world of hostile_world.py:
every GET route with real ids, then every link and htmx partial the pages lead to, and the
report downloads), counting answers, not routes.

Pass figure: 100 % of sensitive answers (everything but /static/, which the crawl never
asks for) carry ``Cache-Control: no-store``; 100 % of HTML answers carry a CSP (``default-src
'self'``, no inline script, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``
and ``X-Frame-Options: DENY``. Every answer, JSON included, carries ``nosniff``. Other
methods and error answers are covered by test_errors_and_limits.py.
"""

from __future__ import annotations

import pytest
from site_crawl import Visit

# The crawl is shared with T14 (test_xss_and_unicode_render.py): one worker builds it once.
pytestmark = pytest.mark.xdist_group("hostile_world")


def _share(good: int, total: int) -> str:
    return f"{good}/{total} ({100 * good / max(total, 1):.1f} %)"


def test_the_crawl_reached_every_kind_of_answer(visits: list[Visit]) -> None:
    users = {v.who for v in visits}
    assert "anonymous" in users and len(users) >= 12
    statuses = {v.status for v in visits}
    assert {200, 303, 404} <= statuses, statuses
    kinds = {v.content_type for v in visits}
    assert {"text/html", "application/json", "text/csv"} <= kinds, kinds
    assert len(visits) >= 500, len(visits)


def test_every_sensitive_answer_says_no_store(visits: list[Visit]) -> None:
    sensitive = [v for v in visits if not v.path.startswith("/static/")]
    missing = [
        f"{v.who} {v.path}" for v in sensitive if v.headers.get("cache-control") != "no-store"
    ]
    assert missing == [], f"no-store on {_share(len(sensitive) - len(missing), len(sensitive))}"


def html_problems(visit: Visit) -> list[str]:
    headers = visit.headers
    csp = headers.get("content-security-policy", "")
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in csp.split(";") if part.strip()
    )
    problems = []
    if directives.get("default-src") != "'self'":
        problems.append("default-src")
    if "'unsafe-inline'" in directives.get("script-src", "'unsafe-inline'"):
        problems.append("script-src")
    if directives.get("frame-ancestors") != "'none'":
        problems.append("frame-ancestors")
    if headers.get("x-frame-options") != "DENY":
        problems.append("x-frame-options")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("nosniff")
    return problems


def test_every_html_answer_has_csp_nosniff_and_frame_protection(visits: list[Visit]) -> None:
    pages = [v for v in visits if v.is_html]
    assert len(pages) >= 100, len(pages)
    failing = {f"{v.who} {v.path}": p for v in pages if (p := html_problems(v))}
    assert failing == {}, f"protected: {_share(len(pages) - len(failing), len(pages))}"


def test_every_answer_is_never_sniffed(visits: list[Visit]) -> None:
    unsniffed = [v for v in visits if v.headers.get("x-content-type-options") != "nosniff"]
    assert unsniffed == [], [f"{v.who} {v.path}" for v in unsniffed[:5]]
