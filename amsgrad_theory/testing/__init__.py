"""Public test kit: hypothesis strategies and assertion helpers for your own optimizers.

Strategies (:mod:`amsgrad_theory.testing.strategies`; never NaN, ±inf or subnormal, valid by
construction):

* :func:`~.strategies.gradient_sequences` — plain, sparse, bursty, decaying, spiky/adversarial;
* :func:`~.strategies.hyperparameters` — α, β1, β2, ε as decimal strings, optionally in the
  γ = β1/√β2 < 1 region of Reddi et al.'s Theorem 4;
* :func:`~.strategies.problems` — problem spec strings for :func:`amsgrad_theory.simulate`.

Assertions (:mod:`amsgrad_theory.testing.assertions`), for any
``optimizer_factory(params) -> torch.optim.Optimizer``; on failure an ``AssertionError`` carries
the hypothesis-shrunk counterexample and the lines that replay it (Python, with every
non-default argument; the shell). The searches follow the active Hypothesis profile and
``--hypothesis-seed``; the helpers' frames are hidden from pytest's tracebacks:

* :func:`assert_effective_step_nonincreasing` — η̂_t and/or η_t never increase (Γ_t ⪰ 0);
* :func:`assert_max_nondecreasing` — the maxed second moment, read from the displacement, never
  decreases (catches a max that is not written back, pytorch#78807);
* :func:`assert_matches_reference` — step-for-step agreement with a variant's exact model,
  within (8 + 2t) machine epsilons of the path length by default
  (:func:`~.assertions.reference_tolerance`), or ``max_ulps``.

Invalid arguments raise :class:`InvalidArgument` (both the toolkit's ``InputError`` and
``hypothesis.errors.InvalidArgument``), naming the argument and its value.
"""

from . import strategies
from .assertions import (
    assert_effective_step_nonincreasing,
    assert_matches_reference,
    assert_max_nondecreasing,
)
from .strategies import InvalidArgument, gradient_sequences, hyperparameters, problems

__all__ = ["strategies", "gradient_sequences", "hyperparameters", "problems",
           "assert_effective_step_nonincreasing", "assert_max_nondecreasing",
           "assert_matches_reference", "InvalidArgument"]
