"""Parameter texts from docstrings, so a tool's schema can describe each parameter.

Google style (``Args:`` / ``name (type): text``) and reST (``:param name: text``) are read.
The description a model sees is the prose outside any section; ``Returns:``, ``Raises:``,
``:returns:`` and the like describe the output, not how to call the tool, so they are left out.
A reST field's text runs on over the following lines, indented or at the margin, up to a blank
line or the next field.
"""

from __future__ import annotations

import inspect
import re

__all__ = ("doc_summary_and_params",)

_ARGS_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
)
_SECTION = re.compile(r"([A-Z][A-Za-z ]*):")
_REST_PARAM = re.compile(r":param\s+(?:[^:]+\s)?(\w+):\s*(.*)")
_GOOGLE_PARAM = re.compile(r"(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")


def doc_summary_and_params(doc: str | None) -> tuple[str, dict[str, str]]:
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
    rest_field = False  # inside a reST field: it runs on, at any indent, to a blank line
    arg_indent = ""
    for line in lines:
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        rest = _REST_PARAM.match(stripped)
        if rest:
            section, current, rest_field = "other", rest.group(1), True
            params[current] = rest.group(2)
            continue
        if stripped.startswith(":"):  # another reST field (:returns:, :type x:, :raises:)
            section, current, rest_field = "other", None, True
            continue
        if rest_field and stripped:  # a reST field's text continues, even at the margin
            if current:
                params[current] = f"{params[current]} {stripped}".strip()
            continue
        rest_field = False
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
            continue
        summary.append(line)
    return "\n".join(summary).strip(), params
