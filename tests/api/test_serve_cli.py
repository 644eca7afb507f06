"""``dutystation serve`` starts the web server with the settings of the environment, and
stops cleanly on SIGINT (Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from api_world import free_port


@pytest.mark.slow
def test_serve_answers_the_api_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DUTYSTATION_DATA_DIR": str(tmp_path / "data"),
        "DUTYSTATION_COOKIE_SECURE": "false",
        "DUTYSTATION_CONFIG": str(tmp_path / "none.toml"),
    }
    command = [sys.executable, "-m", "dutystation", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx2.get(f"{base}/api/v1/auth/me", timeout=2)
                break
            except httpx2.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert answer.status_code == 401
        assert answer.headers["x-frame-options"] == "DENY"
        assert "server" not in answer.headers  # no version banner
        document = httpx2.get(f"{base}/api/v1/openapi.json", timeout=5).json()
        assert "/api/v1/auth/login" in document["paths"]
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=20)
    assert server.returncode == 0
    assert "cookie_secure is off" in err
    assert "Traceback" not in err
