"""Typed exceptions raised to the *developer* (never shown to the model).

Model mistakes and tool failures are not exceptions: they become error results the model
reads.  What remains here are provider failures and protocol violations the loop cannot
recover from by itself.
"""

from __future__ import annotations

__all__ = (
    "AsyncFCError",
    "BackendUnavailableError",
    "ModelAPIError",
    "ModelConnectionError",
    "ModelRateLimitError",
    "ModelResponseError",
    "ModelTimeoutError",
)


class AsyncFCError(Exception):
    """Base class of asyncfc's exceptions."""


class ModelAPIError(AsyncFCError):
    """The provider answered with an error.  ``status`` is the HTTP status when there is one;
    the message is the provider's own."""

    def __init__(self, message: str, *, status: int | None = None, provider: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.provider = provider


class ModelRateLimitError(ModelAPIError):
    """HTTP 429 from the provider (after the SDK's own retries)."""


class ModelConnectionError(ModelAPIError):
    """The provider could not be reached, or the connection broke mid-response."""


class ModelTimeoutError(ModelAPIError):
    """The provider did not answer within the SDK's timeout."""


class ModelResponseError(ModelAPIError):
    """The response could not be understood (malformed body, truncated stream)."""


class BackendUnavailableError(AsyncFCError):
    """An execution backend can no longer run any call (its cluster is gone or was never
    started).  Raised out of the scheduler's block, after every call got its one result."""
