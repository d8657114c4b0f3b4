"""amsgrad-theory: make the theory of AMSGrad checkable.

* :func:`simulate` runs a variant (:mod:`~amsgrad_theory.algorithms`) on an online convex
  problem (:mod:`~amsgrad_theory.problems`) in an arithmetic (:mod:`~amsgrad_theory.arithmetic`)
  and returns streaming statistics; :class:`RunSpec` describes a run as data.

In a notebook::

    from amsgrad_theory import simulate
    r = simulate("amsgrad", "reddi-online:C=3", steps=3000, x0=1, schedule="inv-sqrt",
                 hyperparameters={"beta1": "0", "beta2": "0.1"})
    r                          # a summary of the run (an HTML table in Jupyter)
    r.regret, r.average_regret, r.final_x    # documented properties; dir(r) lists them
    r.regret_checkpoints()     # {"t": [...], "regret": [...]}, as ``simulate --json`` has it
    r.to_dataframe("checkpoints")            # tidy rows for pandas (pip install pandas)

The layers, from the bottom (a module imports only from its own layer or below):
:mod:`~amsgrad_theory.errors`, :mod:`~amsgrad_theory.records` →
:mod:`~amsgrad_theory.arithmetic`, :mod:`~amsgrad_theory.algorithms`,
:mod:`~amsgrad_theory.problems` → :mod:`~amsgrad_theory.engine` →
:mod:`~amsgrad_theory.symbolic` (pure theory) → :mod:`~amsgrad_theory.verify` (checks) →
:mod:`~amsgrad_theory.testing` (the test kit) → :mod:`~amsgrad_theory.reproduce`,
:mod:`~amsgrad_theory.plots`, :mod:`~amsgrad_theory.paper` (studies) →
:mod:`~amsgrad_theory.commands` and the command line.
"""

from ._version import __version__
from .algorithms import VARIANTS, Variant, get_variant, variant_names  # noqa: E402
from .arithmetic import get_arithmetic  # noqa: E402
from .engine import InstanceResult, Result, RunSpec, StepTracking, simulate  # noqa: E402
from .errors import InputError, NumericalError  # noqa: E402
from .problems import Problem, get_problem, problem_names  # noqa: E402

__all__ = ["simulate", "Result", "InstanceResult", "StepTracking", "RunSpec", "get_variant",
           "variant_names", "VARIANTS", "Variant", "get_problem", "problem_names", "Problem",
           "get_arithmetic", "InputError", "NumericalError", "__version__"]
