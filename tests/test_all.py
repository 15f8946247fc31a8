"""The public API: ``__all__`` lists exactly the public names, and every listed name exists."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from types import ModuleType

import pytest

import asyncfc


def _public_modules() -> list[ModuleType]:
    found = [asyncfc]
    for info in pkgutil.walk_packages(asyncfc.__path__, prefix="asyncfc."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            found.append(importlib.import_module(info.name))
        except ImportError:  # a public module whose optional extra is not installed
            continue
    return found


def _own_public_names(module: ModuleType) -> set[str]:
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, ModuleType):
            continue
        home = getattr(value, "__module__", None) or module.__name__
        if home == module.__name__ or home.startswith(module.__name__ + "."):
            names.add(name)
    return names


@pytest.mark.parametrize("module", _public_modules(), ids=lambda m: m.__name__)
def test_all_matches_the_public_names(module: ModuleType) -> None:
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module.__name__} has no __all__"
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{module.__name__}.__all__ names that do not exist: {missing}"
    unlisted = sorted(_own_public_names(module) - set(exported))
    assert unlisted == [], f"public names missing from {module.__name__}.__all__: {unlisted}"


def test_foundation_names_are_exported() -> None:
    for name in ("Tool", "Toolset", "ToolExecutor", "ToolCall", "ToolResult", "Trace", "tool"):
        assert name in asyncfc.__all__


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from asyncfc import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(asyncfc.__all__)


def _documented(obj: object) -> bool:
    """An own docstring: not inherited, and not the signature a dataclass writes itself."""
    doc = vars(obj).get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if not doc or not doc.strip():
        return False
    name = getattr(obj, "__name__", "")
    return not (isinstance(obj, type) and doc.startswith(f"{name}("))


def _undocumented(module: ModuleType) -> list[str]:
    missing = []
    for name in module.__all__:
        value = getattr(module, name)
        if not (isinstance(value, type) or callable(value)) or not getattr(
            value, "__module__", ""
        ).startswith("asyncfc"):
            continue  # constants and type aliases are documented where they are defined
        if not _documented(value):
            missing.append(name)
        if not isinstance(value, type):
            continue
        fields = (
            {f.name for f in dataclasses.fields(value)}
            if dataclasses.is_dataclass(value)
            else set()
        )
        for attr, member in vars(value).items():
            if attr.startswith("_") or attr in fields:  # fields are documented where declared
                continue
            target = member.fget if isinstance(member, property) else member
            if isinstance(target, classmethod | staticmethod):
                target = target.__func__
            if callable(target) and not isinstance(target, type) and not _documented(target):
                missing.append(f"{name}.{attr}")
    return missing


@pytest.mark.parametrize("module", _public_modules(), ids=lambda m: m.__name__)
def test_every_public_class_and_function_has_a_docstring(module: ModuleType) -> None:
    assert _undocumented(module) == []
