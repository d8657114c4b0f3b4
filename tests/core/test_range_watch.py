"""Float runs that leave the float range say so (NumericalError naming the quantity), where
they used to return a finite-looking answer that exact arithmetic contradicts."""

from __future__ import annotations

import pytest

from amsgrad_theory import NumericalError, simulate

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
