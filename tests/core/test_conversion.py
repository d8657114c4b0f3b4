"""Issue 11: the library refuses, as the command line does, every number that does not survive
conversion into a float arithmetic (it would run a different problem and answer finitely and
wrongly), and keeps them exactly under mpmath and arb."""

from fractions import Fraction

import pytest

from amsgrad_theory import InputError, get_problem, simulate

REFUSED = [
    ("float64", {"hyperparameters": {"alpha": "1e400"}}, "alpha", "inf"),
    ("float64", {"hyperparameters": {"eps": "1e400"}}, "eps", "inf"),
    ("float64", {"problem": "gradient-sequence:g=[1e-400]"}, "g", "0"),
    ("float64", {"problem": "gradient-sequence:g=[1,1e400]"}, "g", "inf"),
    ("float64", {"problem": "reddi-online:C=1e-400"}, "C", "0"),
    ("float64", {"x0": "1e-400"}, "x0", "0"),
    ("float64", {"x0": ["0", "1e-400"], "problem": "random-linear:d=2"}, "x0", "0"),
    ("float32", {"problem": "gradient-sequence:g=[1e-50]"}, "g", "0"),
    ("float32", {"problem": "gradient-sequence:g=[1e39]"}, "g", "inf"),
    ("float64", {"hyperparameters": [{"alpha": "0.1"}, {"alpha": "1e400"}],
                 "problem": get_problem("reddi-online", [{"C": "3"}, {"C": "2"}])}, "alpha",
     "inf"),
]


@pytest.mark.parametrize("arithmetic,kwargs,argument,rounds", REFUSED)
def test_simulate_refuses_inputs_that_round_to_inf_or_zero(arithmetic, kwargs, argument,
                                                           rounds):
    call = {"problem": "reddi-online:C=3", "steps": 3, "arithmetic": arithmetic, **kwargs}
    with pytest.raises(InputError) as info:
        simulate("amsgrad", **call)
    assert info.value.argument == argument
    assert f"rounds to {rounds}" in str(info.value)


@pytest.mark.parametrize("arithmetic", ["mpmath:30", "arb:64"])
def test_exact_arithmetics_keep_tiny_inputs(arithmetic):
    # g_t = 1e-400 every step: AMSGrad's x moves as it does for any constant gradient (the
    # update is scale-free when ε = 0), far from the 0 a float64 run of g = 0 would give
    tiny = simulate("amsgrad", "gradient-sequence:g=[1e-400]", steps=3, arithmetic=arithmetic)
    one = simulate("amsgrad", "gradient-sequence:g=[1]", steps=3, arithmetic=arithmetic)
    assert abs(Fraction(str(tiny.to_float(tiny.final_x[0])))
               - Fraction(str(one.to_float(one.final_x[0])))) < Fraction(1, 10 ** 12)
    assert tiny.to_float(tiny.final_x[0]) < -0.5


# texts at every edge of float32 and float64: 0, ±inf, subnormal, exact subnormal, a/b
EDGE_TEXTS = ["3", "0", "-0.0", "1e39", "-1e39", "3.4028235e38", "1e-46", "1e-40",
              "1.401298464324817e-45", "1e400", "1e-400", "1/3", "1/1" + "0" * 50, "2.5e-308",
              "-7", "1e-38"]


def _one_by_one(ar, items, modes):
    for argument, text in items:
        for mode in modes:
            ar.check_input(argument, text, **mode)


def _outcome(check):
    try:
        check()
    except InputError as error:
        return error.argument, error.value, str(error)
    return None


@pytest.mark.parametrize("arithmetic", ["float32", "float64"])
@pytest.mark.parametrize("modes", [({},), ({"lane": True},),
                                   ({}, {"lane": True, "zero_ok": True})])
def test_bulk_check_names_what_one_by_one_checks_name(arithmetic, modes):
    # every ordered pair of edge texts: the bulk check (one array pass, then one by one only
    # the values at an edge) refuses exactly what the per-text check refuses, naming the same
    # text first, also where the later text fails in an earlier mode
    from amsgrad_theory import get_arithmetic

    ar = get_arithmetic(arithmetic)
    for first in EDGE_TEXTS:
        for second in EDGE_TEXTS:
            items = [("a", "1"), ("b", first), ("c", second)]
            assert _outcome(lambda: ar.check_inputs(items, modes=modes)) == \
                _outcome(lambda: _one_by_one(ar, items, modes)), (first, second)
