"""asyncfc's benchmark harness: BFCL multi-turn tasks and ComplexFuncBench sequences.

The names here work without the agent loop: loading tasks, building fresh backends and
toolsets with read/write labels, parsing and scoring calls, and replaying ground truth.  The
runs themselves replay plans through :mod:`asyncfc.replay` (``asyncfc-bench bench bfcl``,
:mod:`asyncfc_bench.cli`); ``asyncfc-bench bench frameworks-bfcl`` replays BFCL through
pydantic-ai and the OpenAI Agents SDK on a virtual-time asyncio loop
(:mod:`asyncfc_bench._fw_bench`).  The harness uses only asyncfc's public API.
"""

from ._bfcl_backends import BfclEnvironment as BfclEnvironment
from ._bfcl_backends import make_environment as make_environment
from ._bfcl_backends import make_instances as make_instances
from ._bfcl_backends import snapshot as snapshot
from ._bfcl_backends import to_jsonable as to_jsonable
from ._bfcl_calls import format_call as format_call
from ._bfcl_calls import parse_call as parse_call
from ._bfcl_data import BfclEntry as BfclEntry
from ._bfcl_data import function_docs as function_docs
from ._bfcl_data import load_multi_turn as load_multi_turn
from ._bfcl_dependencies import Replay as Replay
from ._bfcl_dependencies import ReplayedCall as ReplayedCall
from ._bfcl_dependencies import information_dependencies as information_dependencies
from ._bfcl_dependencies import replay_ground_truth as replay_ground_truth
from ._bfcl_labels import bfcl_labels as bfcl_labels
from ._bfcl_labels import label_state_map as label_state_map
from ._bfcl_labels import validate_labels as validate_labels
from ._bfcl_scoring import score as score
from ._bfcl_setup import BACKEND_CLASSES as BACKEND_CLASSES
from ._bfcl_setup import ensure_bfcl_project_root as ensure_bfcl_project_root
from ._bfcl_setup import ensure_model_config as ensure_model_config
from ._cfb_paths import Reference as Reference
from ._cfb_paths import format_path as format_path
from ._cfb_paths import parse_path as parse_path
from ._cfb_paths import parse_reference as parse_reference
from ._cfb_paths import resolve_path as resolve_path
from ._complexfuncbench import CfbCall as CfbCall
from ._complexfuncbench import CfbSequence as CfbSequence
from ._complexfuncbench import convert_references as convert_references
from ._complexfuncbench import ideal_parallelism_summary as ideal_parallelism_summary
from ._complexfuncbench import load_complexfuncbench as load_complexfuncbench
from ._complexfuncbench import load_complexfuncbench_specs as load_complexfuncbench_specs
from ._complexfuncbench import make_mock_tools as make_mock_tools

__all__ = (
    "BACKEND_CLASSES",
    "BfclEntry",
    "BfclEnvironment",
    "CfbCall",
    "CfbSequence",
    "Reference",
    "Replay",
    "ReplayedCall",
    "bfcl_labels",
    "convert_references",
    "ensure_bfcl_project_root",
    "ensure_model_config",
    "format_call",
    "format_path",
    "function_docs",
    "ideal_parallelism_summary",
    "information_dependencies",
    "label_state_map",
    "load_complexfuncbench",
    "load_complexfuncbench_specs",
    "load_multi_turn",
    "make_environment",
    "make_instances",
    "make_mock_tools",
    "parse_call",
    "parse_path",
    "parse_reference",
    "replay_ground_truth",
    "resolve_path",
    "score",
    "snapshot",
    "to_jsonable",
    "validate_labels",
)
