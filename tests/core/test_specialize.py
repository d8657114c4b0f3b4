"""The specialiser (amsgrad_theory.specialize) and the specialised interpreted kernels.

The kernels' contract: a specialised kernel performs the same operations on the same operands as
the plain composed functions, so every array it writes is equal bit for bit — checked here over
every variant, every separable problem family and every interpreted arithmetic.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest
from covering import covering
from flint import arb

from amsgrad_theory import simulate
from amsgrad_theory.algorithms import get_variant, variant_names
from amsgrad_theory.arithmetic import get_arithmetic
from amsgrad_theory.engine import engines
from amsgrad_theory.engine.interpreted import make_python_kernel
from amsgrad_theory.engine.specialize import NotSpecializable, specialize
from amsgrad_theory.engine.vector import make_vector_kernel
from amsgrad_theory.errors import NumericalError
from amsgrad_theory.lanecode import lane_code
from amsgrad_theory.problems import get_problem

# ------------------------------------------------------------------------------------------
# the specialiser on small functions
# ------------------------------------------------------------------------------------------


def _make(mode):
    k = 3.0

    @lane_code
    def gt(a, b):
        if a > b:
            return True
        if a <= b:
            return False
        return None

    @lane_code
    def square(a):
        return a * a

    @lane_code
    def inner(x, y):
        if mode == "double":
            z = x * 2
        else:
            z = x + k
        return z, gt(z, y)

    def outer(n, y):
        acc = 0.0
        for t in range(n):
            c = square(k) + 1.0
            z, up = inner(t, y)
            acc = acc + z * c + (1 if up else 0)
        return acc

    return outer


@pytest.mark.parametrize("mode", ["double", "plus"])
def test_constants_folded_calls_inlined_invariants_hoisted(mode):
    f = _make(mode)
    g = specialize(f)
    src = g.__specialized_source__
    assert [f(n, 5.0) for n in range(12)] == [g(n, 5.0) for n in range(12)]
    assert "inner(" not in src and "gt(" not in src and "square(" not in src
    assert "mode" not in src                          # the branch on it is gone
    # square(k) + 1 = 10 is computed before the loop, not in it
    loop_at = src.index("for t in")
    assert "10.0" not in src[loop_at:] and "c = 10.0" in src[:loop_at]


def test_swapping_tuple_assignment_keeps_python_semantics():
    @lane_code
    def swap(a, b):
        return b, a

    def f(x, y):
        for _ in range(3):
            x, y = swap(x, y + 1)
        return x, y

    assert specialize(f)(1, 10) == f(1, 10)


def test_keywords_defaults_lambdas_and_named_tuples():
    class Pair(NamedTuple):
        a: float
        b: float

    scale = lane_code(lambda v: v * 2.5)    # lambdas are inlined through their positions

    @lane_code
    def make(a, b=4.0):
        return Pair(scale(a), b)

    def f(x):
        p = make(x, b=x + 1)
        q = make(x)
        return p[0] + p[1] + q[1]

    g = specialize(f)
    assert g(3.0) == f(3.0)
    assert "Pair(" not in g.__specialized_source__ and "scale(" not in g.__specialized_source__


def test_named_tuple_fields_are_read_by_name_and_survive_when_they_escape():
    """A NamedTuple read by field name is taken apart like one read by index; one that leaves
    the function (returned, appended) is built as the NamedTuple again, so its fields can
    still be read by whoever receives it."""
    class Pair(NamedTuple):
        first: float
        second: float

    @lane_code
    def make(a):
        return Pair(a + 1.0, a * 3.0)

    def by_name(x):
        p = make(x)
        return p.first + p.second

    def escapes(n):
        out = []
        for t in range(n):
            out.append(make(t))
        return out

    g = specialize(by_name)
    assert g(2.0) == by_name(2.0) == 9.0
    assert "Pair(" not in g.__specialized_source__ and ".first" not in g.__specialized_source__
    h = specialize(escapes)
    assert [p.second for p in h(3)] == [0.0, 3.0, 6.0]
    assert all(isinstance(p, Pair) for p in h(3))


def test_what_cannot_be_read_stays_a_call():
    @lane_code
    def looping(n):
        s = 0
        for i in range(n):
            s += i
        return s

    def f(n):
        return looping(n) + math.floor(n / 2) + abs(-n)

    g = specialize(f)
    assert g(7) == f(7)
    assert "looping(" in g.__specialized_source__            # a loop: not inlined
    assert any("looping" in note for note in g.__specialization_fallbacks__)
    with pytest.raises(NotSpecializable):
        specialize(len)


def test_calls_of_the_function_itself_are_not_assumed_pure():
    def f(n):
        out = []
        total = 0
        for i in range(n):
            k = len(out)              # the function's own call: may see out change
            out.append(i)
            total = total + k
        return total

    g = specialize(f)
    assert g(5) == f(5) == 10


def test_nothing_is_hoisted_past_a_break():
    def f(values, d):
        hits = 0
        for v in values:
            if v < 0:
                break
            hits = hits + 1.0 / d      # invariant, but only reached when v ≥ 0
        return hits

    g = specialize(f)
    assert g([-1.0], 0.0) == f([-1.0], 0.0) == 0    # never divides by d = 0
    assert g([1.0, 2.0], 4.0) == f([1.0, 2.0], 4.0)


def test_conditional_parts_are_not_hoisted():
    def f(xs, d):
        s = 0.0
        for _x in xs:
            s = s + (1.0 / d if d != 0 else 0.0)
        return s

    assert specialize(f)([1.0, 2.0], 0.0) == 0.0


# ------------------------------------------------------------------------------------------
# specialised kernels equal the plain ones bit for bit
# ------------------------------------------------------------------------------------------


def _key(v):
    if isinstance(v, arb):
        if v.mid().is_finite() and v.rad().is_finite():
            return ("arb", v.mid().man_exp(), v.rad().man_exp())
        return ("arb", repr(v))
    if hasattr(v, "_mpf_"):
        return ("mpf", v._mpf_)
    if isinstance(v, (float, np.floating)):
        return ("f", np.asarray(v).tobytes(), type(v).__name__)
    return (type(v).__name__, v)


def _array_bits(a):
    if isinstance(a, (list, tuple)):
        return [_array_bits(x) for x in a]
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if a.dtype == object:
        return [_key(v) for v in a.ravel()]
    return (a.dtype.str, a.shape, a.tobytes())


def _state_bits(result):
    arrays = result._state
    out = {name: _array_bits(getattr(arrays.state, name))
           for name in ("ints", "lanes", "sums", "coupled_loss", "counts")}
    out.update({name: _array_bits(getattr(arrays.outputs, name))
                for name in ("records", "snapshots", "iterates", "trace", "trace_scalars")})
    return out


def _both(monkeypatch, *args, **kwargs):
    """The run through the plain kernel, then through the specialised one (forced even for
    these short runs)."""
    monkeypatch.setattr(engines, "SPECIALIZE_MIN_WORK", 0)
    runs = []
    for flag in (False, True):
        monkeypatch.setattr(engines, "SPECIALIZE", flag)
        try:
            runs.append(simulate(*args, **kwargs))
        except NumericalError as exc:
            runs.append(str(exc))
    return runs


ARITHMETICS = ["float64:python", "float32:python", "mpmath:25", "arb:80"]
VECTOR = ["float64:numpy", "float32:numpy", "torch:cpu:float64", "torch:cpu:float32"]


@pytest.mark.parametrize("variant, arithmetic",
                         covering(variant_names(), ARITHMETICS + VECTOR, per_value=2))
def test_every_variant_specialised_equals_plain(monkeypatch, arithmetic, variant):
    problem = get_problem("bernoulli-linear:C=5,c=1,p=0.3",
                          instances=[{"seed": str(s)} for s in range(3)])
    hps = [{"alpha": a, "beta2": b} for a, b in [("0.05", "0.99"), ("0.1", "0.999"),
                                                 ("0.02", "0.99")]]
    plain, fast = _both(monkeypatch, variant, problem, steps=40, arithmetic=arithmetic,
                        hyperparameters=hps, trace=True)
    assert _state_bits(plain) == _state_bits(fast)


@pytest.mark.parametrize("problem, arithmetic", covering(
    ["periodic-linear", "random-linear:d=3", "random-quadratic:d=3", "reddi-theorem2",
     "reddi-figure1-stochastic", "reddi-theorem3", "gradient-sequence:g=[1,-2,0.5]"],
    ARITHMETICS + VECTOR, per_value=2))
def test_every_separable_family_specialised_equals_plain(monkeypatch, arithmetic, problem):
    """Interpreted arithmetics specialise separable problems; the vector engines every one."""
    plain, fast = _both(monkeypatch, "amsgrad-pytorch", problem, steps=60,
                        arithmetic=arithmetic, trace=True, record_x=True)
    assert _state_bits(plain) == _state_bits(fast)


@pytest.mark.parametrize("arithmetic", VECTOR)
@pytest.mark.parametrize("problem", ["random-logistic:d=3", "random-hinge:d=4",
                                     "random-quadratic:d=3,set=ball,radius=2"])
def test_vector_engines_specialise_coupled_and_ball_problems(monkeypatch, arithmetic, problem):
    plain, fast = _both(monkeypatch, "amsgrad", problem, steps=60, arithmetic=arithmetic,
                        trace=True, record_x=True)
    assert _state_bits(plain) == _state_bits(fast)


@pytest.mark.parametrize("arithmetic", ["float32:python", "float64:python", "float32:numpy",
                                        "torch:cpu:float32"])
def test_a_non_finite_step_is_reported_identically(monkeypatch, arithmetic):
    # SGD's step α·g with g = 1e30 leaves the floats at step 1 (α = 1e300 in float64, 1e30 in
    # float32, where 1e300 itself is refused as an input): both paths say where
    alpha = "1e300" if "float64" in arithmetic else "1e30"
    plain, fast = _both(monkeypatch, "sgd", "gradient-sequence:g=[1e30,-1e30],set=none",
                        steps=30, arithmetic=arithmetic, hyperparameters={"alpha": alpha})
    assert isinstance(plain, str) and "step t=1" in plain
    assert plain == fast


SEPARABLE = ["reddi-online:C=3", "periodic-linear", "bernoulli-linear", "random-linear:d=3",
             "random-quadratic:d=3", "gradient-sequence:g=[1,-2,0.5]"]
_LANE_CALLS = ("lane_math(", "update(", "schedule(", "finish(", "powers(", "steps_of(",
               "advance(", "data(", "grad(", "loss(", "suff(", "track(", "bound_terms(",
               "draw(", "mix(")


@pytest.mark.parametrize("variant, problem, arithmetic",
                         covering(variant_names(), SEPARABLE, ARITHMETICS))
def test_every_preset_and_family_is_fully_specialised(arithmetic, variant, problem):
    """Specialisation does not fall back, loudly or silently, for any preset × separable family
    × interpreted arithmetic: no note, and no lane function left as a call in the flat loop (in
    d = 1 one loop computes the coefficients too; in d > 1 they are computed once for the
    lanes)."""
    ar = get_arithmetic(arithmetic)
    xp, sp = ar.namespaces("interpreted")
    kernel, notes = make_python_kernel(ar, xp, sp, get_variant(variant), get_problem(problem))
    assert notes == ()
    names = kernel.__code__.co_freevars
    flat = ["run_lane"] + (["schedule_chunk", "advance_chunk"] if "d=3" in problem else [])
    for name in flat:
        src = kernel.__closure__[names.index(name)].cell_contents.__specialized_source__
        for call in _LANE_CALLS:
            assert call not in src, (name, call)


@pytest.mark.parametrize("problem, variant, arithmetic", covering(
    SEPARABLE + ["random-logistic:d=3", "random-hinge:d=2"],
    ["amsgrad", "amsgrad-pytorch", "amsgrad-keras", "adamx"], VECTOR))
def test_every_vector_kernel_is_fully_specialised(arithmetic, variant, problem):
    ar = get_arithmetic(arithmetic)
    xp, sp = ar.namespaces("vector")
    kernel, notes = make_vector_kernel(ar, xp, sp, get_variant(variant), get_problem(problem))
    assert notes == ()
    for call in _LANE_CALLS:
        assert call not in kernel.__specialized_source__, call


@pytest.mark.parametrize("variant, problem, dtype", covering(
    variant_names(), SEPARABLE + ["random-logistic:d=3", "random-quadratic:d=3,set=ball"],
    ["float64", "float32"]))
def test_every_compiled_kernel_is_flat(variant, problem, dtype):
    """The compiled engine hands numba flat loops: no lane function left as a call (numba
    would inline it at its IR level, re-typed per call site: the compile time flattening
    saves). Built, not compiled: numba compiles at the first call."""
    from amsgrad_theory.engine.compiled import compile_kernel

    ar = get_arithmetic(f"{dtype}:numba")
    xp, sp = ar.namespaces("compiled")
    prob = get_problem(problem)
    blocked = prob.d == 1 and not prob.coupled and prob.set.kind != "ball"
    kernel, notes = compile_kernel(ar, xp, sp, get_variant(variant), prob, blocked=blocked,
                                   full_statistics=True)
    assert notes == ()
    flat = [kernel.py_func]
    if blocked:     # the per-block function the prange loop calls
        names = kernel.py_func.__wrapped__.__code__.co_freevars
        flat.append(kernel.py_func.__wrapped__.__closure__[names.index("run_block")]
                    .cell_contents.py_func)
    for fn in flat:
        for call in _LANE_CALLS:
            assert call not in fn.__specialized_source__, (fn.__name__, call)


def test_unmarked_functions_are_never_inlined():
    """Only lane code is inlined: a function without the mark stays a call (it may have side
    effects the specialiser cannot see), a marked one is inlined."""
    seen = []

    def unmarked(a):
        seen.append(a)          # a side effect
        return a + 1.0

    @lane_code
    def marked(a):
        return a * 2.0

    def outer(n):
        acc = 0.0
        for t in range(n):
            acc = acc + unmarked(marked(t))
        return acc

    flat = specialize(outer)
    assert "unmarked(" in flat.__specialized_source__
    assert "marked(" not in flat.__specialized_source__.replace("unmarked(", "")
    assert flat(4) == outer(4) and len(seen) == 8


def test_a_marked_function_that_cannot_be_inlined_is_recorded():
    """A fallback is loud: the lane function that stays a call is named."""
    @lane_code
    def loops(a):
        for _ in range(2):
            a = a + 1.0
        return a

    def outer(n):
        acc = 0.0
        for t in range(n):
            acc = acc + loops(t)
        return acc

    flat = specialize(outer)
    assert flat(3) == outer(3)
    assert any("loops" in note for note in flat.__specialization_fallbacks__)


@pytest.mark.parametrize("arithmetic", ["float64:numba", "mpmath:20", "float64:numpy"])
def test_one_cached_kernel_serves_every_radius(monkeypatch, arithmetic):
    """Kernels are cached per set kind: the box's half-width comes in as data, so a run on
    [−1/8, 1/8]² after one on [−1, 1]² clips at 1/8 and equals a plain run."""
    monkeypatch.setattr(engines, "SPECIALIZE_MIN_WORK", 0)
    wide = simulate("amsgrad", "random-quadratic:d=2,seed=1", steps=300, arithmetic=arithmetic)
    narrow = simulate("amsgrad", "random-quadratic:d=2,seed=1,radius=0.125", steps=300,
                      arithmetic=arithmetic)
    assert max(abs(float(v)) for v in narrow.final_x) <= 0.125
    assert [float(v) for v in wide.final_x] != [float(v) for v in narrow.final_x]
    monkeypatch.setattr(engines, "SPECIALIZE", False)
    plain = simulate("amsgrad", "random-quadratic:d=2,seed=1,radius=0.125", steps=300,
                     arithmetic=arithmetic.replace("numba", "python").replace("numpy",
                                                                              "python"))
    assert [float(v) for v in narrow.final_x] == [float(v) for v in plain.final_x]
    assert float(narrow.regret) == float(plain.regret)


def test_the_kernel_cache_is_bounded(monkeypatch):
    """Arithmetic instances a user builds are cache keys too: the cache forgets its oldest."""
    from amsgrad_theory.arithmetic.mp import MpmathArithmetic

    monkeypatch.setattr(engines, "SPECIALIZE_MIN_WORK", 0)
    monkeypatch.setattr(engines, "_KERNELS", {})
    monkeypatch.setattr(engines, "_KERNELS_SIZE", 2)
    for _ in range(4):
        simulate("sgd", "reddi-online:C=3", steps=5, arithmetic=MpmathArithmetic(15))
        assert len(engines._KERNELS) <= 2


def test_a_deleted_local_keeps_its_assignment():
    """``del m`` reads m's binding: the assignment is not dead (it was dropped, and the flat
    function raised UnboundLocalError at the ``del``)."""

    def f(x):
        m = {"a": x}
        del m
        return x + 1.0

    g = specialize(f)
    assert g(1.0) == f(1.0) == 2.0
    assert "del m" in g.__specialized_source__
