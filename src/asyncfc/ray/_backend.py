"""The driver side of the Ray backends: submit a call as a Ray task or actor method, wait
for its small outcome, and map every Ray failure to one result.

Invariants:

* The driver fetches only the :class:`~asyncfc.ray._worker.Outcome` (text) of a call; the
  value stays in the object store and the call's ``ToolResult.value`` is its ``ObjectRef``.
  A later call that references it on Ray gets the ``ObjectRef`` passed on, not the value.
* Every wait is bounded: the driver waits in slices of ``poll_interval`` seconds and checks
  that Ray is still up between them, so a cluster that goes away becomes
  :class:`RayClusterError` (an :class:`~asyncfc.BackendUnavailableError`), never a hang.
* A per-call timeout (counted from submission, so waiting for a worker counts) and the
  caller's cancellation both ``ray.cancel`` the call: a queued call never starts; a running
  task gets ``KeyboardInterrupt`` at its next Python bytecode (a call blocked in C, such as
  one long ``time.sleep``, notices only when that returns; ``force_cancel=True`` kills the
  worker instead).  A running *actor* method is not interrupted (Ray does not interrupt
  a sync actor, whose state it would break; the method may poll
  ``ray.get_runtime_context().is_canceled()``); its result is discarded.  Nothing is
  retried: a tool may have side effects, so tasks use ``max_retries=0`` and actors
  ``max_task_retries=0``.
* A dead worker, a dead actor or a lost object become ``worker_lost`` error results.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import anyio
import anyio.to_thread
import ray
import ray.exceptions as rex

from asyncfc._backends import Job
from asyncfc._calls import ErrorKind, ToolResult
from asyncfc._errors import BackendUnavailableError
from asyncfc._futures import FutureReferenceError, map_references
from asyncfc._results import error_result, success_result
from asyncfc._tools import Tool
from asyncfc._toolset import Toolset

from ._worker import Outcome, ToolActor, make_task, method_stub, select_field

__all__ = ("RayActor", "RayBackend", "RayClusterError", "init")

LEAN_DEFAULTS: Mapping[str, Any] = {
    "include_dashboard": False,
    "log_to_driver": False,
    "configure_logging": False,
}


class RayClusterError(BackendUnavailableError):
    """Ray is not running (never started, shut down, or the cluster went away)."""


def init(address: str | None = None, **kwargs: Any) -> None:
    """``ray.init`` with lean defaults (no dashboard, no worker logs on the driver), unless
    Ray is already initialized.  ``address="auto"`` or ``"ray://host:10001"`` joins an
    existing cluster; without an address a local one starts (pass ``num_cpus`` and
    ``object_store_memory`` to keep it small).  Any ``ray.init`` keyword may be given."""
    if ray.is_initialized():
        return
    ray.init(address=address, **{**LEAN_DEFAULTS, **kwargs})


def _require() -> None:
    if not ray.is_initialized():
        raise RayClusterError(
            "Ray is not running: call asyncfc.ray.init() (or ray.init()) before running tools "
            "on Ray, and keep it up until the run ends"
        )


def _on_asyncio() -> bool:
    trio = sys.modules.get("trio")
    return not (trio is not None and trio.lowlevel.in_trio_run())


async def _get(ref: ray.ObjectRef[Any], poll: float) -> Any:
    """``ref``'s value, waiting in slices of ``poll`` s and checking Ray between them."""
    if _on_asyncio():
        while True:
            with anyio.move_on_after(poll):
                return await ref
            _require()
    get = functools.partial(ray.get, ref, timeout=poll)
    while True:  # trio: Ray has no trio integration, so a worker thread waits
        try:
            return await anyio.to_thread.run_sync(get, abandon_on_cancel=True)
        except rex.GetTimeoutError:
            _require()


def _failure(exc: rex.RayError, name: str) -> tuple[ErrorKind, str]:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    if isinstance(exc, rex.TaskCancelledError):
        return "cancelled", f"tool '{name}' was cancelled on Ray"
    if isinstance(exc, rex.RayActorError):
        return "worker_lost", f"the Ray actor of tool '{name}' died; its state is lost ({first})"
    if isinstance(exc, rex.WorkerCrashedError | rex.OutOfMemoryError | rex.NodeDiedError):
        return "worker_lost", f"the Ray worker running tool '{name}' died ({first})"
    if isinstance(exc, rex.ObjectLostError):
        return "worker_lost", f"a value of tool '{name}' was lost with its worker ({first})"
    if isinstance(exc, rex.RayTaskError) and isinstance(exc.cause, FutureReferenceError):
        return "unknown_future", str(exc.cause)  # a remote select step found no such field
    if isinstance(exc, rex.RayTaskError):
        cause = exc.cause
        return "exception", f"tool '{name}' failed on Ray: {type(cause).__name__}: {cause}"
    return "worker_lost", f"tool '{name}' failed on Ray: {type(exc).__name__}: {first}"


class _OnRay:
    """What the stateless and the actor backend share: passing inputs on, waiting, mapping."""

    poll_interval: float
    force_cancel: bool = False
    pass_through: bool = True

    async def fetch(self, value: Any) -> Any:
        """The value behind an ``ObjectRef`` this backend produced (fetched to the driver)."""
        if isinstance(value, ray.ObjectRef):
            _require()
            return await _get(value, self.poll_interval)
        return value

    async def _payload(self, job: Job) -> tuple[Any, ...]:
        """``(arguments, kwargs, numbers, *values)`` for the worker: validated kwargs, or
        the arguments with the referenced values (``ObjectRef``\\ s passed on as they are,
        a field reference to one rewritten to the result of a remote select step)."""
        if job.kwargs is not None:
            return (None, dict(job.kwargs), ())
        inputs: dict[int, Any] = {}
        for n, item in sorted(job.inputs.items()):
            if isinstance(item.value, ray.ObjectRef) and not self.pass_through:
                inputs[n] = await _get(item.value, self.poll_interval)  # via the driver
            elif isinstance(item.value, ray.ObjectRef) or item.backend is None:
                inputs[n] = item.value  # a top-level ObjectRef: Ray resolves it remotely
            else:
                inputs[n] = await item.backend.fetch(item.value)
        arguments = _select_fields(dict(job.arguments), inputs)
        return (arguments, None, tuple(inputs), *inputs.values())

    def _cancel(self, ref: ray.ObjectRef[Any], *, actor: bool) -> None:
        # An error here means the call already finished, or Ray is gone: nothing to stop.
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=self.force_cancel and not actor)

    async def _settle(
        self, job: Job, value: ray.ObjectRef[Any], outcome: ray.ObjectRef[Any], *, actor: bool
    ) -> ToolResult:
        name, timeout = job.tool.name, job.timeout
        try:
            if timeout is None or math.isinf(timeout):
                got: Outcome = await _get(outcome, self.poll_interval)
            else:
                with anyio.move_on_after(timeout) as scope:
                    got = await _get(outcome, self.poll_interval)
                if scope.cancelled_caught:
                    self._cancel(value, actor=actor)
                    return error_result(
                        job.call, "timeout", f"tool '{name}' timed out after {timeout:g} s"
                    )
        except anyio.get_cancelled_exc_class():
            self._cancel(value, actor=actor)
            raise
        except rex.RayError as exc:
            return error_result(job.call, *_failure(exc, name))
        if got.kind is not None:
            return error_result(job.call, got.kind, got.text)
        return success_result(job.call, got.text, value, job.tool.return_direct)


class RayBackend(_OnRay):
    """Runs stateless tools as Ray remote functions, one task per call.

    ``num_cpus``, ``num_gpus``, ``memory`` and ``resources`` (custom resources) are what
    each call's task asks the cluster for; ``options`` passes further ``ray.remote``
    options.  Give a tool its own requirements with its own backend:
    ``tool(fn, backend=RayBackend(num_cpus=2))``.  ``force_cancel=True`` kills the worker
    process on timeout or cancellation (for tools stuck in C code that ignore
    ``KeyboardInterrupt``).  ``pass_through=False`` fetches every referenced value to the
    driver and ships it back (what a backend without references does; for comparison).
    """

    def __init__(
        self,
        *,
        num_cpus: float = 1,
        num_gpus: float = 0,
        memory: int | None = None,
        resources: Mapping[str, float] | None = None,
        options: Mapping[str, Any] | None = None,
        force_cancel: bool = False,
        pass_through: bool = True,
        poll_interval: float = 1.0,
    ) -> None:
        self.pass_through = pass_through
        self.options: dict[str, Any] = {
            "num_cpus": num_cpus,
            "num_gpus": num_gpus,
            **({"memory": memory} if memory is not None else {}),
            **({"resources": dict(resources)} if resources else {}),
            **(options or {}),
            "num_returns": 2,
            "max_retries": 0,
        }
        self.force_cancel = force_cancel
        self.poll_interval = poll_interval
        self._tasks: dict[int, tuple[Tool, Any]] = {}

    def _task(self, tool: Tool) -> Any:
        entry = self._tasks.get(id(tool))
        if entry is None or entry[0] is not tool:
            remote = ray.remote(make_task(tool.function, tool.name)).options(**self.options)
            entry = self._tasks[id(tool)] = (tool, remote)
        return entry[1]

    async def run(self, job: Job) -> ToolResult:
        """Submit the call as a task; see :class:`~asyncfc.ExecutionBackend`."""
        _require()
        arguments, kwargs, numbers, *values = await self._payload(job)
        value, outcome = self._task(job.tool).remote(
            arguments, kwargs, numbers, dict(job.context), job.max_result_chars, *values
        )
        return await self._settle(job, value, outcome, actor=False)


class RayActor(_OnRay):
    """Runs a stateful toolset in one Ray actor: ``factory(*args, **kwargs)`` is built there,
    once, and its methods are the tools, so state persists across calls as in process.

    Restart policy: ``max_restarts=0`` (the default) means a dead actor stays dead, and
    every later call of its tools is a ``worker_lost`` error result, because a restarted
    actor would silently start from fresh state.  With ``max_restarts=n`` Ray rebuilds the
    instance (its constructor runs again, earlier state is gone) and later calls run on it;
    the calls in flight when it died are never retried (``max_task_retries=0``).
    """

    def __init__(
        self,
        factory: type,
        *,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        num_cpus: float | None = None,
        resources: Mapping[str, float] | None = None,
        max_restarts: int = 0,
        max_concurrency: int = 1,
        options: Mapping[str, Any] | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        """Start the actor now (Ray must be running).  ``num_cpus=None`` keeps Ray's actor
        default (placement needs a CPU, running holds none)."""
        _require()
        self.factory = factory
        self.poll_interval = poll_interval
        opts: dict[str, Any] = {
            **({"num_cpus": num_cpus} if num_cpus is not None else {}),
            **({"resources": dict(resources)} if resources else {}),
            **(options or {}),
            "max_restarts": max_restarts,
            "max_task_retries": 0,
            "max_concurrency": max_concurrency,
        }
        self.handle: Any = ray.remote(ToolActor).options(**opts).remote(factory, args, kwargs or {})

    def toolset(
        self,
        methods: Iterable[str] | None = None,
        *,
        labels: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        timeouts: Mapping[str, float] | None = None,
    ) -> Toolset:
        """A toolset of the instance's methods (``methods``, or every public method),
        whose calls run in this actor; ``labels`` maps a method name to
        ``{"reads": [...], "writes": [...]}``."""
        names = list(methods) if methods is not None else _public_methods(self.factory)
        labels, timeouts = labels or {}, timeouts or {}
        return Toolset(
            [
                Tool.from_function(
                    method_stub(self.factory, n),
                    name=n,
                    reads=labels.get(n, {}).get("reads"),
                    writes=labels.get(n, {}).get("writes"),
                    timeout=timeouts.get(n),
                    backend=self,
                )
                for n in names
            ]
        )

    async def run(self, job: Job) -> ToolResult:
        """Call the method in the actor; see :class:`~asyncfc.ExecutionBackend`."""
        _require()
        arguments, kwargs, numbers, *values = await self._payload(job)
        value, outcome = self.handle.call.options(num_returns=2).remote(
            job.tool.name,
            arguments,
            kwargs,
            numbers,
            dict(job.context),
            job.max_result_chars,
            *values,
        )
        return await self._settle(job, value, outcome, actor=True)

    def kill(self) -> None:
        """Stop the actor now (without restart); later calls become ``worker_lost``."""
        if ray.is_initialized():
            ray.kill(self.handle, no_restart=True)


def _public_methods(cls: type) -> list[str]:
    return [
        n
        for n, member in inspect.getmembers(cls, inspect.isfunction)
        if not n.startswith("_") and not isinstance(inspect.getattr_static(cls, n), staticmethod)
    ]


SELECTED = 10**15
"""Numbers from here on name the fields remote select steps took out of a value; they can
never collide with a future's number."""

_select: Any = None


def _select_fields(arguments: Any, inputs: dict[int, Any]) -> Any:
    """``arguments`` with each ``future_n.<path>`` whose value is an ``ObjectRef`` replaced
    by a reference to the result of a tiny remote step that selects the field; the step
    runs where Ray places it (by locality, next to the value), so only the field moves on.
    ``inputs`` gains the steps' ``ObjectRef``\\ s under their new numbers."""
    chosen: dict[str, int] = {}

    def step(number: int, path: str, text: str) -> str:
        source = inputs.get(number)
        if not path or not isinstance(source, ray.ObjectRef):
            return text
        if text not in chosen:
            global _select
            if _select is None:
                _select = ray.remote(select_field).options(num_cpus=0, max_retries=0)
            chosen[text] = SELECTED + len(chosen)
            inputs[chosen[text]] = _select.remote(source, path, text)
        return f"future_{chosen[text]}"

    return map_references(arguments, step)
