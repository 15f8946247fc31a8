"""Shared test configuration: every ``@pytest.mark.anyio`` test runs on asyncio and on trio;
the loopback server and an OpenAI Chat model pointed at it, for the tests that talk HTTP
(defined once in ``tests/loopback_fixtures.py``, shared with the harness's tests)."""

from loopback_fixtures import anyio_backend as anyio_backend
from loopback_fixtures import chat as chat
from loopback_fixtures import server as server
