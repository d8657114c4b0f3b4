"""Bad input: a clear error naming the argument and value, exit status 2, no traceback."""

from __future__ import annotations

import pytest

from amsgrad_theory import InputError, NumericalError, simulate
from amsgrad_theory.cli import main

BASE = ["simulate", "--algorithm", "amsgrad", "--problem", "reddi-online:C=3", "--steps", "10"]


def cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("extra, needle", [
    (["--beta1", "1"], "beta1='1'"),
    (["--beta1", "-0.1"], "beta1='-0.1'"),
    (["--beta2", "1.5"], "beta2='1.5'"),
    (["--alpha", "0"], "alpha='0'"),
    (["--alpha", "-1"], "alpha='-1'"),
    (["--eps=-1e-8"], "eps='-1e-8'"),
    (["--alpha", "abc"], "alpha='abc'"),
    (["--x0", "2"], "x0='2'"),
    (["--x0", "[0,0]"], "x0='[0,0]'"),
    (["--arithmetic", "float16x"], "arithmetic='float16x'"),
    (["--arithmetic", "mpmath:x"], "arithmetic='mpmath:x'"),
    (["--arithmetic", "torch:nosuchdevice"], "arithmetic='torch:nosuchdevice'"),
    (["--arithmetic", "torch:cuda:7"], "arithmetic='torch:cuda:7'"),
    (["--beta1-decay", "0"], "beta1_decay='0'"),
])
def test_bad_values_exit_2_naming_argument(extra, needle, capsys):
    code, out, err = cli(BASE + extra, capsys)
    assert code == 2 and needle in err and "Traceback" not in err and out == ""


def test_unknown_names_list_valid_ones(capsys):
    code, _, err = cli(["simulate", "--algorithm", "amsgard", "--problem", "reddi-online",
                        "--steps", "5"], capsys)
    assert code == 2 and "amsgrad-pytorch" in err and "amsgard" in err
    code, _, err = cli(["simulate", "--algorithm", "amsgrad", "--problem", "nope:C=1",
                        "--steps", "5"], capsys)
    assert code == 2 and "reddi-figure1" in err


@pytest.mark.parametrize("spec", ["reddi-online:C", "reddi-online:C=", "reddi-online:C=x",
                                  "periodic-linear:period=1", "gradient-sequence:g=[1,",
                                  "gradient-sequence:g=[[1],[1,2]]", "random-linear:d=0",
                                  "random-linear:sparsity=0", "reddi-online:C=3,C=4",
                                  "reddi-figure1:C=3", "reddi-online:foo=1",
                                  "bernoulli-linear:p=2"])
def test_malformed_problem_specs(spec, capsys):
    code, out, err = cli(["simulate", "--algorithm", "amsgrad", "--problem", spec,
                          "--steps", "5"], capsys)
    assert code == 2 and "error" in err and "Traceback" not in err


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_steps_must_be_positive(steps, capsys):
    code, _, err = cli(["simulate", "--algorithm", "amsgrad", "--problem", "reddi-online",
                        "--steps", steps], capsys)
    assert code == 2 and f"steps={steps}" in err.replace("'", "")


def test_non_finite_gradient_stops_with_step_and_coordinate(capsys):
    with pytest.raises(NumericalError) as info:
        simulate("amsgrad", "gradient-sequence:g=[[1,2],[3,1e400]]", steps=5)
    assert info.value.step == 2 and info.value.coordinate == 1
    code, _, err = cli(["simulate", "--algorithm", "amsgrad", "--problem",
                        "gradient-sequence:g=[[1,2],[3,1e400]]", "--steps", "5"], capsys)
    assert code == 2 and "t=2" in err and "i=1" in err


def test_errors_are_raised_before_any_work():
    with pytest.raises(InputError):
        simulate("amsgrad", "reddi-online", steps=10, hyperparameters={"beta2": "1"})
    with pytest.raises(InputError):
        simulate("amsgrad", "reddi-online", steps=10, hyperparameters={"nonsense": "1"})


def test_seed_flag(capsys):
    code, out, _ = cli(["simulate", "--algorithm", "amsgrad", "--problem", "bernoulli-linear",
                        "--seed", "3", "--steps", "5", "--json"], capsys)
    assert code == 0 and '"seed=3"' not in out and "seed=3" in out
    code, _, err = cli(["simulate", "--algorithm", "amsgrad", "--problem", "reddi-online",
                        "--seed", "3", "--steps", "5"], capsys)
    assert code == 2 and "no random stream" in err
