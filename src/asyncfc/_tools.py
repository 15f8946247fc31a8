"""Tools over unmodified Python callables.

A :class:`Tool` wraps a plain sync or async function without changing it: the function's
signature, type hints and docstring give the JSON schema the model sees, and a pydantic model
derived from the same signature validates the model's arguments before the function runs.

Invariants:

* The wrapped function is never modified; ``Tool`` is callable and forwards to it.
* A parameter annotated :class:`ToolContext` receives the run's read-only context and never
  appears in the schema, so the model cannot set it.
* Validation errors become :class:`ToolArgumentsError` whose message names each offending
  argument and what was expected, so a model can correct its call.
* Resource labels are parsed when the tool is built, so a bad label fails at start-up, not
  in the middle of a run.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, NoneType, UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints, overload

import pydantic
from pydantic_core import PydanticUndefined

from ._labels import Access

if TYPE_CHECKING:
    from ._backends import ExecutionBackend

__all__ = ("Tool", "ToolArgumentsError", "ToolContext", "Toolset", "tool")

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


class ToolContext(Mapping[str, Any]):
    """An immutable mapping handed to tools that declare a parameter annotated with it.

    It is shared by concurrent calls, which is safe because nobody can change it.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: Mapping[str, Any] = MappingProxyType(dict(data or {}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ToolContext({dict(self._data)!r})"


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool; the message is written for the model."""


_ARGS_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
)
_SECTION = re.compile(r"([A-Z][A-Za-z ]*):")
_REST_PARAM = re.compile(r":param\s+(?:[^:]+\s)?(\w+):\s*(.*)")
_GOOGLE_PARAM = re.compile(r"(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")


def _doc_summary_and_params(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into its description and per-parameter texts.

    Understands Google style (``Args:`` / ``name (type): text``) and reST (``:param name: text``).
    The description is the prose outside any section: ``Returns:``, ``Raises:``, ``:returns:``
    and the like are left out, as their text describes the output, not how to call the tool.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    params: dict[str, str] = {}
    summary: list[str] = []
    section: str | None = None  # None (description), "args", "other" (a section to skip)
    current: str | None = None  # the parameter whose text continues on the next line
    arg_indent = ""
    for line in lines:
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        rest = _REST_PARAM.match(stripped)
        if rest:
            section, current = "other", rest.group(1)
            params[current] = rest.group(2)
            continue
        if stripped.startswith(":"):  # another reST field (:returns:, :type x:, :raises:)
            section, current = "other", None
            continue
        header = _SECTION.fullmatch(stripped) if not indent else None
        if header:
            section = "args" if header.group(1).lower() in _ARGS_SECTIONS else "other"
            current, arg_indent = None, ""
            continue
        if not stripped:
            if section is None:
                summary.append(line)
            continue
        if section is not None and not indent:  # text back at the margin ends a section
            section, current = None, None
        if section == "args":
            m = _GOOGLE_PARAM.match(stripped)
            if m and (not arg_indent or indent == arg_indent):
                arg_indent = indent
                current = m.group(1).lstrip("*")
                params[current] = m.group(2)
            elif current:
                params[current] = f"{params[current]} {stripped}".strip()
            continue
        if section == "other":
            if current:  # continuation of a reST :param: text
                params[current] = f"{params[current]} {stripped}".strip()
            continue
        summary.append(line)
    return "\n".join(summary).strip(), params


def _is_context_annotation(annotation: Any) -> bool:
    """``ToolContext``, or ``ToolContext | None`` for a parameter with a ``None`` default."""
    if annotation is ToolContext:
        return True
    if get_origin(annotation) in (Union, UnionType):
        return [a for a in get_args(annotation) if a is not NoneType] == [ToolContext]
    return False


def _format_validation_error(tool_name: str, exc: pydantic.ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        if err["type"] == "missing":
            problems.append(f"argument '{loc}' is required but missing")
        elif err["type"] == "extra_forbidden":
            problems.append(f"argument '{loc}' is not a parameter of this tool")
        else:
            got = err.get("input")
            problems.append(f"argument '{loc}': {err['msg']} (got {got!r})")
    return f"invalid arguments for tool '{tool_name}': " + "; ".join(problems)


def _spec(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The function spec of ``{"type": "function", "function": {...}}`` or of the bare form."""
    if schema.get("type") == "function":
        inner: Mapping[str, Any] = schema.get("function", schema)
        return inner
    return schema


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
    context_param: str | None = None
    backend: ExecutionBackend | None = field(default=None, compare=False)
    """Where calls run (see :mod:`asyncfc._backends`); ``None`` runs them in this process."""
    validator: type[pydantic.BaseModel] = field(repr=False)
    positional: tuple[str, ...] = field(default=(), repr=False)
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
        backend: ExecutionBackend | None = None,
    ) -> Tool:
        """Wrap ``function``; the schema comes from its signature, hints and docstring.

        ``parameters`` replaces the derived JSON schema (validation still follows the
        signature).  With neither ``reads`` nor ``writes`` the tool is unlabelled and
        serializes against every other call.  ``backend`` runs its calls elsewhere (see
        :mod:`asyncfc._backends`).
        """
        if not callable(function):
            raise TypeError(f"a tool needs a callable, got {type(function).__name__}")
        fn_name = name or getattr(function, "__name__", None)
        if not fn_name:
            raise ValueError("cannot infer a name for this callable; pass name=")
        summary, param_docs = _doc_summary_and_params(inspect.getdoc(function))
        signature = inspect.signature(function)
        try:
            hints = get_type_hints(function)
        except Exception:  # unresolvable forward references: fall back to raw annotations
            hints = {}
        fields: dict[str, Any] = {}
        positional: list[str] = []
        context_param: str | None = None
        for pname, param in signature.parameters.items():
            annotation = hints.get(pname, param.annotation)
            if _is_context_annotation(annotation):
                context_param = pname
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(
                    f"tool {fn_name!r}: *args/**kwargs cannot be described to a model; "
                    "declare named parameters"
                )
            if param.kind is param.POSITIONAL_ONLY:
                positional.append(pname)
            if annotation is inspect.Parameter.empty:
                annotation = Any
            default = PydanticUndefined if param.default is param.empty else param.default
            # pydantic reserves names with a leading underscore: such a parameter (BFCL has
            # ``_class``) gets an internal field name and keeps its own name as the alias.
            key = pname
            while key.startswith("_") or key in fields:
                key = f"param{key}"
            fields[key] = (
                annotation,
                pydantic.Field(
                    default=default,
                    description=param_docs.get(pname),
                    alias=pname if key != pname else None,
                ),
            )
        validator = pydantic.create_model(
            f"{fn_name.replace('.', '_').replace('-', '_')}_arguments",
            __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True),
            **fields,
        )
        try:  # fail now, not at the first call, when a hint names an unreachable type
            validator.model_rebuild()
        except pydantic.PydanticUndefinedAnnotation as exc:
            raise TypeError(
                f"tool {fn_name!r}: cannot resolve the type hint {exc.name!r}; "
                "define the type at module level of the tool's module"
            ) from None
        if parameters is None:
            schema = validator.model_json_schema()
            schema.pop("title", None)
            for prop in schema.get("properties", {}).values():
                prop.pop("title", None)
            parameters = schema
        # A wrapper decides how the call runs, not what it wraps: look at the outermost
        # callable first (an async wrapper around a sync function is async).
        is_async = any(
            inspect.iscoroutinefunction(f)
            for f in (function, getattr(function, "__call__", None))  # noqa: B004
        )
        return cls(
            name=fn_name,
            description=description if description is not None else summary,
            parameters=parameters,
            function=function,
            access=Access.of(reads=reads, writes=writes),
            timeout=timeout,
            return_direct=return_direct,
            is_async=is_async,
            context_param=context_param,
            validator=validator,
            positional=tuple(positional),
            backend=backend,
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
    ) -> Tool:
        """Wrap ``function`` under an existing OpenAI-style tool definition.

        Accepts ``{"type": "function", "function": {...}}`` or the bare
        ``{"name", "description", "parameters"}``.  The given schema is what the model sees;
        arguments are validated against the function's signature.
        """
        spec = _spec(schema)
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
        try:
            model = self.validator.model_validate(arguments)
        except pydantic.ValidationError as exc:
            raise ToolArgumentsError(_format_validation_error(self.name, exc)) from None
        # What the model set, plus defaults; the values keep nested models.  With extra
        # arguments forbidden, the instance's ``__dict__`` holds exactly the fields.
        if self._aliases:
            return {self._aliases.get(k, k): v for k, v in model.__dict__.items()}
        return dict(model.__dict__)

    def bind(self, kwargs: Mapping[str, Any], context: ToolContext) -> Callable[[], Any]:
        """A zero-argument callable that runs the function on validated ``kwargs``."""
        if not self.positional and self.context_param is None:
            return functools.partial(self.function, **kwargs)
        args = [kwargs[p] for p in self.positional]
        kw = {k: v for k, v in kwargs.items() if k not in self.positional}
        if self.context_param is not None:
            kw[self.context_param] = context
        function = self.function
        return lambda: function(*args, **kw)


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    reads: Iterable[str] | None = None,
    writes: Iterable[str] | None = None,
    timeout: float | None = None,
    return_direct: bool = False,
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
    backend: ExecutionBackend | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a :class:`Tool`: ``tool(fn)``, ``@tool`` or ``@tool(reads=..., timeout=...)``."""

    def make(fn: Callable[..., Any]) -> Tool:
        return Tool.from_function(
            fn,
            name=name,
            description=description,
            reads=reads,
            writes=writes,
            timeout=timeout,
            return_direct=return_direct,
            backend=backend,
        )

    return make(function) if function is not None else make


class Toolset:
    """An ordered, name-unique collection of tools."""

    def __init__(
        self,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        backend: ExecutionBackend | None = None,
    ) -> None:
        """``backend`` becomes the backend of every tool added without one of its own."""
        self._tools: dict[str, Tool] = {}
        self.backend = backend
        for t in tools:
            self.add(t)

    def add(self, item: Tool | Callable[..., Any]) -> Tool:
        """Add a tool (plain callables are wrapped with :meth:`Tool.from_function`); a tool
        without a backend gets the toolset's."""
        t = item if isinstance(item, Tool) else Tool.from_function(item)
        if t.backend is None and self.backend is not None:
            t = dataclasses.replace(t, backend=self.backend)
        if t.name in self._tools:
            raise ValueError(f"duplicate tool name {t.name!r}")
        self._tools[t.name] = t
        return t

    @classmethod
    def from_openai(
        cls,
        schemas: Iterable[Mapping[str, Any]],
        functions: Mapping[str, Callable[..., Any]],
        *,
        labels: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        timeouts: Mapping[str, float] | None = None,
    ) -> Toolset:
        """Build from OpenAI-style tool JSON plus a name → callable map.

        ``labels`` maps a tool name to ``{"reads": [...], "writes": [...]}``; tools not in it
        are unlabelled.  Every schema needs a callable and every callable a schema.
        """
        labels = labels or {}
        timeouts = timeouts or {}
        out = cls()
        seen: set[str] = set()
        for schema in schemas:
            spec = _spec(schema)
            name = str(spec.get("name"))
            if name not in functions:
                raise ValueError(f"no callable given for tool schema {name!r}")
            lab = labels.get(name, {})
            out.add(
                Tool.from_schema(
                    schema,
                    functions[name],
                    reads=lab.get("reads"),
                    writes=lab.get("writes"),
                    timeout=timeouts.get(name),
                )
            )
            seen.add(name)
        extra = sorted(set(functions) - seen)
        if extra:
            raise ValueError(f"callables without a schema: {', '.join(extra)}")
        return out

    def replace(self, name: str, **changes: Any) -> Tool:
        """Replace tool ``name`` with a copy carrying ``changes`` (e.g. ``timeout=2``)."""
        if "reads" in changes or "writes" in changes:
            changes["access"] = Access.of(
                reads=changes.pop("reads", None), writes=changes.pop("writes", None)
            )
        new = dataclasses.replace(self[name], **changes)
        self._tools[name] = new
        return new

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or ``None``."""
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        """The tool names, in order."""
        return list(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        """Provider-neutral definitions of every tool, in order."""
        return [t.definition() for t in self._tools.values()]
