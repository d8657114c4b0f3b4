"""Symbolic theory of AMSGrad: bias correction, every printed Theorem 4, derived bounds.

* :mod:`.bias` — unrolled EMAs and their expectations (Kingma & Ba §3, derived by sympy),
  ρ(t) = √(1−β2^t)/(1−β1^t): its minimiser (certified), limit and largest rise.
* :mod:`.bound` / :mod:`.bounds` — :class:`Bound` (one sympy expression: LaTeX, lambdify/mpmath/
  arb evaluation on runs, worst-case order, assumptions) and every bound of the literature:
  Theorem 4 (a)–(d), Corollary 1 (printed and corrected), β1/t, Lemma 2, Tran & Phong 4.1,
  AdamX 5.1, AdamNC 5 / Corollary 2, Kingma & Ba 4.1, and the constant-β1 bound derived here.
* :mod:`.steps` — the two proofs (Theorem 4, constant β1) as named inequalities evaluable on a
  :class:`Trajectory`.
* :mod:`.lemmas`, :mod:`.counterexamples` — elementary lemmas and counterexample analyses,
  each returning check records.
* :mod:`.properties` — scale consistency, R_T/T → 0 (sympy and numeric), LaTeX round trip.
  :mod:`.asymptotic` — limits never trusted to one route. :mod:`.registry` — every derivation by
  name (``amsgrad-theory derive``).

Pure theory: this package derives, prints and evaluates expressions (on a run's statistics when
given one); it never runs a simulation. Bounds checked on runs, and the random runs that refute
printed bounds, are in :mod:`amsgrad_theory.verify.bounds_on_runs`.
"""

from .bound import Assumption, AssumptionError, Bound
from .bounds import BOUNDS, PRINTED, bound_names, get_bound
from .registry import derivation_names, derivation_records, get_derivation
from .steps import CHAINS, ProofStep, Trajectory, proof_steps, trajectory_from_result

__all__ = ["Assumption", "AssumptionError", "Bound", "BOUNDS", "PRINTED", "bound_names",
           "get_bound", "derivation_names", "derivation_records", "get_derivation", "CHAINS",
           "ProofStep", "Trajectory", "proof_steps", "trajectory_from_result"]
