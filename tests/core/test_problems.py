"""Problems: exact streams, projections and comparators, against independent routes."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from amsgrad_theory import get_arithmetic, get_problem, simulate
from amsgrad_theory.problems.rng import make_hash, threshold
from amsgrad_theory.problems.sets import make_ball_projection


def test_hash_identical_in_python_numpy_and_torch():
    key_py, draw_py, _ = make_hash(int)
    U = lambda n: np.asarray(n).astype(np.uint64)  # noqa: E731
    _, draw_np, _ = make_hash(U)
    Ut = lambda n: torch.as_tensor(n, dtype=torch.int64)  # noqa: E731
    _, draw_t, _ = make_hash(Ut)
    k = key_py(12345)
    ts = np.arange(1, 200)
    py = [draw_py(k, int(t), 3, 1) for t in ts]
    nb = draw_np(U(k), U(ts), U(3), U(1))
    tt = draw_t(Ut(k), Ut(ts), Ut(3), Ut(1))
    assert py == [int(v) for v in nb] == [int(v) for v in tt]
    assert all(0 <= v < 2 ** 32 for v in py)


def test_threshold_realises_probability_within_2_pow_minus_33():
    for p in ("0.01", "0.5", "1/3", "0", "1"):
        k = threshold(p)
        assert abs(Fraction(k, 2 ** 32) - Fraction(p)) <= Fraction(1, 2 ** 33)


def test_bernoulli_frequency_matches_p():
    r = simulate("sgd", "bernoulli-linear:C=1,c=1,p=0.3,seed=5", steps=20000, trace=True)
    g = r.trace["g"][:, 0, 0]
    assert abs(np.mean(g > 0) - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 20000)


@pytest.mark.parametrize("family", ["random-linear", "random-quadratic", "random-logistic",
                                    "random-hinge"])
def test_random_streams_identical_across_arithmetics(family):
    spec = f"{family}:d=3,sparsity=0.6,seed=9"
    runs = [simulate("amsgrad", spec, steps=30, arithmetic=a, trace=True)
            for a in ("float64", "mpmath:40", "float32", "torch:cpu:float64")]
    g0 = np.asarray(runs[0].trace["g"], float)
    for name, other in zip(("mpmath", "float32", "torch"), runs[1:]):
        g = np.asarray(other.trace["g"], float)
        # the first gradient depends on the data only (x_1 = 0); the data are dyadic with
        # 24 significant bits, so it is identical wherever products of two data are exact
        if name != "float32":
            assert np.array_equal(g[0], g0[0])
        assert np.allclose(g, g0, rtol=1e-5, atol=1e-6)


def test_static_means_of_a_batch_are_each_instances_comparator_means():
    # the kernels read every instance's means from one (B, d) array built at once; the
    # comparators draw them per instance (numpy_data): the two must agree bit for bit
    problem = get_problem("random-quadratic:d=5", [{"seed": str(s)} for s in (0, 1, 7, 2**32 - 1)])
    block = problem.static_block()
    assert block.shape == (4, 5)
    for b in range(4):
        assert np.array_equal(block[b], problem.numpy_data(b, 1)[2][0])
    assert len({tuple(row) for row in block}) == 4          # the keys differ, so do the means


def test_sparsity_is_the_fraction_of_active_coordinates():
    r = simulate("sgd", "random-linear:d=50,sparsity=0.2,seed=1", steps=400, trace=True)
    g = r.trace["g"][:, 0, :]
    assert abs(np.mean(g != 0) - 0.2) < 0.02


# --- weighted projection onto the ball -------------------------------------------------------

@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.05, 5)), min_size=1, max_size=5),
       st.floats(0.2, 2))
def test_weighted_ball_projection_solves_the_kkt_system(pairs, R):
    y = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    ar = get_arithmetic("float64:python")
    project = make_ball_projection(ar.xp, "scalar")
    Y = y[None, :].copy()
    project(Y, w[None, :], R, 0)
    x = Y[0]
    assert np.linalg.norm(x) <= R * (1 + 1e-12)
    # an independent route: the convex program solved by scipy (imported here, not at
    # collection: 0.75 s of every xdist worker's start)
    from scipy.optimize import minimize

    res = minimize(lambda z: np.sum(w * (z - y) ** 2), np.zeros_like(y), method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda z: R * R - z @ z}],
                   options={"ftol": 1e-14, "maxiter": 500})
    feasible = res.x * min(1.0, R / max(np.linalg.norm(res.x), 1e-300))
    assert np.sum(w * (x - y) ** 2) <= np.sum(w * (feasible - y) ** 2) * (1 + 1e-9) + 1e-12
    # KKT: x_i (w_i + μ) = w_i y_i for one multiplier μ ≥ 0, and μ > 0 only on the sphere
    if np.linalg.norm(y) > R:
        mu = [w[i] * (y[i] - x[i]) / x[i] for i in range(len(y)) if abs(x[i]) > 1e-6]
        assert all(m >= -1e-7 for m in mu) and np.ptp(mu) <= 1e-6 * max(1.0, max(mu))
        assert abs(np.linalg.norm(x) - R) <= 1e-12 * max(1.0, R)
    else:
        assert np.array_equal(x, y)


def test_weighted_projection_is_not_rescaling():
    ar = get_arithmetic("float64:python")
    project = make_ball_projection(ar.xp, "scalar")
    Y = np.array([[2.0, 2.0]])
    project(Y, np.array([[1.0, 9.0]]), 1.0, 0)
    assert abs(Y[0, 0] - Y[0, 1]) > 0.1       # Euclidean rescaling would keep them equal
    vec = make_ball_projection(get_arithmetic("float64").namespaces("vector")[0], "vector")
    Z = vec(np.array([[2.0, 2.0]]), np.array([[1.0, 9.0]]), 1.0)
    assert np.allclose(Z, Y, atol=1e-12)


# --- comparators -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["random-linear:d=3,seed=2", "random-linear:d=3,seed=2,set=ball",
                                  "random-quadratic:d=3,seed=4",
                                  "random-quadratic:d=3,seed=4,set=ball",
                                  "random-logistic:d=3,seed=1", "random-hinge:d=3,seed=1",
                                  "random-logistic:d=2,seed=3,set=ball"])
def test_comparator_is_the_best_fixed_point(spec):
    problem = get_problem(spec)
    r = simulate("sgd", problem, steps=60, trace=True)
    inst = r.instances[0]
    A = r.trace  # the losses are evaluated by brute force below, from an independent route
    kind = problem.set.kind
    best = float(inst.comparator_loss)

    grid = np.array(list(itertools.product(np.linspace(-1, 1, 21), repeat=problem.d)))
    if kind == "ball":
        grid = grid[np.einsum("nd,nd->n", grid, grid) <= 1]
    totals = _loss_sums(problem, r, grid)
    assert totals.min() >= best - 1e-7 - (inst.comparator_tolerance or 0)
    mine = _loss_sums(problem, r, np.array([[float(v) for v in inst.comparator]]))[0]
    assert abs(mine - best) <= 1e-9 + (inst.comparator_tolerance or 0)
    del A


def _loss_sums(problem, r, Z):
    """Σ_t f_t(z) for each row z of ``Z``, recomputed from regenerated data (numpy,
    independent of the kernels)."""
    fam = problem.family
    T = r.steps
    if fam in ("random-logistic", "random-hinge"):
        A, y = problem.numpy_stream(0, T)
        m = y[:, None] * (A @ Z.T)                                    # (T, n)
        return (np.sum(np.logaddexp(0, -m), axis=0) if fam == "random-logistic"
                else np.sum(np.maximum(0, 1 - m), axis=0))
    act, unit, mu, t, i = problem.numpy_data(0, T)
    noise = unit(t, i, 1) - 0.5
    if fam == "random-linear":
        a = np.where(act, float(Fraction(problem.params[0]["scale"])) * (mu + noise), 0.0)
        return (a @ Z.T).sum(axis=0)
    h = np.where(act, unit(t, i, 2) + 0.5, 0.0)
    c = mu + noise
    return np.sum(0.5 * h[None] * (Z[:, None, :] - c[None]) ** 2, axis=(1, 2))


def test_regret_is_sublinear_for_amsgrad_on_random_problems():
    for fam in ("random-linear", "random-quadratic", "random-logistic"):
        r = simulate("amsgrad", f"{fam}:d=3,seed=1", steps=4000, hyperparameters={"alpha": "0.3"})
        assert float(r.regret) / 4000 < 0.1, fam


@pytest.mark.parametrize("family", sorted(__import__(
    "amsgrad_theory.problems", fromlist=["FAMILIES"]).FAMILIES))
def test_a_family_changes_no_sufficient_statistic_beyond_its_nsuff(family):
    """``Problem.nsuff`` is a claim about ``suff``: it returns S_k for k ≥ nsuff as it was given
    (the same object), and changes every S_k below (the blocked kernel stores only those rows
    back, so a declared nsuff too small would lose a statistic silently)."""
    spec = {"gradient-sequence": "gradient-sequence:g=[1,-2]"}.get(family, family)
    problem = get_problem(spec)
    ar = get_arithmetic("float64")
    lanes = problem.lanes(ar.xp, ar.sp)
    given_rows = (float("0.375"), float("1.625"), float("-2.75"))
    out = lanes.suff(*given_rows, float("0.8125"), float("-1.3125"))
    assert [out[k] is given_rows[k] for k in range(3)] == [k >= problem.nsuff
                                                          for k in range(3)]


@pytest.mark.parametrize("family", sorted(__import__(
    "amsgrad_theory.problems", fromlist=["FAMILIES"]).FAMILIES))
def test_a_familys_advance_keeps_its_integers_within_their_instances_range(family):
    """``ProblemLanes.advance`` is a claim the blocked kernel relies on (it holds the integer
    parameters in 32 bits where the run's values fit): over many steps, each value stays
    between the least and the greatest of its instance's integer parameters."""
    spec = {"gradient-sequence": "gradient-sequence:g=[1,-2]",
            "periodic-linear": "periodic-linear:C=3,c=1"}.get(family, family)
    instances = ([{"period": str(p)} for p in (2, 3, 7, 2**31 - 1, 2**62)]
                 if family == "periodic-linear" else None)
    problem = get_problem(spec, instances=instances)
    ar = get_arithmetic("float64")
    lanes = problem.lanes(ar.xp, ar.sp)
    for values in zip(*problem.int_columns()):      # (no integer parameters: nothing to do)
        lo, hi = min(values), max(values)
        ip = values
        for _ in range(50):
            ip = lanes.advance(ip)
            assert all(lo <= int(v) <= hi for v in ip), (values, ip)
