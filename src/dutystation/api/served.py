"""The app as ``dutystation serve``'s workers build it: ``create_app``, then everything made
at start-up frozen out of the garbage collector's reach.

A worker starts with some 270,000 objects (modules, the schema, the routes, the policy) that
live as long as it does; a full collection walks all of them, and took 0.3 s on the bench
machine, during which that worker answers nothing: the slowest requests of a load test
were the ones waiting behind it. ``gc.freeze`` moves them to a generation no collection
visits; what requests create is collected as before. Tests build apps with ``create_app``
and freeze nothing.
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from dutystation.api.app import create_app


def create_served_app() -> FastAPI:
    app = create_app()
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    return app
