"""Fixtures of the web tests, shared with tests/web: the seeded world (``world``, a
private copy per test), ``app``, ``client_for(role)`` and ``live_server``. They live in
tests/api_world.py so that tests/web can import them too."""

from hostile_world import hostile_world, visits  # noqa: F401  (T13, T14: built once per worker)

from api_world import (  # noqa: F401
    app,
    client_for,
    live_server,
    world,
    world_template,
)
