"""Bad input: a clear error naming the argument and value, exit status 2, no traceback."""

from __future__ import annotations

import json
import sys

import pytest

from amsgrad_theory import InputError, NumericalError, simulate
from amsgrad_theory.cli import main
from amsgrad_theory.problems import parse_sequence

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


@pytest.mark.parametrize("spec", ["reddi-online:C=x", "gradient-sequence:g=[1,1e99999999999]",
                                  "bernoulli-linear:p=1/0"])
def test_a_bad_number_in_a_problem_names_the_problem(spec, capsys):
    code, _, err = cli(["simulate", "--algorithm", "amsgrad", "--problem", spec,
                        "--steps", "5"], capsys)
    assert code == 2 and f"(in problem {spec!r})" in err


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_steps_must_be_positive(steps, capsys):
    code, _, err = cli(["simulate", "--algorithm", "amsgrad", "--problem", "reddi-online",
                        "--steps", steps], capsys)
    assert code == 2 and f"steps={steps}" in err.replace("'", "")


def test_non_finite_gradient_stops_with_step_and_coordinate(capsys):
    # 1e400 does not survive float64: refused up front, by the library as by the command line
    with pytest.raises(InputError, match="g='1e400'"):
        simulate("amsgrad", "gradient-sequence:g=[[1,2],[3,1e400]]", steps=5)
    # 1e200 does, and the run stops where its square overflows, naming the coordinate
    with pytest.raises(NumericalError) as info:
        simulate("amsgrad", "gradient-sequence:g=[[1,2],[3,1e200]]", steps=5)
    assert info.value.coordinate == 1 and info.value.since <= 2 <= info.value.step
    code, _, err = cli(["simulate", "--algorithm", "amsgrad", "--problem",
                        "gradient-sequence:g=[[1,2],[3,1e200]]", "--steps", "5"], capsys)
    assert code == 2 and "non-finite" in err and "i=1" in err


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


# ------------------------------------------------------------------------------------------
# issue 11: every bad input a clear error (each case below crashed, ran, or named the wrong
# argument before)
# ------------------------------------------------------------------------------------------

def run_cli(argv, capsys):
    """(exit status, stderr) of a command that must fail cleanly: no traceback, no output."""
    code, out, err = cli(argv, capsys)
    assert "Traceback" not in err and "Decimal(" not in err
    return code, err


def sim(problem, *extra):
    return ["simulate", "-a", "amsgrad", "-p", problem, "-T", "3", "-q", *extra]


@pytest.mark.parametrize("argv, needle", [
    # problem-spec parameters: finite, in range, integer where integer, the argument named
    (sim("periodic-linear:period=1e30"), "period='1e30'"),            # was OverflowError
    (sim("reddi-theorem3:C=-1"), "C='-1'"),                          # was ZeroDivisionError
    (sim("reddi-theorem3:delta=100"), "delta='100'"),                # named p='25.25'
    (sim("reddi-theorem3:p=0.3"), "fixes p"),                        # was ignored
    (sim("reddi-theorem2:C=1"), "C='1'"),                            # named period
    (sim("reddi-theorem2:period=4"), "fixes period"),                # was ignored
    (sim("random-hinge:d=3,radius=1e400"), "radius='1e400'"),        # was OverflowError
    (sim("random-logistic:d=2,set=ball,radius=1e300"), "radius='1e300'"),   # OverflowError
    (sim("random-quadratic:d=2,radius=1e400", "--arithmetic", "mpmath:20"),
     "D∞ ≈ 2.00e+400"),                                              # was OverflowError
    (sim("random-linear:d=3,seed=1e400"), "seed='1e400'"),           # was accepted
    (sim("random-linear:d=1e10"), "d='1e10'"),
    (sim("reddi-online:C=1_0"), "C='1_0'"),                          # arb cannot parse it
    (sim("reddi-online:C=inf"), "not a finite number"),
    (sim("reddi-online:C=1e5000"), "exponent beyond"),
    (sim("gradient-sequence:g=[NaN]"), "NaN is not a finite number"),
    (sim("gradient-sequence:g=[1e5000]"), "g='1e5000'"),
    # flags: the user's text, and numbers that do not survive float64
    (sim("reddi-online", "--alpha", "1e5000"), "alpha='1e5000'"),    # Fraction(10**5000)
    (sim("reddi-online", "--x0", "1e-400"), "x0='1e-400'"),
    (sim("reddi-online", "--x0", "[1e400]"), "x0='1e400'"),
    (sim("reddi-online", "--arithmetic", "mpmath:100000"), "arithmetic='mpmath:100000'"),
    (sim("reddi-online", "--arithmetic", "arb:1e9"), "whole number of bits"),
    (["check-proof", "-a", "amsgrad", "-p", "reddi-online", "-T", "5", "--search", "-1"],
     "search=-1"),                                                   # was InvalidArgument
    (["check-proof", "-a", "amsgrad", "-p", "reddi-online", "-T", "5", "--step", "nope"],
     "step='nope'"),                                                 # was ignored
    (["check-proof", "--example", "tran-phong-3.2", "--arithmetic", "float32"],
     "--arithmetic given"),                                          # was ignored
    (["check-proof", "-a", "amsgrad", "-p", "gradient-sequence:g=[0],set=none", "-T", "3"],
     "give set=box or set=ball"),                                    # was TypeError
    (["derive", "--list", "rho"], "NAME='rho'"),                     # was ignored
    (["audit", "torch-adam-amsgrad", "-q", "--lr", "1e400"], "alpha='1e400'"),  # said 'inf'
    (["audit", "torch-adam-amsgrad", "-q", "--lr", "1e-400"], "rounds to 0"),   # said > 0
    (["audit", "torch-adam-amsgrad", "-q", "--eps", "-1"], "eps='-1'"),         # said -1.0
    (["audit", "torch-adam-amsgrad", "-q", "--sequence", "[1e400]"], "sequence='1e400'"),
])
def test_bad_input_exits_2_naming_it(argv, needle, capsys):
    code, err = run_cli(argv, capsys)
    assert code == 2 and needle in err, err


@pytest.mark.parametrize("flags, needle", [
    (["--alpha=1e400"], "alpha='1e400'"),
    (["--eps=1e400"], "eps='1e400'"),
    (["-p", "reddi-online:C=1e-400"], "C='1e-400'"),
    (["-p", "gradient-sequence:g=[1e-400]"], "g='1e-400'"),
])
@pytest.mark.parametrize("arithmetic", ["float64", "float32", "torch:cpu:float64"])
def test_inputs_that_round_to_inf_or_0_are_refused_in_floats(flags, needle, arithmetic, capsys):
    problem = [] if "-p" in flags else ["-p", "reddi-online"]
    argv = ["simulate", "-a", "amsgrad", "-T", "3", "-q", "--arithmetic", arithmetic,
            *problem, *flags]
    code, err = run_cli(argv, capsys)
    number = "float32" if "32" in arithmetic and "-p" in flags else "float64"
    assert code == 2 and needle in err and f"does not survive conversion to {number}" in err


@pytest.mark.parametrize("flags", [["--alpha=1e400"], ["--eps=1e400"],
                                   ["-p", "reddi-online:C=1e-400"],
                                   ["-p", "gradient-sequence:g=[1e-400]"]])
@pytest.mark.parametrize("arithmetic", ["mpmath:30", "arb:64"])
def test_mpmath_and_arb_hold_them_and_run(flags, arithmetic, capsys):
    problem = [] if "-p" in flags else ["-p", "reddi-online"]
    code, out, err = cli(["simulate", "-a", "amsgrad", "-T", "3", "-q", "--json",
                          "--arithmetic", arithmetic, *problem, *flags], capsys)
    assert code == 0 and json.loads(out)["steps"] == 3, err


@pytest.mark.parametrize("problem, arithmetic, needle", [
    ("gradient-sequence:g=[1e-46]", "float32", "g='1e-46': does not survive conversion to "
                                               "float32: rounds to 0"),
    ("reddi-online:C=1e39", "float32", "C='1e39': does not survive conversion to float32"),
    ("reddi-online:C=70000", "torch:cpu:float16", "conversion to float16: rounds to inf"),
])
def test_problem_data_must_survive_the_lane_format(problem, arithmetic, needle, capsys):
    code, err = run_cli(sim(problem, "--arithmetic", arithmetic), capsys)
    assert code == 2 and needle in err


def test_an_unconstrained_quadratic_runs_without_a_gradient_bound(capsys):
    code, out, err = cli(sim("random-quadratic:d=2,set=none", "--json"), capsys)   # was a
    assert code == 0 and json.loads(out)["G_inf"] is None, err                      # ValueError


def test_json_numbers_print_as_the_user_wrote_them():
    values = parse_sequence("[0.1, 1e-400, [2, 3.50]]")
    assert repr(values) == "[0.1, 1e-400, [2, 3.50]]" and "Decimal" not in str(values)


@pytest.fixture
def little_memory(monkeypatch):
    """2 GiB available to the up-front check, and (Linux) an address-space limit a little above
    what the process holds, so that code without the check fails fast instead of paging."""
    from amsgrad_theory.commands import runflags

    monkeypatch.setattr(runflags, "available_memory", lambda: 2 << 30, raising=False)
    try:
        import resource

        with open("/proc/self/status", encoding="ascii") as fh:
            held = next(int(line.split()[1]) * 1024 for line in fh
                        if line.startswith("VmSize:"))
        previous = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (held + (3 << 30), previous[1]))
    except (ImportError, OSError, ValueError, StopIteration):
        previous = None
    yield
    if previous is not None:
        resource.setrlimit(resource.RLIMIT_AS, previous)


@pytest.mark.parametrize("argv", [
    ["simulate", "-a", "amsgrad", "-p", "random-linear:d=1e8", "-T", "3", "-q"],
    ["verify", "-a", "amsgrad", "-p", "random-linear:d=1e8", "-T", "3", "-q"],
    ["check-proof", "-a", "amsgrad", "-p", "random-linear:d=1e8", "-T", "3", "-q"],
    ["check-proof", "-a", "amsgrad", "-p", "random-linear:d=1000", "-T", "100000", "-q"],
    ["audit", "torch-adam-amsgrad", "-q", "--skip", "invariants", "--path-steps", "1000000000"],
])
def test_runs_beyond_the_memory_available_are_refused_up_front(argv, little_memory, capsys):
    code, err = run_cli(argv, capsys)
    assert code == 2 and "of memory" in err and "GiB is available" in err


@pytest.mark.parametrize("problem, seeds, available", [
    ("random-linear:d=1e5", "0:1e3", 2 << 30), ("random-linear:d=1e6", "0:2", 2 << 30),
    # many small rows (≈ 3.9 kB each): 2·10⁵ of them in 512 MiB, planned in a second where
    # 10⁶ in 2 GiB took five
    ("random-linear:d=1", "0:2e5", 512 << 20)])
def test_sweeps_beyond_the_memory_available_are_refused_up_front(problem, seeds, available,
                                                                 little_memory, tmp_path,
                                                                 capsys, monkeypatch):
    from amsgrad_theory.commands import runflags

    monkeypatch.setattr(runflags, "available_memory", lambda: available, raising=False)
    out = tmp_path / "sweep.csv"
    code, err = run_cli(["sweep", "-a", "amsgrad", "-p", problem, "-T", "3", "--seeds", seeds,
                         "-q", "--out", str(out)], capsys)
    assert code == 2 and "grid=" in err and "configurations" in err and "of memory" in err
    assert list(tmp_path.iterdir()) == []            # nothing written, not even a lock


class OutOfMemoryError(RuntimeError):
    """What torch.cuda raises (by name: the command line does not import torch)."""


@pytest.mark.parametrize("error", [MemoryError, OutOfMemoryError])
def test_out_of_memory_is_reported_not_raised(error, monkeypatch, capsys):
    from amsgrad_theory.engine import RunSpec

    def exhausted(self, **kwargs):
        raise error("no memory left")

    monkeypatch.setattr(RunSpec, "run", exhausted)
    code, err = run_cli(sim("reddi-online"), capsys)
    assert code == 2 and "out of memory" in err


def test_other_runtime_errors_still_raise(monkeypatch, capsys):
    from amsgrad_theory.engine import RunSpec

    def broken(self, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(RunSpec, "run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(sim("reddi-online"))


def test_audit_imports_the_users_module_without_shadowing_installed_packages(
        tmp_path, monkeypatch, capsys):
    from importlib.machinery import PathFinder

    from amsgrad_theory.verify.audit_subjects import load_factory

    (tmp_path / "tqdm.py").write_text("raise SystemExit('a tqdm.py of the working directory')\n")
    (tmp_path / "users_optimizer.py").write_text(
        "import torch\n\ndef make(params):\n    return torch.optim.Adam(params, amsgrad=True)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert callable(load_factory("users_optimizer:make"))
    assert not PathFinder.find_spec("tqdm").origin.startswith(str(tmp_path))
    code, out, _ = cli(["audit", "--help"], capsys)
    assert code == 0 and "imports and runs" in " ".join(out.split())


@pytest.mark.parametrize("flag", ["--alpha", "--beta1"])
def test_check_proof_takes_hyperparameters_given_as_ratios(flag, capsys):
    code, out, err = cli(["check-proof", "-a", "amsgrad", "-p", "reddi-online", "-T", "3", flag,
                          "1/3", "--json"], capsys)
    assert code in (0, 1, 3), err
    key = "alpha" if flag == "--alpha" else "beta1"
    assert json.loads(out)["run"]["hyperparameters"][key] == "1/3"


def test_check_proof_refuses_a_hyperparameter_beyond_float64(capsys):
    code, err = run_cli(["check-proof", "-a", "amsgrad", "-p", "reddi-online", "-T", "3",
                         "--arithmetic", "mpmath:20", "--alpha", "1e400"], capsys)
    assert code == 2 and "alpha='1e400'" in err and "float64" in err


def test_validated_specs_are_remembered_by_what_validation_reads():
    """RunSpec.validate remembers each (variant, hyperparameters) it accepted (a sweep holds
    thousands that share a few): a value is remembered as validation reads it (its repr), so
    True after 1, or np.float64(0.1) after 0.1, is still refused, and an unhashable value is an
    InputError, not a TypeError."""
    import numpy as np

    from amsgrad_theory.engine import RunSpec

    def spec(alpha):
        return RunSpec("amsgrad", "reddi-online", 10, hyperparameters={"alpha": alpha})

    spec(1).validate()
    spec(0.1).validate()
    for bad in (True, np.float64(0.1), [1]):
        with pytest.raises(InputError, match="alpha"):
            spec(bad).validate()


def test_the_toolkits_errors_pickle_whole():
    """A worker process's error (reproduce all side by side, a Dask task) reaches its parent
    with its message and fields: the default pickling re-called cls(message) and failed."""
    import pickle

    from amsgrad_theory.symbolic.bound import AssumptionError

    for error in (InputError("beta1", 1.5, "must lie in [0, 1)"),
                  NumericalError("v", 7, 2, 3, kind="overflowing", since=5),
                  AssumptionError("gamma < 1", "gamma = 1.05", "theorem4-iclr")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.__dict__ == error.__dict__ and copy.args == error.args


@pytest.mark.parametrize("spec, instances, key, needle", [
    ("periodic-linear:C=3,c=1", [{"C": "2"}, {"perid": "4"}], "perid", "(instance 1)"),
    ("periodic-linear", [{"phase": "1"}], "phase", "valid: C, c, period"),
    ("bernoulli-linear", [{"seed": "1", "delta": "0.1"}], "delta", "(instance 0)"),
    ("reddi-online", [{"C": "5"}, {"period": "5"}], "instances", "reddi-online fixes period"),
])
def test_instance_keys_are_checked_as_the_specs_are(spec, instances, key, needle):
    """A misspelt or foreign key in one instance of a batch is refused, naming the instance,
    as the same key in the spec string is; before, it was ignored and that instance ran the
    default silently (an alias's fixed parameter overridden likewise)."""
    from amsgrad_theory import get_problem

    with pytest.raises(InputError) as err:
        get_problem(spec, instances=instances)
    assert err.value.argument == key and needle in str(err.value)
    # the valid keys of the same batch are accepted
    ok = [{k: v for k, v in inst.items() if k in ("C", "seed")} for inst in instances]
    assert get_problem(spec, instances=ok).B == len(instances)


def test_hyperparameter_rows_equal_as_keys_but_not_as_inputs_are_parsed_apart():
    """A batch's rows of hyperparameters share a parse where they are equal — as inputs: 1,
    1.0 and True are one dict key, and so are 0.0 and −0.0. Found: a row's β1 = −0.0 ran as
    0.0, and alpha=True (refused alone) ran as 1, wherever an earlier row held the other."""
    from amsgrad_theory import get_problem

    problem = get_problem("periodic-linear:C=3,c=1", instances=[{}, {}, {}])
    run = simulate("amsgrad", problem, steps=5, hyperparameters=[
        {"beta1": 0.0}, {"beta1": -0.0}, {"beta1": "0.0"}])
    assert [i.hyperparameters["beta1"] for i in run.instances] == ["0.0", "-0.0", "0.0"]
    run = simulate("amsgrad", problem, steps=5, hyperparameters=[
        {"alpha": 1}, {"alpha": 1.0}, {"alpha": "1"}])
    assert [i.hyperparameters["alpha"] for i in run.instances] == ["1", "1.0", "1"]
    with pytest.raises(InputError, match="not a decimal number"):
        simulate("amsgrad", problem, steps=5, hyperparameters=[{"alpha": 1}, {"alpha": True}, {}])
    # rows of one length but other names, and rows of other lengths, are keyed by their items
    run = simulate("amsgrad", problem, steps=5, hyperparameters=[
        {"alpha": "0.5"}, {"beta1": "0.5"}, {"alpha": "0.5", "beta1": "0.5"}])
    assert [(i.hyperparameters["alpha"], i.hyperparameters["beta1"]) for i in run.instances] \
        == [("0.5", "0.9"), ("0.1", "0.5"), ("0.5", "0.5")]
