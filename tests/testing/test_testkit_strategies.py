"""The public strategies: valid by construction, never NaN/inf/subnormal, strict validation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument as HypothesisInvalidArgument

from amsgrad_theory.algorithms import get_variant, validate_hyperparameters
from amsgrad_theory.errors import InputError
from amsgrad_theory.problems import get_problem
from amsgrad_theory.testing import InvalidArgument
from amsgrad_theory.testing import strategies as ats

TINY32 = float(np.finfo(np.float32).tiny)


def _valid_entry(v: float, lo: float, hi: float, width: int) -> bool:
    if not math.isfinite(v):
        return False
    if v == 0.0:
        return True
    exact = float(np.float32(v)) == v if width == 32 else True
    return exact and lo <= abs(v) <= hi and abs(v) >= TINY32


@pytest.mark.parametrize("kind", ats.SEQUENCE_KINDS)
def test_sequences_are_finite_normal_and_exact_in_float32(kind):
    @given(ats.gradient_sequences(kind=kind, min_size=3, max_size=25))
    def check(g):
        assert 3 <= len(g) <= 25
        assert all(isinstance(v, float) and _valid_entry(v, 2.0 ** -10, 2.0 ** 10, 32)
                   for v in g), g
    check()


@given(ats.gradient_sequences(min_magnitude=1e-30, max_magnitude=1e15, width=64,
                              allow_negative=False, max_size=10))
def test_sequences_respect_magnitudes_and_sign(g):
    assert all(v == 0.0 or 1e-30 <= v <= 1e15 for v in g)


@given(ats.hyperparameters(region="gamma<1"))
def test_gamma_below_one_region_is_exact(hp):
    assert Fraction(hp["beta1"]) ** 2 < Fraction(hp["beta2"])
    assert ats.gamma_below_one(hp)
    validate_hyperparameters({**get_variant("amsgrad").hyperparameters(), **hp})


@given(ats.hyperparameters(region="gamma>=1", variant="adamx"))
def test_gamma_at_least_one_region_and_decay(hp):
    assert not ats.gamma_below_one(hp)
    assert "beta1_decay" in hp
    get_variant("adamx").hyperparameters(**hp)


@given(ats.hyperparameters(variant="amsgrad-pytorch", min_alpha=1e-3, max_alpha=1e-2))
def test_hyperparameters_are_accepted_by_the_variant(hp):
    assert 1e-3 <= float(hp["alpha"]) <= 1e-2
    get_variant("amsgrad-pytorch").hyperparameters(**hp)


@given(ats.problems())
def test_problem_specs_parse(spec):
    assert get_problem(spec).d >= 1


@pytest.mark.parametrize("call, argument", [
    (lambda: ats.gradient_sequences(kind="wavy"), "kind"),
    (lambda: ats.gradient_sequences(min_size=0), "min_size"),
    (lambda: ats.gradient_sequences(min_size=5, max_size=2), "max_size"),
    (lambda: ats.gradient_sequences(max_size=2.5), "max_size"),
    (lambda: ats.gradient_sequences(min_magnitude=0.0), "min_magnitude"),
    (lambda: ats.gradient_sequences(min_magnitude=1e-45), "min_magnitude"),
    (lambda: ats.gradient_sequences(max_magnitude=math.inf), "max_magnitude"),
    (lambda: ats.gradient_sequences(max_magnitude=1e30), "max_magnitude"),
    (lambda: ats.gradient_sequences(min_magnitude=2.0, max_magnitude=1.0), "min_magnitude"),
    (lambda: ats.gradient_sequences(width=16), "width"),
    (lambda: ats.gradient_sequences(allow_negative="yes"), "allow_negative"),
    (lambda: ats.hyperparameters(region="gamma<2"), "region"),
    (lambda: ats.hyperparameters(variant="adamw"), "variant"),
    (lambda: ats.hyperparameters(min_alpha=-1.0), "min_alpha"),
    (lambda: ats.hyperparameters(min_alpha=1.0, max_alpha=0.1), "min_alpha"),
    (lambda: ats.problems(families=["reddi"]), "families"),
    (lambda: ats.problems(families="reddi-online"), "families"),
    (lambda: ats.problems(max_dimension=0), "max_dimension"),
])
def test_invalid_arguments_name_the_argument_and_value(call, argument):
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.argument == argument
    assert str(info.value).startswith(f"{argument}=")
    assert isinstance(info.value, HypothesisInvalidArgument)
    assert isinstance(info.value, InputError)


def test_strategies_compose_with_hypothesis():
    pairs = st.tuples(ats.gradient_sequences(kind="sparse"), ats.hyperparameters())

    @given(pairs)
    def check(pair):
        g, hp = pair
        assert g and "beta2" in hp
    check()



def test_a_search_finds_the_same_minimum_without_the_explain_phase():
    """``search_settings`` drops only the explain phase: ``find`` returns the same minimal
    example, and no run goes under the tracer that phase installs once an example has failed
    (``sys.settrace`` on every line the predicate executes); the parent's other settings
    stay."""
    import sys

    from hypothesis import Phase, find, settings

    from amsgrad_theory.strategies import search_settings

    traced = {"default": 0, "search": 0}

    def sums_past_ten(key):
        def predicate(xs):
            traced[key] += sys.gettrace() is not None
            return sum(xs) > 10 and len(xs) > 2
        return predicate

    base = settings(max_examples=150, database=None, derandomize=True, deadline=None)
    search = search_settings(base)
    assert set(search.phases) == set(base.phases) - {Phase.explain}
    assert (search.max_examples, search.derandomize) == (150, True)
    lists = st.lists(st.integers(0, 20))
    found = find(lists, sums_past_ten("default"), settings=base)
    assert find(lists, sums_past_ten("search"), settings=search) == found == [0, 0, 11]
    if sys.gettrace() is None:      # Hypothesis traces only where no tracer (coverage) runs
        assert traced["search"] == 0 < traced["default"], traced
