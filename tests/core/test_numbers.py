"""Reading numbers' texts (amsgrad_theory.numbers) and sharing a batch's equal rows."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from amsgrad_theory import InputError, get_problem, simulate
from amsgrad_theory.numbers import CACHED_COLUMN, floats_of, parse_float

TEXTS = ["0.1", "1e-400", "-1e400", "1/3", "-2/7", " 5 ", "1e308", "4.9e-324", "7",
         "123456789012345678901234567890", "3/1", "1/" + "3" * 400, "-10" + "0" * 400 + "/3"]


def test_floats_of_is_the_correctly_rounded_value_of_each_text():
    got = floats_of(TEXTS)
    for text, value in zip(TEXTS, got.tolist()):
        q = Fraction(text.strip())
        try:
            want = float(q)              # Fraction → float rounds its exact value once
        except OverflowError:
            want = math.inf if q > 0 else -math.inf
        assert value == want, text
        assert parse_float(text) == value, text


def test_floats_of_caches_equal_columns_read_only():
    texts = [repr(0.1 * k) for k in range(100)]
    first = floats_of(texts)
    assert floats_of(list(texts)) is first            # an equal column: read once
    assert floats_of(texts[:-1]) is not first
    with pytest.raises(ValueError):
        first[0] = 1.0                                # a shared array cannot be changed
    long = ["1"] * (CACHED_COLUMN + 1)
    assert floats_of(long) is not floats_of(long)     # long columns are read every time
    assert floats_of(long).sum() == CACHED_COLUMN + 1


def test_floats_of_refuses_what_is_not_a_number():
    with pytest.raises((ValueError, ZeroDivisionError)):
        floats_of(["1", "one"])


def test_equal_rows_share_one_parse_and_each_instance_keeps_its_own():
    from amsgrad_theory.algorithms import get_variant
    from amsgrad_theory.engine.arrays import distinct_rows
    from amsgrad_theory.engine.simulate import _as_list_of_hp

    variant = get_variant("amsgrad")
    a, b = {"alpha": "0.1"}, {"alpha": "0.2"}
    reordered = {"beta1": "0.9", "alpha": "0.1"}
    same = {"alpha": "0.1", "beta1": "0.9"}
    unhashable = {"alpha": "0.1", "beta1": ["0.9"]}
    given = [a, b, dict(a), None, reordered, same, a, {}, b]
    rows = _as_list_of_hp(variant, given, len(given))
    distinct, which = distinct_rows(rows)
    # equal items in the same order share one dict; another order is another (equal) row
    assert which.tolist() == [0, 1, 0, 2, 3, 4, 0, 2, 1]
    assert rows[0] is rows[2] is rows[6] and rows[3] is rows[7] and rows[1] is rows[8]
    for i, row in enumerate(given):
        assert rows[i] == variant.hyperparameters(**(row or {})), i
    assert distinct_rows(list(rows))[1].tolist() == which.tolist()   # by identity, the same
    with pytest.raises(TypeError):          # a tuple: what it knows of its rows cannot go stale
        rows[0] = b                         # type: ignore[index]
    import pickle

    again = pickle.loads(pickle.dumps(rows))
    assert distinct_rows(again)[1].tolist() == which.tolist() and again[0] is again[2]
    # a value that cannot be hashed is keyed by its text (and then refused by the parser)
    with pytest.raises(InputError):
        _as_list_of_hp(variant, [a, unhashable], 2)
    with pytest.raises(InputError):
        _as_list_of_hp(variant, [a, b], 3)


def test_a_batch_of_shared_rows_runs_as_the_rows_run_alone():
    problem = get_problem("periodic-linear:period=3",
                          instances=[{"C": str(2 + k % 3), "c": "1"} for k in range(9)])
    rows = [{"alpha": "0.1"}, {"alpha": "0.2", "beta2": "0.999"}, {"alpha": "0.1"}] * 3
    batch = simulate("amsgrad", problem, steps=50, hyperparameters=rows,
                     arithmetic="float64:numpy")
    for k in range(9):
        alone = simulate("amsgrad", f"periodic-linear:period=3,C={2 + k % 3},c=1", steps=50,
                         hyperparameters=rows[k], arithmetic="float64:numpy")
        assert np.array_equal(np.asarray(batch.instances[k].final_x, dtype=float),
                              np.asarray(alone.instances[0].final_x, dtype=float)), k
