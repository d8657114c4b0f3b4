"""Imported by each worker of a local cluster as it starts (Dask's ``preload``,
:data:`~amsgrad_theory.engine.cluster.PRELOAD`): the modules a sweep's task runs, and numba's
compiler, so that a worker's first task does not pay for them — the workers start while the
client plans the sweep (:meth:`~amsgrad_theory.engine.cluster.Connection.start`).
"""

from __future__ import annotations

# the sweep's task (run_task) and the kernels' compiler: imported for their side effect, the
# import itself (numba: its own import and its CPU target's registries, ≈ 1 s)
import numba  # noqa: F401

from . import sweep  # noqa: F401
