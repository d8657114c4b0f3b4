"""The engine: runs a variant on a problem in an arithmetic and keeps streaming statistics.

* :func:`~.simulate.simulate` — one (batched) run; :class:`~.simulate.Result`;
* :class:`~.run.RunSpec` — the one description of a run (records, sweeps and the CLI use it),
  :func:`~.run.run_specs` — many specs batched;
* :func:`~.sweep.run_sweep` — grids of configurations to CSV;
* :func:`~.oracle.simulate_oracle` — large state driven by any gradient oracle;
* :func:`~.summary.run_summary` — the ``simulate --json`` object of a run.
"""

from .oracle import GradientOracle, OracleResult, simulate_oracle
from .run import InstanceView, RunSpec, batches, lane_steps, map_specs, run_batch, run_specs
from .simulate import InstanceResult, Result, StepTracking, checkpoint_steps, simulate
from .summary import run_summary

__all__ = ["simulate", "Result", "InstanceResult", "StepTracking", "checkpoint_steps", "RunSpec",
           "run_specs", "map_specs", "run_batch", "batches", "lane_steps", "InstanceView",
           "simulate_oracle", "GradientOracle", "OracleResult", "run_summary"]
