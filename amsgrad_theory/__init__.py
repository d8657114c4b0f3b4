"""amsgrad-theory: make the theory of AMSGrad checkable.

* :func:`simulate` runs a variant (:mod:`~amsgrad_theory.algorithms`) on an online convex
  problem (:mod:`~amsgrad_theory.problems`) in an arithmetic (:mod:`~amsgrad_theory.arithmetic`)
  and returns streaming statistics.
"""

from ._version import __version__
from .algorithms import VARIANTS, Variant, get_variant, variant_names  # noqa: E402
from .arithmetic import get_arithmetic  # noqa: E402
from .engine import Result, RunSpec, simulate  # noqa: E402
from .errors import InputError, NumericalError  # noqa: E402
from .problems import Problem, get_problem, problem_names  # noqa: E402

__all__ = ["simulate", "Result", "RunSpec", "get_variant", "variant_names", "VARIANTS", "Variant",
           "get_problem", "problem_names", "Problem", "get_arithmetic", "InputError",
           "NumericalError", "__version__"]
