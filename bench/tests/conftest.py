"""Shared configuration of the harness tests: ``@pytest.mark.anyio`` tests run on asyncio and
on trio, and the loopback HTTP server of the library's tests (``tests/loopback.py``, on the
path through the root ``pythonpath`` setting) serves the real-model paths through the
official SDK.  The fixtures are the library's own (``tests/loopback_fixtures.py``)."""

from loopback_fixtures import anyio_backend as anyio_backend
from loopback_fixtures import chat as chat
from loopback_fixtures import server as server
