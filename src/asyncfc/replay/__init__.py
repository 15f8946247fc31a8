"""Replay recorded conversations through the agent loop, in every mode, side by side.

A :class:`Plan` is a conversation's user prompts and, per prompt, the calls a correct model
makes (:class:`PlannedCall`), each with the earlier results it needs.  :func:`replay_script`
turns a plan into a :class:`~asyncfc.ScriptedModel` script that plays it the way a model would
under a given mode; :func:`replay_modes` runs it under every mode on fresh tools
(:class:`Environment`), with simulated decoding (:class:`DecodeModel`) and tool latency
(:class:`Latency`, :func:`with_latency`), and returns one :class:`ModeOutcome` per mode with
the task's bounds (:class:`TaskBound`); :func:`summarise` reduces many tasks to one row per
mode.  The BFCL and ComplexFuncBench harness (the ``asyncfc-bench`` project) is built on this
package.  Your own recorded OpenAI-format conversations replay with
:func:`replay_conversations` (:func:`load_conversations`, :func:`plan_from_openai_messages`;
the command line is :func:`asyncfc.replay._command.main`), and the replayed model's
behaviour is :class:`Behaviour` (batching rate p, reference rate q, inline await rate r,
await first).  A plan by
hand::

    plan = Plan(prompts=["tidy up"], turns=[[PlannedCall(name="ls", arguments={})]])
    outcomes = await replay_modes(plan, lambda: Environment(toolset=my_tools()))
"""

from ._bounds import TaskBound as TaskBound
from ._bounds import task_bound as task_bound
from ._conversations import ReplayReport as ReplayReport
from ._conversations import load_conversations as load_conversations
from ._conversations import replay_conversations as replay_conversations
from ._latency import Latency as Latency
from ._latency import LatencyKind as LatencyKind
from ._latency import SyncTools as SyncTools
from ._latency import with_latency as with_latency
from ._options import add_behaviour_arguments as add_behaviour_arguments
from ._options import behaviour_from_arguments as behaviour_from_arguments
from ._plan import BATCHING_POLICIES as BATCHING_POLICIES
from ._plan import ArgumentsHook as ArgumentsHook
from ._plan import BatchingPolicy as BatchingPolicy
from ._plan import Behaviour as Behaviour
from ._plan import ConflictTest as ConflictTest
from ._plan import Plan as Plan
from ._plan import PlannedCall as PlannedCall
from ._plan import ReadTest as ReadTest
from ._plan import replay_script as replay_script
from ._recorded import MIN_MATCH as MIN_MATCH
from ._recorded import RecordedConversation as RecordedConversation
from ._recorded import plan_from_openai_messages as plan_from_openai_messages
from ._runner import MODES as MODES
from ._runner import STRETCH_TOLERANCE as STRETCH_TOLERANCE
from ._runner import DecodeModel as DecodeModel
from ._runner import Environment as Environment
from ._runner import ModeOutcome as ModeOutcome
from ._runner import label_conflicts as label_conflicts
from ._runner import label_reads as label_reads
from ._runner import replay_modes as replay_modes
from ._summary import summarise as summarise

__all__ = (
    "BATCHING_POLICIES",
    "MIN_MATCH",
    "MODES",
    "STRETCH_TOLERANCE",
    "ArgumentsHook",
    "BatchingPolicy",
    "Behaviour",
    "ConflictTest",
    "DecodeModel",
    "Environment",
    "Latency",
    "LatencyKind",
    "ModeOutcome",
    "Plan",
    "PlannedCall",
    "ReadTest",
    "RecordedConversation",
    "ReplayReport",
    "SyncTools",
    "TaskBound",
    "add_behaviour_arguments",
    "behaviour_from_arguments",
    "label_conflicts",
    "label_reads",
    "load_conversations",
    "plan_from_openai_messages",
    "replay_conversations",
    "replay_modes",
    "replay_script",
    "summarise",
    "task_bound",
    "with_latency",
)
