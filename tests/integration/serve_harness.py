"""The child process of test_api_kill9.py (RELIABILITY T19): ``dutystation serve``,
started ahead of its run so that interpreter start-up does not count. It loads the package
and the app's modules, creates the marker file given as its second argument, waits for a
line on stdin, then runs ``dutystation serve --port PORT`` through the command line's
``main``. Settings come from the environment."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    import uvicorn  # noqa: F401

    import dutystation.api.served  # noqa: F401  (the app, its routes and services)
    from dutystation.cli import _register, main

    _register()
    Path(sys.argv[2]).touch()
    sys.stdin.readline()
    sys.argv = ["dutystation", "serve", "--port", sys.argv[1]]
    main()
