"""BFCL's call strings: ``mv(source='a', destination='b')`` to name and arguments and back.

:func:`parse_call` never evaluates code: it accepts one call of a plain name whose arguments
are Python literals.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = (
    "format_call",
    "parse_call",
)


# --------------------------------------------------------------------------- call strings


def parse_call(
    text: str, *, functions: Mapping[str, Callable[..., Any]] | None = None
) -> tuple[str, dict[str, Any]]:
    """Parse ``"mv(source='a', destination='b')"`` into ``("mv", {"source": "a", ...})``.

    Uses :mod:`ast` only: the callee must be a plain name and every argument a Python literal
    (strings, numbers, booleans, ``None``, and lists/tuples/dicts/sets of those, negative
    numbers included).  Positional arguments are mapped to parameter names through the
    signature of ``functions[name]``; without it they raise :class:`ValueError`.
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not a call: {text!r} ({exc.msg})") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"expected one call of a plain function name, got {text!r}")
    name = node.func.id
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise ValueError(f"**kwargs are not supported: {text!r}")
            if kw.arg in kwargs:
                raise ValueError(f"argument {kw.arg!r} given twice: {text!r}")
            kwargs[kw.arg] = ast.literal_eval(kw.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith(("**kwargs", "argument")):
            raise
        raise ValueError(f"arguments of {text!r} are not all literals") from None
    if args:
        fn = (functions or {}).get(name)
        if fn is None:
            raise ValueError(f"{text!r} has positional arguments; pass functions= to name them")
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if len(args) > len(params):
            raise ValueError(f"{text!r}: {name} takes at most {len(params)} positional arguments")
        for param, value in zip(params, args, strict=False):
            if param.name in kwargs:
                raise ValueError(f"{text!r}: argument {param.name!r} given twice")
            kwargs[param.name] = value
        kwargs = {p.name: kwargs[p.name] for p in params if p.name in kwargs} | {
            k: v for k, v in kwargs.items() if k not in {p.name for p in params}
        }
    return name, kwargs


def format_call(name: str, arguments: Mapping[str, Any]) -> str:
    """The BFCL call string for a call: ``name(k=repr(v), ...)`` in argument order."""
    if not name.isidentifier():
        raise ValueError(f"not a Python identifier: {name!r}")
    for key in arguments:
        if not key.isidentifier():
            raise ValueError(f"argument name {key!r} of {name} is not a Python identifier")
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"
