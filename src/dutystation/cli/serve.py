"""``dutystation serve``: the web API and dashboard (``dutystation.api.app``) on uvicorn.

The app is built here, once, from the settings; a server database must be current
(``dutystation db upgrade``) and an embedded SQLite one is migrated on first use."""

from __future__ import annotations

import typer
from rich.console import Console

from dutystation.cli import app

console = Console(stderr=True, soft_wrap=True, highlight=False)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Worker processes (each has its own login rate limits)."
    ),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        "--forwarded-allow-ips",
        help="Addresses of reverse proxies whose X-Forwarded-For/-Proto are trusted "
        "(comma-separated); unset: none, the client address is the peer's.",
    ),
) -> None:
    """Serve the JSON API (/api/v1, OpenAPI at /api/v1/openapi.json) and the dashboard."""
    import uvicorn

    from dutystation.settings import load_settings

    settings = load_settings()
    scheme = "https (behind a proxy)" if settings.cookie_secure else "http"
    console.print(f"dutystation serving on {host}:{port} ({scheme}); Ctrl-C stops it")
    if not settings.cookie_secure:
        console.print(
            "warning: cookie_secure is off: session cookies are sent over plain http; "
            "use this only on localhost"
        )
    proxy = forwarded_allow_ips is not None
    uvicorn.run(
        "dutystation.api.served:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=proxy,
        forwarded_allow_ips=forwarded_allow_ips if proxy else None,
        server_header=False,
        log_level="info",
    )
