"""Run asyncfc tools on Ray: ``pip install 'asyncfc[ray]'``.

The driver (the process running the :class:`~asyncfc.Agent`, :class:`~asyncfc.Scheduler` or
:class:`~asyncfc.ToolExecutor`) keeps everything that decides: the model requests, argument
decoding and validation of literal arguments, labels and data dependencies, futures and the
delivery of results.  Ray workers only *run* calls:

* :class:`RayBackend`: stateless tools, one Ray task per call, with the resources you ask for
  (``Toolset([...], backend=RayBackend(num_cpus=1))`` or ``tool(fn, backend=...)``).
* :class:`RayActor`: a stateful toolset, one Ray actor per toolset instance; its methods are
  the tools and its state persists across calls (``RayActor(FileSystem).toolset()``).

A call's value stays in the object store (``ToolResult.value`` is its ``ObjectRef``); the
driver receives the rendered, truncated text the model reads.  A call on Ray that references
another call's future gets the ``ObjectRef`` passed on, so large values never travel through
the driver.  Faults become error results (``timeout``, ``cancelled``, ``worker_lost``); a Ray
that is not running raises :class:`RayClusterError`.  ``ray`` is imported by this package
only.  See ``docs/ray.md``.
"""

from ._backend import RayActor as RayActor
from ._backend import RayBackend as RayBackend
from ._backend import RayClusterError as RayClusterError
from ._backend import init as init
from ._worker import Outcome as Outcome

__all__ = ("Outcome", "RayActor", "RayBackend", "RayClusterError", "init")
