"""Scoring with BFCL's own ``multi_turn_checker``.

Invariant: :func:`score` gives each call a unique model name, because BFCL caches backend
instances in module globals keyed by model name and entry id (and forgets them afterwards).
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from ._bfcl_data import BfclEntry
from ._bfcl_setup import (
    _checker_module,
)

__all__ = ("score",)


# --------------------------------------------------------------------------- scoring

_score_counter = itertools.count()


def score(
    entry: BfclEntry,
    model_calls: Sequence[Sequence[Sequence[str]]],
    *,
    model_name: str | None = None,
) -> dict[str, Any]:
    """Run BFCL's own ``multi_turn_checker`` and return its verdict dict.

    ``model_calls`` holds, per turn, the steps (model requests) of that turn, each a list of the
    call strings the model executed in that step (see :func:`format_call`).  The verdict has
    ``"valid": bool`` and, when invalid, ``"error_type"``/``"error_message"``/``"details"``.
    A fresh unique model name is used per call unless ``model_name`` is given.
    """
    if len(model_calls) != len(entry.ground_truth):
        raise ValueError(
            f"{entry.id}: {len(model_calls)} turns of model calls for "
            f"{len(entry.ground_truth)} ground-truth turns"
        )
    checker = _checker_module()
    name = model_name or f"asyncfc_score_{os.getpid()}_{next(_score_counter)}"
    decoded = [[list(step) for step in turn] for turn in model_calls]
    gt = [list(turn) for turn in entry.ground_truth]
    try:
        verdict: dict[str, Any] = checker.multi_turn_checker(
            decoded, gt, dict(entry.raw), entry.category, name
        )
    finally:
        _forget_cached_instances(name)
    return verdict


def _forget_cached_instances(model_name: str) -> None:
    """Drop the instances BFCL's executor cached in its module globals for ``model_name``."""
    utils = sys.modules.get("bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils")
    if utils is None:
        return
    prefix = re.sub(r"[-./:]", "_", model_name)
    for key in [k for k in vars(utils) if k.startswith(prefix) and k.endswith("_instance")]:
        del vars(utils)[key]
