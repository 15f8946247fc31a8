"""Tools over unmodified Python callables.

A :class:`Tool` wraps a plain sync or async function without changing it: the function's
signature, type hints and docstring give the JSON schema the model sees, and a pydantic model
derived from the same signature validates the model's arguments before the function runs.

Invariants:

* The wrapped function is never modified; ``Tool`` is callable and forwards to it.
* A parameter annotated :class:`ToolContext` receives the run's read-only context and never
  appears in the schema, so the model cannot set it.
* *Bound* parameters (``bind={"account": acct}``, ``bind={"db": FromContext("db")}``, or the
  keywords fixed by a :func:`functools.partial`) are filled in by the application: they are
  absent from the schema and from validation, and a call that sets one gets an error saying
  the parameter is not settable.  A bound constant is validated against the parameter's
  annotation when the tool is built; a :class:`FromContext` value when each call runs.
* An annotation that has no JSON schema (a plain class) fails when the tool is built with a
  :class:`TypeError` naming the tool, the parameter and the ways out.
* ``isolation="process"`` runs each call in a worker process that is killed at the timeout
  (see :mod:`asyncfc._workers`); the function must then be importable by its module path and
  its arguments, context values and result picklable.
* Validation errors become :class:`ToolArgumentsError` whose message names each offending
  argument and what was expected, so a model can correct its call.
* Resource labels are parsed when the tool is built, so a bad label fails at start-up, not
  in the middle of a run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

import pydantic

from ._binding import BindingError, FromContext
from ._context import (
    ToolArgumentsError,
    ToolContext,
    format_validation_error,
    spec_of,
)
from ._labels import Access
from ._signature import read_signature

if TYPE_CHECKING:
    from ._backends import ExecutionBackend

__all__ = (
    "BindingError",
    "FromContext",
    "Isolation",
    "Tool",
    "ToolArgumentsError",
    "ToolContext",
    "tool",
)

Isolation = Literal["none", "process"]
"""Where a call runs: ``"none"`` (async tools on the event loop, sync tools in a worker
thread) or ``"process"`` (a worker process, killed at the timeout)."""

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


@dataclass(frozen=True, kw_only=True)
class Tool:
    """A callable the model may call, with its schema and its scheduling metadata."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    """The JSON schema (``type: object``) of the arguments, as shown to the model."""
    function: Callable[..., Any]
    access: Access
    """The resources a call reads and writes (see :mod:`asyncfc._labels`)."""
    timeout: float | None = None
    """Seconds a call may run before it becomes a timeout error; ``None`` uses the default."""
    return_direct: bool = False
    """When every call of a batch succeeds on ``return_direct`` tools, the loop may stop."""
    is_async: bool = False
    isolation: Isolation = "none"
    """``"process"``: each call runs in a worker process that is killed at the timeout."""
    backend: ExecutionBackend | None = field(default=None, compare=False)
    """Where calls run (see :mod:`asyncfc._backends`); ``None`` runs them in this process."""
    context_param: str | None = None
    validator: type[pydantic.BaseModel] = field(repr=False)
    positional: tuple[str, ...] = field(default=(), repr=False)
    bound: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Parameter → value the runtime passes (a constant, or a :class:`FromContext`)."""
    bound_checks: Mapping[str, pydantic.TypeAdapter[Any]] = field(default_factory=dict, repr=False)
    """Parameter → validator of its :class:`FromContext` values, applied per call."""
    fixed: frozenset[str] = field(default=frozenset(), repr=False)
    """Parameters the model may not set: bound ones, a ``partial``'s keywords, the context."""
    _no_parameters: bool = field(default=False, init=False, repr=False, compare=False)
    _aliases: Mapping[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Validator field → parameter name, for parameters pydantic cannot name (``_class``)."""

    def __post_init__(self) -> None:
        fields = self.validator.model_fields
        object.__setattr__(self, "_no_parameters", not fields)
        object.__setattr__(
            self, "_aliases", {k: f.alias for k, f in fields.items() if f.alias not in (None, k)}
        )
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"invalid tool name {self.name!r}: use 1-128 letters, digits, '_', '.' or '-'"
            )
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"tool {self.name!r}: timeout must be > 0, got {self.timeout!r}")
        if self.isolation not in ("none", "process"):
            raise ValueError(
                f"tool {self.name!r}: isolation must be 'none' or 'process', got {self.isolation!r}"
            )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        reads: Iterable[str] | None = None,
        writes: Iterable[str] | None = None,
        timeout: float | None = None,
        return_direct: bool = False,
        parameters: Mapping[str, Any] | None = None,
        bind: Mapping[str, Any] | None = None,
        isolation: Isolation = "none",
        backend: ExecutionBackend | None = None,
    ) -> Tool:
        """Wrap ``function``; the schema comes from its signature, hints and docstring.

        ``parameters`` replaces the derived JSON schema (validation still follows the
        signature, less the bound parameters).  With neither ``reads`` nor ``writes`` the tool
        is unlabelled and serializes against every other call.

        ``bind`` fills parameters in for the application: a constant (validated against the
        annotation now) or a :class:`FromContext` (validated per call).  Bound parameters,
        and the keywords a :func:`functools.partial` fixes, are absent from the schema and
        cannot be set by the model.  ``isolation="process"`` runs calls in a worker process;
        ``backend`` runs them elsewhere altogether (see :mod:`asyncfc._backends`).
        """
        signature = read_signature(function, name=name, parameters=parameters, bind=bind)
        return cls(
            name=signature.name,
            description=description if description is not None else signature.summary,
            parameters=signature.parameters,
            function=function,
            access=Access.of(reads=reads, writes=writes),
            timeout=timeout,
            return_direct=return_direct,
            is_async=signature.is_async,
            isolation=isolation,
            backend=backend,
            context_param=signature.context_param,
            validator=signature.validator,
            positional=signature.positional,
            bound=signature.bound,
            bound_checks=signature.bound_checks,
            fixed=signature.fixed,
        )

    @classmethod
    def from_schema(
        cls,
        schema: Mapping[str, Any],
        function: Callable[..., Any],
        *,
        reads: Iterable[str] | None = None,
        writes: Iterable[str] | None = None,
        timeout: float | None = None,
        return_direct: bool = False,
        bind: Mapping[str, Any] | None = None,
        isolation: Isolation = "none",
    ) -> Tool:
        """Wrap ``function`` under an existing OpenAI-style tool definition.

        Accepts ``{"type": "function", "function": {...}}`` or the bare
        ``{"name", "description", "parameters"}``.  The given schema is what the model sees;
        arguments are validated against the function's signature.
        """
        spec = spec_of(schema)
        if "name" not in spec:
            raise ValueError(f"tool schema has no 'name': {dict(schema)!r}")
        params = dict(spec.get("parameters") or {"type": "object", "properties": {}})
        if params.get("type") == "dict":  # BFCL's dialect of JSON schema
            params["type"] = "object"
        return cls.from_function(
            function,
            name=spec["name"],
            description=spec.get("description", ""),
            parameters=params,
            reads=reads,
            writes=writes,
            timeout=timeout,
            return_direct=return_direct,
            bind=bind,
            isolation=isolation,
        )

    def definition(self) -> dict[str, Any]:
        """The provider-neutral definition: ``{"name", "description", "parameters"}``."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": dict(self.parameters),
        }

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validate decoded arguments; return the keyword arguments for the function.

        Raises :class:`ToolArgumentsError` with a model-readable message.
        """
        if not arguments and self._no_parameters:  # nothing to check, nothing to fill in
            return {}
        if self.fixed and not self.fixed.isdisjoint(arguments):
            names = ", ".join(f"'{n}'" for n in arguments if n in self.fixed)
            raise ToolArgumentsError(
                f"invalid arguments for tool '{self.name}': {names} cannot be set "
                "(the application provides it); call the tool without it"
            )
        try:
            model = self.validator.model_validate(arguments)
        except pydantic.ValidationError as exc:
            raise ToolArgumentsError(format_validation_error(self.name, exc)) from None
        # What the model set, plus defaults; the values keep nested models.  With extra
        # arguments forbidden, the instance's ``__dict__`` holds exactly the fields.
        if self._aliases:
            return {self._aliases.get(k, k): v for k, v in model.__dict__.items()}
        return dict(model.__dict__)

    def arguments(
        self, kwargs: Mapping[str, Any], context: ToolContext
    ) -> tuple[list[Any], dict[str, Any]]:
        """``(args, kwargs)`` for the function: validated ``kwargs`` plus bound values and
        the context, positional-only parameters in ``args``.  Raises :class:`BindingError`
        when a :class:`FromContext` value is missing or does not fit its annotation."""
        kw = dict(kwargs)
        for pname, value in self.bound.items():
            if isinstance(value, FromContext):
                kw[pname] = self._provided(pname, value, context)
            else:
                kw[pname] = value
        if self.context_param is not None:
            kw[self.context_param] = context
        if not self.positional:
            return [], kw
        return [kw.pop(p) for p in self.positional], kw

    def _provided(self, pname: str, source: FromContext, context: ToolContext) -> Any:
        try:
            value = source.resolve(context)
        except Exception as exc:
            raise BindingError(
                f"tool '{self.name}': bound parameter '{pname}' has no value in the run's "
                f"context ({type(exc).__name__}: {exc})"
            ) from None
        check = self.bound_checks.get(pname)
        if check is None:
            return value
        try:
            return check.validate_python(value)
        except pydantic.ValidationError as exc:
            raise BindingError(
                f"tool '{self.name}': bound parameter '{pname}' got a value that does not "
                f"fit its annotation: {exc.errors(include_url=False)[0]['msg']}"
            ) from None

    def bind(self, kwargs: Mapping[str, Any], context: ToolContext) -> Callable[[], Any]:
        """A zero-argument callable that runs the function on validated ``kwargs`` (plus
        bound values and the context; see :meth:`arguments`)."""
        if not self.positional and self.context_param is None and not self.bound:
            return functools.partial(self.function, **kwargs)
        args, kw = self.arguments(kwargs, context)
        function = self.function
        return lambda: function(*args, **kw)


@overload
def tool(
    function: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    reads: Iterable[str] | None = None,
    writes: Iterable[str] | None = None,
    timeout: float | None = None,
    return_direct: bool = False,
    bind: Mapping[str, Any] | None = None,
    isolation: Isolation = "none",
    backend: ExecutionBackend | None = None,
) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    reads: Iterable[str] | None = None,
    writes: Iterable[str] | None = None,
    timeout: float | None = None,
    return_direct: bool = False,
    bind: Mapping[str, Any] | None = None,
    isolation: Isolation = "none",
    backend: ExecutionBackend | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    reads: Iterable[str] | None = None,
    writes: Iterable[str] | None = None,
    timeout: float | None = None,
    return_direct: bool = False,
    bind: Mapping[str, Any] | None = None,
    isolation: Isolation = "none",
    backend: ExecutionBackend | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a :class:`Tool`: ``tool(fn)``, ``@tool`` or ``@tool(reads=..., timeout=...)``
    (every option of :meth:`Tool.from_function`)."""

    def make(fn: Callable[..., Any]) -> Tool:
        return Tool.from_function(
            fn,
            name=name,
            description=description,
            reads=reads,
            writes=writes,
            timeout=timeout,
            return_direct=return_direct,
            bind=bind,
            isolation=isolation,
            backend=backend,
        )

    return make(function) if function is not None else make
