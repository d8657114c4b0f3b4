"""The arithmetics really compute at their precision, and agree where they should."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from flint import arb, ctx

from amsgrad_theory import get_problem, get_variant, simulate, variant_names
from amsgrad_theory.engine import run_summary

FIG1 = dict(steps=2000, hyperparameters={"alpha": "0.5", "beta1": "0.9", "beta2": "0.99"})


@pytest.fixture(scope="module")
def fig1_runs():
    out = {}
    for ar in ("mpmath:50", "mpmath:100", "float64", "arb:128"):
        out[ar] = simulate("amsgrad", "reddi-figure1", arithmetic=ar, **FIG1)
    return out


def test_mpmath_50_and_100_agree_to_1e45(fig1_runs):
    a, b = fig1_runs["mpmath:50"].regret, fig1_runs["mpmath:100"].regret
    assert abs(a - b) <= mpmath.mpf("1e-45") * abs(b)
    for xa, xb in zip(fig1_runs["mpmath:50"].final_x, fig1_runs["mpmath:100"].final_x):
        assert abs(xa - xb) <= mpmath.mpf("1e-45") * max(abs(xb), 1)


def test_mpmath_precision_is_real_not_float(fig1_runs):
    # the two precisions must differ beyond double precision, or the path computed in floats
    a, b = fig1_runs["mpmath:50"].regret, fig1_runs["mpmath:100"].regret
    assert a != b
    assert abs(a - b) < mpmath.mpf("1e-40")
    assert float(a) == pytest.approx(float(b), rel=1e-15)
    digits = run_summary(fig1_runs["mpmath:100"])["regret_decimal"]
    assert len(digits.replace("-", "").replace(".", "")) >= 100


def test_float64_agrees_with_mpmath_to_1e12(fig1_runs):
    ref = fig1_runs["mpmath:100"].regret
    assert abs(fig1_runs["float64"].regret - float(ref)) <= 1e-12 * abs(float(ref))


def test_arb_ball_contains_mpmath_value(fig1_runs):
    ball = fig1_runs["arb:128"].regret
    ref = fig1_runs["mpmath:100"].regret
    with ctx.workprec(400):
        assert ball.contains(arb(mpmath.nstr(ref, 100)))
        assert ball.rad() < arb("1e-25")
    x_ball = fig1_runs["arb:128"].final_x[0]
    with ctx.workprec(400):
        assert x_ball.contains(arb(mpmath.nstr(fig1_runs["mpmath:100"].final_x[0], 100)))


def test_global_precision_untouched():
    before_mp, before_arb = mpmath.mp.dps, ctx.prec
    simulate("amsgrad", "reddi-online:C=3", steps=50, arithmetic="mpmath:77")
    simulate("amsgrad", "reddi-online:C=3", steps=50, arithmetic="arb:300")
    assert mpmath.mp.dps == before_mp and ctx.prec == before_arb


def test_decimal_inputs_are_exact_under_mpmath():
    # α = 0.1 must be one tenth, not the binary float 0.1: the first step of SGD from 0 on
    # gradient 1 is exactly −1/10 at 60 digits
    r = simulate("sgd", "gradient-sequence:g=[1],set=none", steps=1, arithmetic="mpmath:60",
                 hyperparameters={"alpha": "0.1"}, x0="0")
    ctx60 = mpmath.MPContext()
    ctx60.dps = 60
    assert abs(r.final_x[0] + ctx60.mpf(1) / 10) < ctx60.mpf("1e-59")
    assert abs(r.final_x[0] - ctx60.mpf(-0.1)) > ctx60.mpf("1e-18")  # float 0.1 is 5.5e-18 off


@pytest.mark.parametrize("variant", ["amsgrad", "amsgrad-pytorch", "adam-kingma-ba", "adamx"])
def test_torch_batched_within_4_ulp_of_numpy(variant):
    C = [3, 5, 10, 20]
    problem = get_problem("periodic-linear:c=1,period=3", instances=[{"C": str(c)} for c in C])
    hps = [{"alpha": a, "beta1": "0.9", "beta2": b} for a, b in
           zip(["0.5", "0.1", "0.3", "0.05"], ["0.99", "0.999", "0.9", "0.95"])]
    ref = simulate(variant, problem, steps=500, arithmetic="float64:python", hyperparameters=hps)
    tor = simulate(variant, problem, steps=500, arithmetic="torch:cpu:float64",
                   hyperparameters=hps)
    for a, b in zip(ref.instances, tor.instances):
        for xa, xb in zip(a.final_x, b.final_x):
            assert abs(float(xa) - float(xb)) <= 4 * math.ulp(max(abs(float(xa)), 1e-300))
        assert abs(float(a.regret) - float(b.regret)) <= 1e-12 * max(1.0, abs(float(a.regret)))


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_engines_bit_identical_to_python_loop(engine):
    problem = get_problem("random-quadratic:d=4,sparsity=0.5,seed=3")
    kwargs = dict(steps=300, hyperparameters={"alpha": "0.2"})
    ref = simulate("amsgrad", problem, arithmetic="float64:python", **kwargs)
    other = simulate("amsgrad", problem, arithmetic=f"float64:{engine}", **kwargs)
    assert [float(v) for v in ref.final_x] == [float(v) for v in other.final_x]
    assert float(ref.regret) == float(other.regret)
    assert np.array_equal(np.array(ref.vhat, float), np.array(other.vhat, float))


@pytest.mark.parametrize("variant", ["amsgrad"] + [
    pytest.param(v, marks=pytest.mark.slow) for v in ("amsgrad-pytorch", "adamx", "adagrad")])
def test_blocked_numba_kernel_bit_identical(variant):
    """The SIMD-blocked kernel (B instances × d = 1) equals the plain lane loop bit for bit."""
    B = 300   # more than one block, with a partial block
    problem = get_problem("bernoulli-linear:C=5,c=1,p=0.3",
                          instances=[{"seed": str(s)} for s in range(B)])
    hps = [{"alpha": str(0.05 * (1 + b % 3)), "beta2": ("0.99", "0.999")[b % 2]}
           for b in range(B)]
    fast = simulate(variant, problem, steps=700, arithmetic="float64:numba", hyperparameters=hps)
    ref = simulate(variant, problem, steps=700, arithmetic="float64:python", hyperparameters=hps)
    for a, b in zip(fast.instances, ref.instances):
        assert [float(v) for v in a.final_x] == [float(v) for v in b.final_x]
        assert float(a.regret) == float(b.regret)
        assert a.effective_step.increases == b.effective_step.increases
        assert float(a.checkpoints["sum_beta1_sqrt_vhat_over_alpha"][-1]) == \
            float(b.checkpoints["sum_beta1_sqrt_vhat_over_alpha"][-1])


def test_blocked_kernel_counters_in_64_bits_where_a_run_could_reach_2_pow_31(monkeypatch):
    """The blocked kernel holds its counters (counts of steps, step numbers) in 32 bits only
    where the run has at most 2³¹ − 1 steps (engines.narrow_counts); beyond, in 64 bits. Both
    kernels give the lane loop's numbers: here the 64-bit one, built by lowering the limit
    below this run's steps (Adam, whose effective steps rise, so the counters count)."""
    from amsgrad_theory.engine import engines

    B = 40
    problem = get_problem("bernoulli-linear:C=3,c=1,p=0.3",
                          instances=[{"seed": str(b)} for b in range(B)])
    kwargs = dict(steps=300, hyperparameters={"alpha": "0.1", "beta2": "0.9"})
    ref = simulate("adam", problem, arithmetic="float64:python", **kwargs)
    assert sum(i.effective_step.increases for i in ref.instances) > 0
    assert engines.COUNTS32_MAX_STEPS == 2**31 - 1
    narrow = simulate("adam", problem, arithmetic="float64:numba", **kwargs)
    monkeypatch.setattr(engines, "COUNTS32_MAX_STEPS", 299)
    wide = simulate("adam", problem, arithmetic="float64:numba", **kwargs)
    for run in (narrow, wide):
        assert run.engine == "numba-blocked"
        for a, b in zip(run.instances, ref.instances):
            assert a.effective_step == b.effective_step
            assert a.corrected_step == b.corrected_step
            assert [float(v) for v in a.final_x] == [float(v) for v in b.final_x]


@pytest.mark.parametrize("periods", [(2, 3, 5), (2, 3, 2**31)])
def test_blocked_kernel_integer_parameters_in_32_bits_only_where_they_fit(periods):
    """The blocked kernel holds the integer parameters in 32 bits where every value of the run
    fits (RunPlan.int32_parameters): Theorem 1's periods 2, 3, 5; one period of 2³¹ keeps
    the whole batch in 64 bits. Both equal the lane loop (float64: the kernels of the other
    tests here are float32 or 64-bit)."""
    from amsgrad_theory.engine.arrays import RunPlan

    B = 60
    problem = get_problem("periodic-linear:C=3,c=1", instances=[
        {"period": str(periods[b % 3]), "C": str(2 + b % 7)} for b in range(B)])
    plan = RunPlan(None, problem, [], None, np.array([1]), 1, False, False, True)
    assert plan.int32_parameters is (max(periods) < 2**31)
    _blocked_equals_lane_loop("amsgrad", problem, "float64", steps=300,
                              hyperparameters={"alpha": "0.1"}, statistics="regret")


def test_a_family_of_the_users_own_gets_its_own_general_kernel():
    """A subclass of one of the package's families is known by its class, not by the family
    name it shares (the kernel of ``periodic-linear``, built first, must not serve it), and
    gets the general kernel: the claims it inherits (nsuff, lane_float_params, the range of
    advance) are not taken on trust, since its lane functions may break them. Here it doubles
    the gradients, and its float32 blocked kernel equals its own lane loop."""
    import dataclasses

    from amsgrad_theory.lanecode import lane_code
    from amsgrad_theory.problems import lane_claims
    from amsgrad_theory.problems.streams import PeriodicLinear

    class Doubled(PeriodicLinear):
        def lanes(self, xp, sp, jit=lane_code):
            P = super().lanes(xp, sp, jit)
            data, two = P.data, xp.one + xp.one     # (the lane dtype: see Namespace.cast)

            @jit
            def doubled(t, i, fp, ip, tab):
                a0, a1 = data(t, i, fp, ip, tab)
                return two * a0, a1

            return P._replace(data=doubled)

    # (a period of 2³¹: both kernels hold the integers in 64 bits, so only the family tells
    # their keys apart)
    ours = get_problem("periodic-linear:C=3,c=1",
                       instances=[{"period": str((2, 3, 2**31)[b % 3])} for b in range(40)])
    mine = Doubled(**{f.name: getattr(ours, f.name) for f in dataclasses.fields(ours)})
    assert lane_claims(ours) == (1, (0, 1), True)
    assert lane_claims(mine) == (3, (), False)
    kwargs = dict(steps=200, hyperparameters={"alpha": "0.1"})
    first = simulate("amsgrad", ours, arithmetic="float32:numba", **kwargs)
    fast, _ = _blocked_equals_lane_loop("amsgrad", mine, "float32", **kwargs)
    # (AMSGrad with ε = 0 is scale-free: the iterates are the same, the losses doubled)
    assert np.array_equal(2 * first.table()["loss"], fast.table()["loss"])


def _blocked_equals_lane_loop(variant, problem, number, **kwargs):
    """(blocked kernel's result, lane loop's): the run on the numba-blocked kernel and on the
    plain Python lane loop, whose final and last played iterates and regrets are equal bit
    for bit."""
    fast = simulate(variant, problem, arithmetic=f"{number}:numba", **kwargs)
    ref = simulate(variant, problem, arithmetic=f"{number}:python", **kwargs)
    assert fast.engine == "numba-blocked"
    for a, b in zip(fast.instances, ref.instances):
        assert [float(v) for v in a.final_x] == [float(v) for v in b.final_x]
        assert [float(v) for v in a.last_played_x] == [float(v) for v in b.last_played_x]
        assert float(a.regret) == float(b.regret)
    return fast, ref


@pytest.mark.parametrize("family", ["periodic", "bernoulli"])
def test_blocked_float32_kernel_bit_identical_with_its_forced_width(family):
    """float32 on the blocked kernel — compiled at 16 lanes on the CPUs measured faster so
    (compiled.vector_width), C and c handed over as lane values (Problem.lane_float_params) —
    equals the float32 lane loop bit for bit: on Theorem 1's periodic gradients with
    per-instance periods (the phase t mod period advances by ((period >> 63) | 1), i.e. by 1,
    written so that LLVM keeps no all-ones register), and on Bernoulli gradients, whose E f_t
    reads μ in float64 (not a lane parameter)."""
    B = 70      # blocks of 32 on two threads, a partial one among them
    if family == "periodic":
        problem = get_problem("periodic-linear:C=3,c=1", instances=[
            {"period": str(2 + b % 5), "C": str(2 + b % 7)} for b in range(B)])
    else:
        problem = get_problem("bernoulli-linear:C=3,c=1,p=0.3", instances=[
            {"seed": str(b), "C": repr(2 + 0.1 * (b % 7))} for b in range(B)])
    hps = [{"alpha": str(0.05 * (1 + b % 3))} for b in range(B)]
    fast, ref = _blocked_equals_lane_loop("amsgrad", problem, "float32", steps=400,
                                          hyperparameters=hps)
    for a, b in zip(fast.instances, ref.instances):
        assert a.effective_step.increases == b.effective_step.increases
        if family == "bernoulli":
            assert float(a.expected_regret) == float(b.expected_regret)


@pytest.mark.parametrize("instances, trace, built, blocked", [
    (1, False, False, False), (1, False, True, True), (2, False, False, True),
    (300, False, False, True), (2, True, True, False)])
def test_the_blocked_kernel_runs_several_instances_in_d_1(monkeypatch, instances, trace, built,
                                                          blocked):
    """One instance has nothing to spread over SIMD lanes: it runs the scalar loop, which
    compiles in less time (engines._compiled) — unless the blocked kernel of its key is built
    already (in this process or on disk), which then serves it; a trace needs the scalar
    loop."""
    from amsgrad_theory import get_arithmetic
    from amsgrad_theory.engine import engines
    from amsgrad_theory.engine.arrays import RunPlan

    problem = get_problem("reddi-online:C=3", instances=[{}] * instances)
    plan = RunPlan(variant=get_variant("amsgrad"), problem=problem, hp_rows=[{}] * instances,
                   x0=None, checkpoints=np.array([10]), steps=10, trace=trace, record_x=False,
                   full_statistics=False)
    ar = get_arithmetic("float64:numba")
    monkeypatch.setattr(engines, "_KERNELS", {})
    monkeypatch.setattr(engines, "kernel_on_disk", lambda key: False)
    if built:
        engines._KERNELS[engines.Engine("compiled", ar, blocked=True).key(plan)] = None
    assert engines.choose_engine(ar, plan).blocked is blocked
    if built and not trace:         # the same from a marker on disk
        monkeypatch.setattr(engines, "_KERNELS", {})
        monkeypatch.setattr(engines, "kernel_on_disk",
                            lambda key: key[2] and key[:2] == ("compiled", ar.number))
        assert engines.choose_engine(ar, plan).blocked is blocked


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_every_checkpoint_equals_the_python_loop_across_chunks(engine):
    """Checkpoints inside and at the end of chunks (chunk = 7 steps) carry the same numbers
    as the Python loop: x_t, every accumulator, the effective-step record."""
    problem = get_problem("bernoulli-linear:C=5,c=1,p=0.3",
                          instances=[{"seed": str(s)} for s in range(5)])
    kwargs = dict(steps=200, hyperparameters={"alpha": "0.1", "beta2": "0.99"}, chunk=7,
                  record_x=True)
    ref = simulate("amsgrad", problem, arithmetic="float64:python", **kwargs)
    other = simulate("amsgrad", problem, arithmetic=f"float64:{engine}", **kwargs)
    for a, b in zip(ref.instances, other.instances):
        assert a.checkpoints.keys() == b.checkpoints.keys()
        for key in a.checkpoints:
            assert [float(v) for v in a.checkpoints[key]] == \
                [float(v) for v in b.checkpoints[key]], key
        assert [[float(v) for v in row] for row in a.checkpoint_x] == \
            [[float(v) for v in row] for row in b.checkpoint_x]
        assert [float(v) for v in a.last_played_x] == [float(v) for v in b.last_played_x]
        assert a.effective_step == b.effective_step
        assert float(a.regret) == float(b.regret)


def _hardware_fma():
    """The CPU's fused multiply-add (llvm.fma through numba): the reference."""
    import numba

    from amsgrad_theory.arithmetic.floats import _numba_fma

    fma = _numba_fma()

    @numba.njit
    def hw(a, b, c):
        return fma(a, b, c)

    return hw


def _random_floats(rng, dtype, n):
    """Values across the range: subnormals, tiny and huge normals, random bit patterns."""
    info = np.finfo(dtype)
    tiny = rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(np.log10(float(info.smallest_subnormal)),
                                                        np.log10(float(info.tiny)) + 5, n)
    mid = rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(-10, 10, n)
    bits = rng.integers(0, 2 ** (8 * np.dtype(dtype).itemsize), n, dtype=np.uint64)
    raw = bits.astype(np.uint32 if dtype == np.float32 else np.uint64).view(dtype)
    out = np.concatenate([tiny.astype(dtype), mid.astype(dtype), raw])
    return out[np.isfinite(out)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pure_python_fma_is_the_hardware_fma_subnormals_included(dtype):
    """The interpreted engine's fused multiply-add rounds once, also where the product or the
    result is subnormal (Dekker's split alone loses the product's low bits there)."""
    from amsgrad_theory.arithmetic.floats import fma32, fma64

    hw = _hardware_fma()
    fma = fma64 if dtype == np.float64 else fma32
    rng = np.random.default_rng(7)
    values = _random_floats(rng, dtype, 4000)
    a, b, c = (rng.choice(values, 6000) for _ in range(3))
    with np.errstate(over="ignore", invalid="ignore"):
        for x, y, z in zip(a, b, c):
            got, want = fma(x, y, z), hw(dtype(x), dtype(y), dtype(z))
            assert got == want or (np.isnan(got) and np.isnan(want)), (x, y, z, got, want)


def _engine_bits(result):
    inst = result.instances[0]
    return ([np.float64(v).tobytes() for v in inst.final_x],
            [np.float64(v).tobytes() for v in inst.m + inst.v + inst.vhat],
            np.float64(inst.loss).tobytes())


def _every_engine_agrees(variant, dtype):
    hp = {"alpha": "0.05", "beta1": "0.8", "beta2": "0.99"}
    runs = {engine: simulate(variant, "random-linear:d=3,seed=4", steps=80, hyperparameters=hp,
                             arithmetic=f"{dtype}:{engine}")
            for engine in ("python", "numba", "numpy")}
    reference = _engine_bits(runs["python"])
    for engine, result in runs.items():
        assert _engine_bits(result) == reference, (variant, dtype, engine)


@pytest.mark.parametrize("variant", [
    "amsgrad-optax", pytest.param("amsgrad-pytorch-differentiable", marks=pytest.mark.slow)])
@pytest.mark.compiled
def test_framework_numerics_are_bit_identical_on_every_engine(variant):
    """Coefficients computed in float32 or in the lane dtype (a framework's numerics) are the
    same numbers whether the loop is interpreted, compiled by numba or vectorised by numpy
    (numba types a Python-float constant as a double, and widens float32 ** float32)."""
    _every_engine_agrees(variant, "float32")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("variant", variant_names())
def test_every_preset_is_bit_identical_on_every_engine(variant, dtype):
    _every_engine_agrees(variant, dtype)


def test_block_size_and_the_partition_leave_the_numbers_alone(monkeypatch):
    """Blocks are independent: the same batch split into blocks of 128, 48 or 32 instances
    (engine.arrays.block_size: fewer per block where threads would otherwise idle) gives the
    same numbers bit for bit."""
    from amsgrad_theory.engine import arrays

    assert arrays.block_size(4096, 1) == arrays.BLOCK
    assert arrays.block_size(300, 2) == 48 and arrays.block_size(4096, 16) == 64
    assert arrays.block_size(5, 8) == arrays.MIN_BLOCK
    problem = get_problem("bernoulli-linear:C=5,c=1,p=0.3",
                          instances=[{"seed": str(s)} for s in range(300)])
    runs = []
    for threads in (1, 2, 64):        # blocks of 75 → 80, 48 and 32 instances
        monkeypatch.setattr(arrays, "_threads", lambda t=threads: t)
        res = simulate("amsgrad", problem, steps=200, arithmetic="float64:numba",
                       hyperparameters={"alpha": "0.1"})
        assert res.engine == "numba-blocked"
        runs.append(res.table())
    for other in runs[1:]:
        for key in ("final_x", "regret", "effective_step_increases"):
            assert np.array_equal(runs[0][key], other[key]), key
