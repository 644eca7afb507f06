"""Browser tests: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``,
installed by ``.ci/run``; Playwright's own browser downloads are not used) against the
app served by ``live_server`` (uvicorn in a thread, tests/api_world.py).

The world here is the API tests' world plus evidence: two weeks of T&A hours for everyone
from 2025-02-24, evaluated into the snapshot, so statuses and component figures exist
(the ``reevaluate`` fixture evaluates again after a change). Without Chromium the tests
skip and say why, unless ``DUTYSTATION_REQUIRE_BROWSER=1`` (CI) turns that into a failure.

Every page a test visits can be saved with ``shoot(page, name)`` into
``tests/web/artifacts/`` (gitignored); the folder is printed at the end of the run.
Console errors and Content-Security-Policy violations fail the test that caused them.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from api_world import (  # noqa: F401
    PEOPLE,
    LiveServer,
    World,
    app,
    live_server,
    make_client,
    world_settings,
    world_template,
)
from dutystation.bootstrap import bootstrap
from dutystation.ingest.fields import ImportKind
from dutystation.services.importing import run_import
from dutystation.services.snapshot import refresh_snapshot

CHROMIUM = Path(os.environ.get("DUTYSTATION_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_ENV = "DUTYSTATION_REQUIRE_BROWSER"
ARTIFACTS = Path(__file__).parent / "artifacts"
POLICIES = Path(__file__).parents[2] / "policies"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Two weeks of evidence after the full-compliance deadline of US-RTO-2025 (2025-02-21).
EVIDENCE_START = date(2025, 2, 24)
EVIDENCE_DAYS = 12
# Who is on site on which weekdays (0 = Monday); everyone else teleworks.
ON_SITE_DAYS = {"DIR": range(5), "MGR1": range(5), "W2": (0, 1, 2), "BMGR": range(5)}


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the browser tests need Playwright (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _browser_missing()
    if missing is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        raise pytest.UsageError(f"{missing} ({REQUIRE_ENV}=1)")
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=missing))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ARTIFACTS.is_dir() and any(ARTIFACTS.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {ARTIFACTS}")


def _timecards(path: Path) -> Path:
    rows = []
    for n in range(EVIDENCE_DAYS):
        day = EVIDENCE_START + timedelta(days=n)
        if day.weekday() >= 5:
            continue
        for employee_id, *_rest, arrangement, _boss in PEOPLE:
            site = "FIELD-B" if employee_id in ("BMGR", "B1") else "HQ"
            on_site = day.weekday() in ON_SITE_DAYS.get(employee_id, ())
            on_site = on_site or arrangement == "onsite"
            code = "onsite" if on_site else "telework_routine"
            rows.append((employee_id, day.isoformat(), code, "8", site if on_site else ""))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["employee_id", "date", "code", "hours", "site_id"])
        writer.writerows(rows)
    return path


class WebWorld(World):
    """The world with its own policies folder: the government-wide order only (the demo's
    department memo names org units this world does not have)."""

    def settings(self, **overrides: Any) -> Any:
        return world_settings(self.data_dir, policies_dir=self.data_dir / "policies", **overrides)


def _policies(data_dir: Path) -> None:
    folder = data_dir / "policies"
    folder.mkdir()
    shutil.copy(POLICIES / "2025-01-20-return-to-in-person-work.toml", folder)


@pytest.fixture(scope="session")
def evidence_template(
    world_template: World,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    """The API world plus two weeks of T&A hours, built once per session."""
    root = tmp_path_factory.mktemp("web-world")
    data_dir = root / "data"
    shutil.copytree(world_template.data_dir, data_dir)
    _policies(data_dir)
    made = WebWorld(data_dir=data_dir, users=dict(world_template.users))
    runtime = bootstrap(made.settings())
    run_import(runtime, ImportKind.TIMECARDS, [_timecards(root / "timecards.csv")])
    refresh_snapshot(runtime)
    runtime.engine.dispose()
    return made


@pytest.fixture
def reevaluate(world: World) -> Callable[[], None]:
    """Evaluate the served world again (what ``dutystation evaluate --refresh`` does after
    a change: the status pages read the snapshot, not the live tables)."""

    def again() -> None:
        runtime = bootstrap(world.settings())
        refresh_snapshot(runtime)
        runtime.engine.dispose()

    return again


@pytest.fixture
def world(evidence_template: World, tmp_path: Path) -> World:
    """A private copy of the world with evidence (``live_server`` serves it)."""
    data_dir = tmp_path / "data"
    shutil.copytree(evidence_template.data_dir, data_dir)
    return WebWorld(data_dir=data_dir, users=dict(evidence_template.users))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Visitor:
    """One person at one browser: a page of their own, its console problems, and the
    screenshots taken of it."""

    def __init__(self, browser: Any, server: LiveServer, *, mobile: bool = False) -> None:
        size = {"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900}
        self.context = browser.new_context(
            base_url=server.base_url, viewport=size, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.server = server

    def _console(self, message: Any) -> None:
        # 4xx answers a test asks for on purpose (a 404 page) are logged by Chromium as
        # "Failed to load resource"; everything else that is an error counts.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(message.text)

    def sign_in(self, key: str) -> None:
        user = self.server.world.users[key]
        self.page.goto("/login")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(user.password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.page.wait_for_url("**/login")

    def shoot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visitor(
    browser: Any,
    live_server: LiveServer,  # noqa: F811
) -> Iterator[Callable[..., Visitor]]:
    """``visitor()``: a fresh browser context (no cookies) on the live server; each
    fails its test if the pages logged errors (CSP violations included)."""
    made: list[Visitor] = []

    def make(*, mobile: bool = False) -> Visitor:
        made.append(Visitor(browser, live_server, mobile=mobile))
        return made[-1]

    yield make
    problems = [p for v in made for p in v.problems]
    for each in made:
        each.close()
    assert not problems, f"the browser logged errors: {problems}"
