"""Metamorphic relations: transformations of a problem with exactly known effects on a run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amsgrad_theory import simulate

ALGOS = ["amsgrad", "adam", "adamx", "amsgrad-pytorch", "amsgrad-optax", "sgd", "adagrad"]
small = st.integers(-16, 16).map(lambda k: k / 8)          # dyadic: exact in every arithmetic
vectors = st.integers(1, 3).flatmap(
    lambda d: st.lists(st.lists(small, min_size=d, max_size=d), min_size=1, max_size=25))


def run(algo, grads, steps=None, set_="box", **kw):
    spec = f"gradient-sequence:g={json.dumps(grads)},set={set_}"
    return simulate(algo, spec, steps=steps or len(grads), **kw)


@given(st.sampled_from(ALGOS), vectors, st.sampled_from([2.0, 4.0, 0.25]))
def test_scaling_losses_scales_regret(algo, grads, c):
    """f ↦ c·f multiplies g by c. For scale-free variants (every ε = 0) the iterates are
    unchanged and the regret is multiplied by c; c is a power of two, so this holds exactly."""
    hp = {"eps": "0"} if algo not in ("sgd",) else {}
    base = run(algo, grads, hyperparameters=hp)
    scaled = run(algo, [[c * g for g in row] for row in grads], hyperparameters=hp)
    if algo == "sgd":   # SGD is not scale free: only check it runs
        return
    assert [float(v) for v in scaled.final_x] == [float(v) for v in base.final_x]
    assert float(scaled.regret) == c * float(base.regret)


@given(st.sampled_from(ALGOS), vectors, st.randoms(use_true_random=False))
def test_permuting_coordinates_permutes_iterates(algo, grads, rnd):
    d = len(grads[0])
    perm = list(range(d))
    rnd.shuffle(perm)
    base = run(algo, grads)
    permuted = run(algo, [[row[p] for p in perm] for row in grads])
    assert [float(permuted.final_x[i]) for i in range(d)] == \
        [float(base.final_x[p]) for p in perm]
    assert float(permuted.regret) == pytest.approx(float(base.regret), rel=1e-14, abs=1e-14)


@given(st.sampled_from(ALGOS), vectors, st.integers(1, 3))
def test_zero_gradient_coordinates_change_nothing(algo, grads, extra):
    base = run(algo, grads)
    padded = run(algo, [row + [0.0] * extra for row in grads])
    d = len(grads[0])
    assert [float(v) for v in padded.final_x[:d]] == [float(v) for v in base.final_x]
    assert all(float(v) == 0.0 for v in padded.final_x[d:])
    assert float(padded.regret) == float(base.regret)
    assert padded.effective_step_nonincreasing == base.effective_step_nonincreasing


def test_batch_equals_separate_runs():
    from amsgrad_theory import get_problem

    problem = get_problem("bernoulli-linear:C=5,c=1,p=0.3",
                          instances=[{"seed": str(s)} for s in range(4)])
    batch = simulate("amsgrad", problem, steps=500, hyperparameters=[
        {"alpha": a} for a in ("0.1", "0.2", "0.3", "0.4")])
    for s, a in enumerate(("0.1", "0.2", "0.3", "0.4")):
        one = simulate("amsgrad", f"bernoulli-linear:C=5,c=1,p=0.3,seed={s}", steps=500,
                       hyperparameters={"alpha": a})
        assert float(one.regret) == float(batch.instances[s].regret)
        assert np.array_equal(np.array(one.final_x, float),
                              np.array(batch.instances[s].final_x, float))


@pytest.mark.parametrize("arithmetic", ["float64:numpy", "float64:numba"])
def test_interleaved_groups_and_shared_rows_equal_separate_runs(arithmetic):
    # the batch sorts instances by their (β1, β2, λ) group and reads each distinct row of
    # hyperparameters once (rows may be one dict object shared by many instances): every
    # instance's answer must still be its own
    from amsgrad_theory import get_problem

    shared = {"alpha": "0.2", "beta2": "0.99"}
    rows = [shared, {"alpha": "0.1", "beta2": "0.9"}, shared, {"alpha": "0.3", "beta2": "0.999"},
            {"alpha": "0.1", "beta2": "0.9"}, shared, {"alpha": "0.3", "beta1": "0.5"}]
    problem = get_problem("periodic-linear:c=1,period=3",
                          instances=[{"C": str(2 + b)} for b in range(len(rows))])
    batch = simulate("amsgrad", problem, steps=300, hyperparameters=rows, arithmetic=arithmetic)
    for b, row in enumerate(rows):
        one = simulate("amsgrad", f"periodic-linear:c=1,period=3,C={2 + b}", steps=300,
                       hyperparameters=row, arithmetic=arithmetic)
        assert float(one.regret) == float(batch.instances[b].regret), b
        assert float(one.final_x[0]) == float(batch.instances[b].final_x[0]), b
