"""What a function's signature, type hints and docstring say a tool over it needs.

:func:`read_signature` is the work of :meth:`Tool.from_function <asyncfc.Tool.from_function>`:
the name, the summary, the JSON schema the model sees and the pydantic model that validates
the model's arguments, and which parameters the application fills in (bound constants,
:class:`~asyncfc.FromContext` values, a :func:`functools.partial`'s keywords, the
:class:`~asyncfc.ToolContext` parameter), which neither the schema nor validation offer.

Invariants (see :mod:`asyncfc._tools` for what they mean to a tool):

* A parameter the application fills in is in :attr:`Signature.fixed`, never in the schema.
* Everything that cannot work fails here, when the tool is built, with a :class:`TypeError`
  or :class:`ValueError` naming the tool: a callable without a name, ``*args``/``**kwargs``,
  a bound name that is no parameter, a hint that cannot be resolved or has no JSON schema.
* A wrapper decides how a call runs: the outermost callable being a coroutine function makes
  the tool async.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

import pydantic
from pydantic_core import PydanticUndefined

from ._binding import bind_value, no_schema_error
from ._context import is_context_annotation, without_properties
from ._docstrings import doc_summary_and_params

__all__ = ("Signature", "read_signature")


@dataclass(frozen=True, kw_only=True)
class Signature:
    """What :func:`read_signature` found (the fields of a :class:`~asyncfc.Tool` it sets)."""

    name: str
    summary: str
    parameters: Mapping[str, Any]
    """The JSON schema the model sees (derived, or the given one less the fixed parameters)."""
    validator: type[pydantic.BaseModel]
    is_async: bool
    context_param: str | None
    positional: tuple[str, ...]
    bound: dict[str, Any]
    bound_checks: dict[str, pydantic.TypeAdapter[Any]]
    fixed: frozenset[str]


def read_signature(
    function: Callable[..., Any],
    *,
    name: str | None,
    parameters: Mapping[str, Any] | None,
    bind: Mapping[str, Any] | None,
) -> Signature:
    """Read ``function`` as :meth:`Tool.from_function <asyncfc.Tool.from_function>`
    describes; ``parameters`` replaces the derived schema."""
    if not callable(function):
        raise TypeError(f"a tool needs a callable, got {type(function).__name__}")
    inner = function.func if isinstance(function, functools.partial) else function
    fn_name = name or getattr(inner, "__name__", None)
    if not fn_name:
        raise ValueError("cannot infer a name for this callable; pass name=")
    summary, param_docs = doc_summary_and_params(inspect.getdoc(inner))
    signature = inspect.signature(function)
    try:
        hints = get_type_hints(inner)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        hints = {}
    bind = dict(bind or {})
    unknown = sorted(set(bind) - set(signature.parameters))
    if unknown:
        raise TypeError(f"tool {fn_name!r}: bind names no parameter: {', '.join(unknown)}")
    partial_keywords = set(function.keywords) if isinstance(function, functools.partial) else set()
    fields: dict[str, Any] = {}
    annotations: dict[str, Any] = {}
    positional: list[str] = []
    context_param: str | None = None
    bound: dict[str, Any] = {}
    bound_checks: dict[str, pydantic.TypeAdapter[Any]] = {}
    for pname, param in signature.parameters.items():
        annotation = hints.get(pname, param.annotation)
        if is_context_annotation(annotation):
            if pname in bind:
                raise TypeError(
                    f"tool {fn_name!r}: parameter {pname!r} receives the ToolContext "
                    "and cannot be bound"
                )
            context_param = pname
            continue
        if pname in partial_keywords and pname not in bind:
            continue  # fixed by the partial, which passes it itself
        if pname in bind:
            if param.kind is param.POSITIONAL_ONLY:
                positional.append(pname)
            bound[pname], check = bind_value(fn_name, pname, annotation, bind[pname])
            if check is not None:
                bound_checks[pname] = check
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
        annotations[pname] = annotation
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
        try:
            schema = validator.model_json_schema()
        except pydantic.PydanticInvalidForJsonSchema:
            raise no_schema_error(fn_name, annotations) from None
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        parameters = schema
    elif bound or partial_keywords:  # a given schema must not offer bound parameters
        parameters = without_properties(parameters, {*bound, *partial_keywords})
    # A wrapper decides how the call runs, not what it wraps: look at the outermost
    # callable first (an async wrapper around a sync function is async).
    is_async = any(
        inspect.iscoroutinefunction(f)
        for f in (function, getattr(function, "__call__", None))  # noqa: B004
    )
    return Signature(
        name=fn_name,
        summary=summary,
        parameters=parameters,
        validator=validator,
        is_async=is_async,
        context_param=context_param,
        positional=tuple(positional),
        bound=bound,
        bound_checks=bound_checks,
        fixed=frozenset({*bound, *partial_keywords, *([context_param] if context_param else [])}),
    )
