"""Walk the app as a person would, for the header (T13) and rendering (T14) tests: sign in
(the session cookie, as a browser does), then visit every GET route of the app with real
ids, and every link and htmx partial the pages lead to, breadth first, up to a budget.

A visit keeps what the checks need: who, what, the status, the headers and the body.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api_world import World, WorldUser, make_client

# Where the crawl never goes: signing out ends the session being crawled.
NEVER = ("/logout", "/static/", "/api/v1/auth/logout", "/api/v1/auth/oidc")


@dataclass(frozen=True)
class Visit:
    who: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    @property
    def is_html(self) -> bool:
        return self.content_type == "text/html"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "hx-get" or (tag == "a" and name == "href")):
                self.found.append(value)


def links(html: str, base: str) -> list[str]:
    """Same-site paths (with their query) the page links to or loads."""
    parser = _Links()
    parser.feed(html)
    out = []
    for href in parser.found:
        url = urlsplit(urljoin(base, href))
        if url.netloc not in ("", "testserver") or not url.path.startswith("/"):
            continue
        out.append(url.path + (f"?{url.query}" if url.query else ""))
    return out


def signed_in(app: FastAPI, user: WorldUser) -> TestClient:
    client = make_client(app)
    answer = client.post(
        "/api/v1/auth/login", json={"username": user.username, "password": user.password}
    )
    assert answer.status_code == 200, answer.text
    return client


def route_paths(app: FastAPI, values: dict[str, str]) -> list[str]:
    """Every GET route of the app with its path parameters filled in from ``values``."""
    paths = []
    for context in iter_route_contexts(app.routes):
        path = context.path_format or ""
        if "GET" not in (context.methods or {"GET"}) or path.startswith("/static"):
            continue
        paths.append(re.sub(r"{(\w+)(:\w+)?}", lambda m: values.get(m.group(1), "1"), path))
    return sorted(set(paths))


def crawl(
    client: TestClient, who: str, starts: Iterable[str], budget: int, *, downloads: bool
) -> Iterator[Visit]:
    """Visit ``starts`` and what their pages link to, at most ``budget`` pages."""
    queue = deque(starts)
    seen: set[str] = set()
    while queue and len(seen) < budget:
        path = queue.popleft()
        if path in seen or path.startswith(NEVER):
            continue
        if not downloads and path.startswith("/reports/download"):
            continue
        seen.add(path)
        answer = client.get(path, follow_redirects=False)
        visit = Visit(who, path, answer.status_code, dict(answer.headers), answer.content)
        yield visit
        if visit.is_html and answer.status_code == 200:
            queue.extend(links(answer.text, f"https://testserver{path}"))


def crawl_everyone(
    app: FastAPI,
    world: World,
    values: dict[str, str],
    budget: int,
    *,
    downloads_for: frozenset[str] | None = None,
    download_paths: Iterable[str] = (),
) -> list[Visit]:
    """Every user of the world (and nobody signed in) crawling from every GET route and
    the dashboard's first page. ``downloads_for``: who also fetches report downloads
    (None: everyone), starting with ``download_paths``."""
    starts = ["/", *route_paths(app, values)]
    visits: list[Visit] = []
    who: dict[str, TestClient] = {key: signed_in(app, user) for key, user in world.users.items()}
    who["anonymous"] = make_client(app)
    for key, client in who.items():
        fetch = downloads_for is None or key in downloads_for
        first = [*download_paths, *starts] if fetch else starts
        visits.extend(crawl(client, key, first, budget, downloads=fetch))
        client.close()
    return visits
