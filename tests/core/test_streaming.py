"""Memory independent of T; checkpoints; progress; traces are opt-in."""

from __future__ import annotations

import tracemalloc

import pytest

from amsgrad_theory import get_problem, simulate
from amsgrad_theory.engine import checkpoint_steps

PROBLEM = "bernoulli-linear:C=5,c=1,p=0.3"


def _peak(steps: int) -> int:
    # compile (and take every path of this length) before tracing: numba's compiler allocates
    # (two instances of the problem family of test_precision's blocked-kernel test: one
    # kernel for both; a single instance would compile the scalar loop as well)
    problem = get_problem(PROBLEM, instances=[{"seed": "1"}, {"seed": "2"}])
    simulate("amsgrad", problem, steps=steps, arithmetic="float64:numba")
    tracemalloc.start()
    simulate("amsgrad", problem, steps=steps, arithmetic="float64:numba")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.compiled
def test_memory_independent_of_T():
    # a trajectory kept per step would cost 8 bytes × 3·10^5 = 2.4 MB, 37 times the allowance
    small, large = _peak(10_000), _peak(300_000)
    assert large - small <= 64 * 1024, (small, large)


def test_checkpoints_log_spaced_and_include_T():
    ck = checkpoint_steps(10_000_000)
    assert list(ck[:10]) == list(range(1, 11)) and ck[-1] == 10_000_000
    assert len(ck) < 80
    assert list(checkpoint_steps(7)) == list(range(1, 8))


def test_progress_called_per_chunk():
    seen = []
    simulate("amsgrad", "reddi-online:C=3", steps=1000, chunk=300,
             progress=lambda done, total: seen.append((done, total)))
    assert seen == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]


def test_checkpoint_regret_matches_separate_shorter_runs():
    r = simulate("amsgrad", "random-linear:d=3,sparsity=0.5,seed=1", steps=200)
    inst = r.instances[0]
    for t, reg in zip(inst.checkpoints["t"], inst.checkpoint_regret):
        if t in (7, 50, 200):
            short = simulate("amsgrad", "random-linear:d=3,sparsity=0.5,seed=1", steps=t)
            assert float(reg) == float(short.regret)


def test_regret_statistics_mode_gives_the_same_iterates_and_regret():
    full = simulate("amsgrad-pytorch", "random-linear:d=3,seed=4", steps=300)
    lean = simulate("amsgrad-pytorch", "random-linear:d=3,seed=4", steps=300,
                    statistics="regret")
    assert [float(v) for v in lean.final_x] == [float(v) for v in full.final_x]
    assert float(lean.regret) == float(full.regret)
    assert lean.effective_step_nonincreasing is None and not lean.effective_step.tracked
    assert full.effective_step.tracked
