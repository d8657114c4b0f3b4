"""Float runs that leave the float range say so (NumericalError naming the quantity), where
they used to return a finite-looking answer that exact arithmetic contradicts."""

from __future__ import annotations

import pytest

from amsgrad_theory import NumericalError, get_problem, simulate

FLOATS = ["float64", "float64:numba", "float64:numpy", "torch:cpu:float64"]


@pytest.mark.parametrize("arithmetic", FLOATS)
@pytest.mark.parametrize("g, kind, quantity", [
    ("[1e300,-1e300]", "non-finite", "v"),      # g² overflows: v̂ = inf froze x at 0
    ("[1e200,1]", "non-finite", "v"),
    ("[1e-300,-1e-300]", "underflowed", "v"),   # g² underflows: v = 0 while m ≠ 0
])
def test_a_moment_out_of_range_is_reported(arithmetic, g, kind, quantity):
    with pytest.raises(NumericalError) as info:
        simulate("amsgrad", f"gradient-sequence:g={g}", steps=6, arithmetic=arithmetic)
    err = info.value
    assert err.kind == kind and err.what.startswith(quantity + " ") and err.coordinate == 0
    assert 1 <= err.since <= err.step <= 6
    assert str(err).startswith(f"{kind} {quantity} ")


@pytest.mark.parametrize("arithmetic", ["mpmath:30", "arb:64"])
def test_exact_arithmetics_keep_what_floats_lose(arithmetic):
    """The reference the floats are held to: AMSGrad with ε = 0 is scale-invariant, so
    g = ±10^±300 gives the iterate of g = ±1."""
    unit = simulate("amsgrad", "gradient-sequence:g=[1,-1]", steps=6, arithmetic="mpmath:30")
    for g in ("[1e300,-1e300]", "[1e-300,-1e-300]"):
        run = simulate("amsgrad", f"gradient-sequence:g={g}", steps=6, arithmetic=arithmetic)
        assert abs(float(run.instances[0].final_x[0]) - float(unit.instances[0].final_x[0])) \
            < 1e-12


def test_float32_overflows_where_float64_does_not():
    simulate("amsgrad", "gradient-sequence:g=[1e30,-1e30]", steps=6, arithmetic="float64")
    with pytest.raises(NumericalError, match="float32"):
        simulate("amsgrad", "gradient-sequence:g=[1e30,-1e30]", steps=6, arithmetic="float32")


def test_a_bound_term_that_overflows_alone_is_reported():
    # g² = 1e308 and v stay finite; Σ g² passes the largest float64 at the second step
    with pytest.raises(NumericalError, match="Σ g²"):
        simulate("amsgrad", "gradient-sequence:g=[1e154,1e154]", steps=3,
                 hyperparameters={"beta2": "0.999999"})


def test_an_epsilon_that_dominates_is_not_an_underflow():
    """With ε = 1e-8, a second moment lost below 10^-308 cannot move the step: no report, and
    the float answer agrees with mpmath."""
    hp = {"eps": "1e-8"}
    f = simulate("adam", "gradient-sequence:g=[1e-300,-1e-300]", steps=6, hyperparameters=hp)
    exact = simulate("adam", "gradient-sequence:g=[1e-300,-1e-300]", steps=6,
                     hyperparameters=hp, arithmetic="mpmath:40")
    assert float(f.instances[0].final_x[0]) == pytest.approx(
        float(exact.instances[0].final_x[0]), rel=1e-12, abs=1e-320)


def test_a_second_moment_that_decays_legitimately_is_not_reported():
    """A gradient of 1 then zeros: v decays by β2 per step but stays normal over the run."""
    simulate("adam", "gradient-sequence:g=[1,0,0,0,0,0,0,0]", steps=2000,
             hyperparameters={"beta2": "0.9"}, arithmetic="float64")


def test_adagrad_without_a_first_moment_is_watched_through_max_abs_g():
    with pytest.raises(NumericalError, match="underflowed v"):
        simulate("adagrad", "gradient-sequence:g=[1e-300,-1e-300]", steps=4,
                 hyperparameters={"eps": "0"})


# ---- an underflow between two chunk ends is caught at its step ------------------------------

@pytest.mark.parametrize("variant, arithmetic, instances", [
    ("amsgrad", "float64", 1), ("amsgrad", "float64:numba", 1), ("amsgrad", "float64:numpy", 1),
    ("amsgrad", "torch:cpu:float64", 1), ("adam", "float64:python", 1), ("adam", "float32", 1),
    ("amsgrad", "float32:numba", 2), ("adam", "torch:cpu:float32", 1)])
def test_a_second_moment_subnormal_for_one_step_is_reported_at_that_step(arithmetic, variant,
                                                                        instances):
    # g_1 = 1e-158 (1e-20 in float32): v_1 = (1 − β2)·g_1² is subnormal, x_2 loses digits (it
    # was −0.3162295 where mpmath says −0.3162278); g_2 = 1 then makes v normal again, so the
    # end of the chunk looks fine — the kernels must flag step 1 itself (numba: one instance
    # runs the scalar loop, two the blocked kernel)
    g = "1e-20" if "32" in arithmetic else "1e-158"
    problem = get_problem(f"gradient-sequence:g=[{g}],tail=1", instances=[{}] * instances)
    with pytest.raises(NumericalError) as info:
        simulate(variant, problem, steps=4, arithmetic=arithmetic)
    err = info.value
    assert (err.kind, err.step, err.since, err.coordinate) == ("underflowed", 1, 1, 0)
    assert err.what.startswith("v ")


def test_the_blocked_kernel_reports_an_overflow():
    """Two instances run the blocked kernel (float32: the kernel of the test above); the
    single-instance runs above take the scalar loop. g² = 1e60 leaves float32."""
    problem = get_problem("gradient-sequence:g=[1e30,-1e30]", instances=[{}] * 2)
    with pytest.raises(NumericalError) as info:
        simulate("amsgrad", problem, steps=6, arithmetic="float32:numba")
    err = info.value
    assert err.kind == "non-finite" and err.what.startswith("v ") and err.coordinate == 0
    assert 1 <= err.since <= err.step <= 6


@pytest.mark.parametrize("arithmetic", FLOATS)
def test_a_tiny_gradient_after_large_ones_is_not_an_underflow(arithmetic):
    # g_2 = 1e-200: (1 − β2)·g_2² underflows to 0 but v_2 ≈ β2·v_1 stays normal — the run is
    # right (mpmath agrees to 1e-15), so nothing may be flagged
    run = simulate("amsgrad", "gradient-sequence:g=[1,1e-200]", steps=5, arithmetic=arithmetic)
    exact = simulate("amsgrad", "gradient-sequence:g=[1,1e-200]", steps=5,
                     arithmetic="mpmath:40")
    assert float(run.instances[0].final_x[0]) == pytest.approx(
        float(exact.instances[0].final_x[0]), rel=1e-14)


def test_the_gradient_floor_proves_when_no_underflow_can_happen():
    """The per-step watch is compiled out only where v_t ≥ min(1 − β2, 1/T)·γ² ≥ 4τ."""
    from amsgrad_theory import get_arithmetic, get_problem, get_variant
    from amsgrad_theory.engine.simulate import underflow_impossible

    f64, f32 = get_arithmetic("float64"), get_arithmetic("float32")
    hp = get_variant("amsgrad").hyperparameters(beta2="0.99")
    periodic = get_problem("periodic-linear:C=3,c=1,period=3")
    assert underflow_impossible(f64, periodic, [hp], 1000)
    # γ = 1e-150: (1 − β2)·γ² = 1e-302 ≥ 4τ in float64, not in float32's range
    small = get_problem("gradient-sequence:g=[1e-150,-1e-150],tail=1e-150")
    assert underflow_impossible(f64, small, [hp], 10)
    assert not underflow_impossible(get_arithmetic("float64"),
                                    get_problem("gradient-sequence:g=[1e-155]"), [hp], 10)
    assert not underflow_impossible(f32, get_problem("gradient-sequence:g=[1e-18]"), [hp], 10)
    # a zero gradient (v decays), a random family, weight decay: no floor, watched
    assert not underflow_impossible(f64, get_problem("gradient-sequence:g=[1,0]"), [hp], 10)
    assert not underflow_impossible(f64, get_problem("random-linear:d=1"), [hp], 10)
    decayed = get_variant("amsgrad").hyperparameters(beta2="0.99", weight_decay="0.01")
    assert not underflow_impossible(f64, periodic, [decayed], 10)
    # β2 = 1 − 1e-310: (1 − β2)·γ² is below 4τ although γ = 1 (the factor min(1 − β2, 1/T))
    near_one = get_variant("amsgrad").hyperparameters(beta2="0." + "9" * 310)
    assert not underflow_impossible(f64, periodic, [near_one], 10)
    # mpmath has no floor to prove anything against
    assert not underflow_impossible(get_arithmetic("mpmath:30"), periodic, [hp], 10)


def test_the_floor_proof_checks_every_instance_against_its_own_factor():
    """Many instances: the proof holds only if each (β2, γ_b) pair does; the smallest floor
    of one β2 must not be checked against another β2's larger factor."""
    from amsgrad_theory import get_arithmetic, get_problem, get_variant
    from amsgrad_theory.engine.simulate import underflow_impossible

    f32 = get_arithmetic("float32")      # τ ≈ 1.18e-38
    loose = get_variant("amsgrad").hyperparameters(beta2="0.9")          # 1 − β2 = 0.1
    tight = get_variant("amsgrad").hyperparameters(beta2="0.99999999")   # 1 − β2 = 1e-8
    # γ = 1e-17: 0.1·1e-34 ≥ 4τ, but 1e-8·1e-34 < 4τ
    problem = get_problem("periodic-linear:c=1,period=3",
                          instances=[{"C": "1"}, {"C": "1e-17"}, {"C": "2"}])
    assert underflow_impossible(f32, problem, [loose, loose, tight], 10)
    assert not underflow_impossible(f32, problem, [loose, tight, loose], 10)
    assert not underflow_impossible(f32, problem, [tight, tight, tight], 10)
    # the same texts read again (memoised) give the same verdicts
    assert underflow_impossible(f32, problem, [loose, loose, tight], 10)
    assert not underflow_impossible(f32, problem, [loose, tight, loose], 10)


def test_the_least_floor_of_many_instances_is_exact():
    """G_floor_least (floats first, exact values only for the ties) equals the exact minimum
    of the instances' floors, also where two texts round to the same float."""
    from fractions import Fraction

    from amsgrad_theory import get_problem
    from amsgrad_theory.problems.streams import Problem

    cases = [
        [{"C": "3", "c": "1"}, {"C": "2", "c": "0.5"}, {"C": "0.25", "c": "4"}],
        # equal as doubles, not as numbers: the exact least is the first
        [{"C": "0.1", "c": "1"}, {"C": "0.1000000000000000000001", "c": "1"},
         {"C": "0.09999999999999999999999", "c": "1"}],
        [{"C": "1/3", "c": "1"}, {"C": "0.3333333333333333333", "c": "1"}],
        [{"C": "-7", "c": "1e-400"}, {"C": "2", "c": "1e-401"}],    # both round to 0.0
        [{"C": "5", "c": "0"}, {"C": "2", "c": "1"}],               # no floor for one
    ]
    for instances in cases:
        for spec in ("periodic-linear:period=3", "bernoulli-linear:p=0.3"):
            problem = get_problem(spec, instances=instances)
            rows = range(problem.B)
            expected = Problem.G_floor_least(problem, rows)      # min over G_floor, exactly
            assert problem.G_floor_least(rows) == expected, (spec, instances)
    p = get_problem("periodic-linear:period=3", instances=cases[1])
    assert p.G_floor_least(range(3)) == Fraction("0.09999999999999999999999")
    assert get_problem("periodic-linear:period=3", instances=cases[4]).G_floor_least(
        range(2)) is None
    # a subset of the rows, and as many rows as instances but not all of them
    p = get_problem("periodic-linear:period=3", instances=cases[0])
    assert p.G_floor_least([0, 1]) == Fraction("0.5")
    assert p.G_floor_least([0, 0, 0]) == Fraction(1)
    # thousands of tying texts: each read exactly, the least is still the exact one
    ties = [{"C": "2", "c": "1/3"}] * 3000 + [{"C": "2", "c": "0.3333333333333333333"}]
    p = get_problem("periodic-linear:period=3", instances=ties)
    assert p.G_floor_least(range(p.B)) == Fraction("0.3333333333333333333")


def test_small_eps_is_decided_per_instance_when_rows_are_shared():
    # thousands of instances share a few dicts: each distinct row is read once, and every
    # instance still gets its own row's answer (ε + ε_root below √tiny/u in float64 ≈ 1.3e-138)
    import numpy as np

    from amsgrad_theory.engine.watch import eps_too_small

    paper, framework = {"eps": "0"}, {"eps": "1e-8"}
    tiny_root = {"eps": "0", "eps_root": "1e-200"}
    rows = [paper, framework, paper, tiny_root, framework, {"eps": "1e-200"}]
    assert eps_too_small(rows, np.float64).tolist() == [True, False, True, True, False, True]
    assert eps_too_small(rows, np.float32).tolist() == [True, False, True, True, False, True]


# ---- the blocked kernel's error flag ---------------------------------------------------------

@pytest.mark.parametrize("number, problem, x0, hp, what", [
    # f_1 = g·x_1 = 1e350 alone (g² = 1e300 and x_2 stay finite)
    ("float64", "gradient-sequence:g=[1e150],set=none", "1e200", {}, "loss"),
    # x_2 = x_1 + α·1 = 2e308 alone (g = −1 and f_1 = −1e308 are finite)
    ("float64", "gradient-sequence:g=[-1],set=none", "1e308", {"alpha": "1e308"}, "iterate"),
    ("float32", "gradient-sequence:g=[-1],set=none", "3e38", {"alpha": "3e38"}, "iterate"),
    # a quadratic at x_1 = 1e300: g_1 ≈ 1e300 is finite, g_1² and f_1 are not — a non-finite
    # loss, not gradient (the blocked kernel named it so: it ranked from m, v after the step)
    ("float64", "random-quadratic:d=1,set=none", "1e300", {}, "loss"),
    # … and at x_1 = 1.7e308 with this seed's a, g_1 itself overflows
    ("float64", "random-quadratic:d=1,set=none,seed=2", "1.7e308", {}, "gradient"),
])
@pytest.mark.compiled
def test_the_blocked_kernel_flags_each_non_finite_quantity_alone(number, problem, x0, hp, what):
    """The blocked kernel flags a lane step whose g, x_{t+1} or f_t(x_t) is not finite
    (lane_functions' error_codes="flag"; in float64 one test of g·0 + f_t·0 + x_{t+1}·0) and
    ranks a flagged step after it; each of them leaving the range is reported as the Python
    lane loop (ranked error codes at every step) reports it."""
    batch = get_problem(problem, instances=[{}] * 2)
    # the same batch in range runs the kernel this test means
    fine = simulate("amsgrad", batch, steps=2, arithmetic=f"{number}:numba", x0="0.5")
    assert fine.engine == "numba-blocked"
    reports = []
    for arithmetic in (f"{number}:numba", f"{number}:python"):
        with pytest.raises(NumericalError) as info:
            simulate("amsgrad", batch, steps=5, arithmetic=arithmetic, x0=x0,
                     hyperparameters=hp)
        err = info.value
        reports.append((err.kind, err.what, err.step, err.since, err.instance, err.coordinate))
    assert reports[0] == reports[1]
    assert reports[0][:2] == ("non-finite", what)


@pytest.mark.compiled
def test_the_scalar_loop_names_the_error_the_lane_loop_names():
    """The compiled scalar loop (d > 1) keeps the first error code of the step, as the Python
    lane loop does. It used to locate the lane after the step from its state, naming a
    moment's overflow a non-finite gradient: g_1 = 1e200 is finite, v_1 and f_1 = g_1·x_1 are
    not (a non-finite loss)."""
    reports = []
    for arithmetic in ("float64:numba", "float64:python"):
        with pytest.raises(NumericalError) as info:
            simulate("amsgrad", "gradient-sequence:g=[[1e200,1]],set=none", steps=5,
                     arithmetic=arithmetic, x0="1e200")
        err = info.value
        reports.append((err.kind, err.what, err.step, err.since, err.instance, err.coordinate))
    assert reports[0] == reports[1] == ("non-finite", "loss", 1, 1, 0, 0)


def _first_error_case(case, big):
    """(problem, hyperparameters, expected (what, instance, coordinate)); α = ``big`` (the
    largest power of ten of the float) makes x_2 = x_1 + α·m̂/√v̂ = 2·big from x_1 = big."""
    def rows(B, beta1, huge):
        return [{"beta1": beta1(b), "alpha": big if b in huge else "0.001"} for b in range(B)]

    if case == "groups":        # instance 1 is in the second group, instance 2 in the first
        return (get_problem("gradient-sequence:g=[-1],set=none", instances=[{}] * 3),
                rows(3, lambda b: "0.5" if b == 1 else "0.9", {1, 2}), ("iterate", 1, 0))
    if case == "kind-vs-instance":     # instance 1's loss g·x = 1e150·1e308, a kind before
        return (get_problem("gradient-sequence:g=[-1],set=none",
                            instances=[{}, {"g": "[1e150]"}]),
                rows(2, lambda b: "0.9", {0}), ("iterate", 0, 0))
    if case == "coordinates":         # d = 2 (the scalar loop): coordinate 1's loss overflows
        return (get_problem("gradient-sequence:g=[[-1,1e150]],set=none"), {"alpha": big},
                ("iterate", 0, 0))
    # 100 instances of two groups alternating: blocks of each stop at step 1
    return (get_problem("gradient-sequence:g=[-1],set=none", instances=[{}] * 100),
            rows(100, lambda b: "0.5" if b % 2 else "0.9", {37, 38}), ("iterate", 37, 0))


@pytest.mark.parametrize("case", ["groups", "kind-vs-instance", "coordinates", "blocks"])
@pytest.mark.compiled
def test_every_engine_names_the_same_first_error(case):
    """The first error of a run is the earliest step's least instance, its least coordinate,
    and there the first kind (gradient, loss, iterate); every engine names that one. (The lane
    loops took the first in their rows, which go by hyperparameter group; the vector engines
    the first kind over the whole batch.)"""
    reports = set()
    for arithmetic in ("float64:python", "float64:numba", "float64:numpy",
                       "torch:cpu:float64", "float32:numba"):
        big = "3e38" if "32" in arithmetic else "1e308"
        if big == "3e38" and case in ("kind-vs-instance", "coordinates"):
            continue        # 1e150 leaves float32 on input
        problem, hps, expected = _first_error_case(case, big)
        with pytest.raises(NumericalError) as info:
            simulate("amsgrad", problem, steps=3, arithmetic=arithmetic, x0=big,
                     hyperparameters=hps)
        err = info.value
        reports.add((err.what, err.instance, err.coordinate, err.step))
    assert reports == {(*expected, 1)}


# ---- the weighted ball projection at extreme scales -----------------------------------------

@pytest.mark.parametrize("arithmetic, alpha", [
    ("float64:python", "1e100"),   # ‖x̂‖² = 2e201: in range, projected as it always was
    ("mpmath:30", "1e200"),
    # ‖x̂‖² overflows: x̂ came back unprojected (4.5e50·R) here, and as (0, 0) in numpy
    ("float64:python", "1e200"),
    ("float64:numpy", "1e200"),
    # ‖x̂‖/R ≈ 1e150: Newton from μ = 0 gains a factor ≈ 1.5 per step; its 500 steps stopped
    # short of the root, in mpmath too
    ("float64:python", "1e300"),
    ("float64:numpy", "1e300"),
    ("mpmath:30", "1e300"),
    # x̂ itself overflows: the vector engine tested x_{t+1} after the projection, (0, 0)
    ("float64:numpy", "1e308"),
])
def test_a_projection_at_extreme_scale_lands_on_the_ball_or_is_reported(arithmetic, alpha):
    """x̂ = x_1 − α·m̂/√v̂ with ‖x̂‖ ≫ R = 1e150 (R = 1e50 for α = 1e100): the projection
    lands on the sphere ‖x‖ = R, or the run stops with a NumericalError (all three failed
    silently before 2026-12-07: problems/sets.py)."""
    import math

    radius = "1e50" if alpha == "1e100" else "1e150"
    try:
        run = simulate("amsgrad", f"random-linear:d=2,set=ball,radius={radius}", steps=1,
                       arithmetic=arithmetic, x0="[1e49,0]", hyperparameters={"alpha": alpha})
    except NumericalError as err:
        assert alpha == "1e308" and err.what == "iterate"
        return
    assert alpha != "1e308"
    x = [float(v) for v in run.instances[0].final_x]
    assert math.hypot(*x) == pytest.approx(float(radius), rel=1e-9)
