"""Fuzzing the command line (issue 11: every bad input a clear error).

Hypothesis draws problem specs from the spec grammar (known and random family names, known and
random parameter names; values huge, tiny, nan, inf, negative, fractional, non-numeric, nested
JSON lists) and random values for every flag of ``simulate``, ``check-proof``, ``derive`` and
``audit``. Each property asserts that the command ends with an exit status it documents — 0;
1 a finding (a failed check); 2 bad input; for check-proof also 3, a tie it cannot decide —
and never with an exception, a traceback, or a value printed as ``Decimal(...)``. A simulate
run that succeeds in a float arithmetic must agree with the same run in mpmath:50, or stop
with a NumericalError (exit 2, "non-finite …" or "underflowed …").

Runs stay tiny (T ≤ 20, d ≤ 4, or a d so large the up-front memory check refuses it). Each
property takes a share of the Hypothesis profile's ``max_examples`` (tests/conftest.py), so
the file runs in seconds under ``dev``/``ci`` and longer under ``thorough``. The command lines
run are counted: the module's teardown prints the totals and, with
``AMSGRAD_FUZZ_RECORD=FILE``, writes them to FILE as JSON (for a figure in the README).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import threading
from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from amsgrad_theory.algorithms import variant_names
from amsgrad_theory.cli import main
from amsgrad_theory.problems import problem_names, split_spec
from amsgrad_theory.symbolic.registry import registry
from amsgrad_theory.symbolic.steps import CHAINS
from amsgrad_theory.verify.proof import EXAMPLES

#: command lines run, by property
TRIED: Counter = Counter()
#: (kind, exit status) → how many command lines ended so
STATUS: Counter = Counter()
#: float runs compared with mpmath, and those that disagreed in a known way
AGREEMENT: Counter = Counter()


def budget(share: float):
    """Settings for a property that takes ``share`` of the profile's max_examples."""
    return settings(max_examples=max(4, int(settings.default.max_examples * share)),
                    # check-proof --search and audit search with Hypothesis themselves
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large, HealthCheck.nested_given])


@pytest.fixture(scope="module", autouse=True)
def count_inputs():
    yield
    total = sum(TRIED.values())
    statuses = {f"{kind}: exit {code}": n for (kind, code), n in sorted(STATUS.items())}
    print(f"\nfuzz_cli: {total} command lines run ({dict(sorted(TRIED.items()))}; {statuses}; "
          f"{dict(AGREEMENT)})")
    if os.environ.get("AMSGRAD_FUZZ_RECORD"):
        with open(os.environ["AMSGRAD_FUZZ_RECORD"], "w", encoding="utf-8") as fh:
            json.dump({"total": total, "tried": dict(sorted(TRIED.items())),
                       "exit_status": statuses, "agreement": dict(AGREEMENT),
                       "profile": settings.default.max_examples}, fh, indent=1)
            fh.write("\n")


#: seconds one command may take before it counts as hung (every input here is tiny)
HUNG = 60


class Hung(Exception):
    """A command ran past :data:`HUNG` seconds."""


def _hung(signum, frame):
    raise Hung(f"ran past {HUNG} s")


def run(argv: list[str], kind: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of the CLI in this process; an exception is a crash and
    fails the test with its traceback, and so does a command still running after
    :data:`HUNG` seconds (where the platform has SIGALRM, in the main thread)."""
    TRIED[kind] += 1
    out, err = io.StringIO(), io.StringIO()
    alarm = getattr(signal, "SIGALRM", None)
    if threading.current_thread() is not threading.main_thread():
        alarm = None                       # (signals reach only the main thread)
    previous = signal.signal(alarm, _hung) if alarm else None
    if alarm:
        signal.alarm(HUNG)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:      # argparse's own errors and --help
                code = exc.code
    finally:
        if alarm:
            signal.alarm(0)
            signal.signal(alarm, previous)
    STATUS[kind, code] += 1
    return code, out.getvalue(), err.getvalue()


def assert_clean(code, err, argv, allowed=(0, 1, 2)):
    assert code in allowed, (argv, code, err)
    assert "Traceback" not in err and "Decimal(" not in err, (argv, err)
    if code == 2:
        assert "error" in err, (argv, err)


# ------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------

JUNK = st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1/0", "0/0", "1_0",
                        "0x10", "½", "١٢", "abc", "--1", "1e", ".", "e5", "1e5000",
                        "1e-5000", "1e999999999", "=", ",,", "[", "]", "[[", "a=b=c", ":"])
WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters=",=:[]\x00",
                                       exclude_categories=("Cs",)), max_size=8)
#: decimal texts: small, fractional, signed, and 10^k from far below to far above float64
NUMBERS = st.one_of(
    st.integers(-5, 5).map(str),
    st.sampled_from(["0", "-0", "0.1", "1/3", "2.5", "1e-3", "0.999", "1010", "3"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.tuples(st.sampled_from(["1", "-1", "3.5"]), st.integers(-450, 450)).map(
        lambda p: f"{p[0]}e{p[1]}"),
)
#: JSON texts: numbers (as JSON writes them, and beyond float64), other JSON, nesting
JSON_LEAVES = st.one_of(st.integers(-3, 3).map(str),
                        st.sampled_from(["0.1", "1e-400", "1e400", "1e200", "-2.5", "NaN",
                                         "Infinity", "null", "true", '"a"', "{}"]))
JSON_LISTS = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3).map(
    lambda items: "[" + ",".join(items) + "]"), max_leaves=8)
VALUES = st.one_of(NUMBERS, JUNK, WORDS, JSON_LISTS, st.sampled_from(["box", "ball", "none"]))
#: texts of counts: integral floats (accepted), fractions, beyond 2**63, not finite (refused)
COUNTS = st.sampled_from(["1e1", "2.0e0", "1E1", "1.5", "1e400", "1e19", "nan", "-1e1", "0e0"])


def mostly(valid, invalid=VALUES, one_in: int = 4):
    """``valid`` values, and ``invalid`` ones about one time in ``one_in`` (a fuzzer that only
    ever meets an error tests the errors alone)."""
    return st.integers(1, one_in).flatmap(lambda i: invalid if i == one_in else valid)


# ------------------------------------------------------------------------------------------
# the problem-spec grammar
# ------------------------------------------------------------------------------------------

#: each parameter with values that are valid for it (in some family)
PARAMETERS = {
    "C": ["3", "5", "1010", "2.5", "1/3"], "c": ["1", "10", "0.5"], "period": ["2", "3", "101"],
    "p": ["0.5", "0.01", "1", "0"], "seed": ["0", "7", "4294967295"], "delta": ["0.1", "0.5"],
    "g": ["[1,0]", "[[1,2],[0.5,-3]]", "[0.1]", "[[1e-3,2]]"], "tail": ["0", "1", "-0.5"],
    "set": ["box", "ball", "none"], "radius": ["1", "2", "0.5"], "d": ["1", "2", "3"],
    "sparsity": ["1", "0.5"], "scale": ["1", "2", "0.1"],
}
#: d is the one parameter whose size is cost: tiny, or large enough for the memory check (or
#: the 32-bit bound) to refuse it, or not a valid dimension at all
DIMENSIONS = st.one_of(st.integers(1, 4).map(str),
                       st.integers(9, 12).map(lambda e: f"1e{e}"),
                       st.sampled_from(["0", "-1", "2.5", "1e400", "nan", "x", "[1]"]))
PAIRS = mostly(
    st.sampled_from(sorted(PARAMETERS)).flatmap(
        lambda k: st.tuples(st.just(k), mostly(st.sampled_from(PARAMETERS[k]),
                                               DIMENSIONS if k == "d" else VALUES))),
    st.tuples(WORDS.filter(lambda w: w.strip() not in PARAMETERS), VALUES))
FAMILIES = mostly(st.sampled_from(problem_names()), st.one_of(WORDS, JUNK), one_in=8)


@st.composite
def problem_specs(draw):
    name = draw(FAMILIES)
    pairs = draw(st.lists(PAIRS, max_size=3, unique_by=lambda pair: pair[0]))
    if not pairs and draw(st.booleans()):
        return name
    return name + ":" + ",".join(f"{k}={v}" for k, v in pairs)


ARITHMETICS = st.sampled_from(["float64", "float32", "mpmath:30", "arb:64", "torch:cpu:float64",
                               "torch:cpu:float32"])


@budget(1.0)
@given(spec=problem_specs(), arithmetic=ARITHMETICS, steps=st.integers(1, 20))
# found here: the comparator's solver ran for minutes over R^d on separable data
@example(spec="random-logistic:set=none,sparsity=0.5", arithmetic="float64", steps=13)
def test_problem_specs_end_in_a_documented_status(spec, arithmetic, steps):
    argv = ["simulate", "-a", "amsgrad", "-p", spec, "-T", str(steps), "-q", "--json",
            "--arithmetic", arithmetic]
    code, out, err = run(argv, "problem-spec")
    assert_clean(code, err, argv, allowed=(0, 2))


# ------------------------------------------------------------------------------------------
# simulate's flags
# ------------------------------------------------------------------------------------------

SMALL_PROBLEMS = ("reddi-online", "reddi-online:C=5", "reddi-theorem3", "bernoulli-linear",
                  "gradient-sequence:g=[[1,-2],[0.5,3]]", "gradient-sequence:g=[1],set=none",
                  "random-linear:d=3", "random-quadratic:d=2,set=ball",
                  "random-logistic:d=2", "random-hinge:d=2")
HYPERPARAMETER_FLAGS = ("--alpha", "--beta1", "--beta2", "--eps", "--eps-root",
                        "--weight-decay", "--beta1-decay")


def some_flags(draw, flags: dict, one_in: float) -> list[str]:
    """``--flag=value`` for each of ``flags`` (flag → strategy of values) drawn present, about
    one time in ``one_in``."""
    return [f"{flag}={draw(values)}" for flag, values in flags.items()
            if draw(st.floats(0, one_in)) <= 1]


#: values each run flag takes when valid
VALID = {"--alpha": ["0.1", "0.01", "1", "1/3"], "--beta1": ["0", "0.5", "0.9"],
         "--beta2": ["0.1", "0.99", "0.999"], "--eps": ["0", "1e-8", "1e-3"],
         "--eps-root": ["0", "1e-8"], "--weight-decay": ["0", "0.01"],
         "--beta1-decay": ["1", "0.99", "0.5"], "--x0": ["0", "0.5", "-1", "1/3"],
         "--seed": ["0", "3"], "--schedule": ["constant", "inv-sqrt"],
         "--beta1-schedule": ["constant", "exp-decay", "inv-t"]}


@st.composite
def run_flags(draw, steps=st.integers(1, 20).map(str)):
    """Random values for each run flag (each present or not), as ``--flag=value``: mostly
    valid, each flag invalid about one time in four; counts also as integral floats (1e1)."""
    flags = {
        "--algorithm": mostly(st.sampled_from(variant_names()), WORDS, one_in=8),
        "--problem": st.one_of(st.sampled_from(SMALL_PROBLEMS), problem_specs()),
        "--steps": mostly(steps, st.one_of(st.integers(-2, 0).map(str), JUNK, COUNTS),
                          one_in=8),
        "--arithmetic": mostly(ARITHMETICS, st.one_of(JUNK, st.sampled_from(
            ["mpmath:4", "mpmath:100000", "arb:8", "torch:nosuchdevice", "torch:cpu:int8",
             "float16"])), one_in=8),
        "--x0": mostly(st.sampled_from(VALID["--x0"]), st.one_of(NUMBERS, JSON_LISTS, JUNK)),
        "--seed": mostly(st.sampled_from(VALID["--seed"]),
                         st.one_of(st.integers(-2, 2**33).map(str), NUMBERS, JUNK)),
        "--schedule": mostly(st.sampled_from(VALID["--schedule"]), st.just("cosine")),
        "--beta1-schedule": mostly(st.sampled_from(VALID["--beta1-schedule"]), st.just("x")),
        **{flag: mostly(st.sampled_from(VALID[flag]), st.one_of(NUMBERS, JUNK), one_in=6)
           for flag in HYPERPARAMETER_FLAGS},
    }
    required = {flag: flags.pop(flag) for flag in ("--algorithm", "--problem", "--steps")}
    argv = some_flags(draw, required, one_in=1.1) + some_flags(draw, flags, one_in=5)
    return argv + (["--decoupled"] if draw(st.integers(0, 6)) == 0 else [])


@budget(1.0)
@given(flags=run_flags())
def test_simulate_flags_end_in_a_documented_status(flags):
    argv = ["simulate", *flags, "-q"]
    code, out, err = run(argv, "simulate-flags")
    assert_clean(code, err, argv, allowed=(0, 2))


# ------------------------------------------------------------------------------------------
# float runs agree with mpmath, or say why not
# ------------------------------------------------------------------------------------------

#: magnitudes from the subnormals to the edge of float64, either sign
MAGNITUDES = st.tuples(st.sampled_from(["1", "-1", "3", "-0.7"]), st.integers(-320, 306)).map(
    lambda p: f"{p[0]}e{p[1]}")
GRADIENTS = st.lists(st.lists(st.one_of(MAGNITUDES, st.integers(-3, 3).map(str)), min_size=2,
                              max_size=2), min_size=1, max_size=4).map(json.dumps).map(
    lambda s: s.replace('"', ""))
AGREEMENT_PROBLEMS = st.one_of(
    st.tuples(MAGNITUDES, MAGNITUDES).map(lambda p: f"periodic-linear:C={p[0]},c={p[1]}"),
    st.tuples(GRADIENTS, MAGNITUDES).map(lambda p: f"gradient-sequence:g={p[0]},tail={p[1]}"),
    st.tuples(st.integers(1, 3), MAGNITUDES.map(lambda m: m.lstrip("-"))).map(
        lambda p: f"random-linear:d={p[0]},scale={p[1]}"),
    st.sampled_from(["random-quadratic:d=2", "random-logistic:d=2", "bernoulli-linear"]),
)
#: the numbers the summary reports and the scale each is compared at
COMPARED = ("final_x", "last_played_x", "regret")


#: the variants of the papers: the framework models (amsgrad-pytorch, -optax, -keras) round
#: their coefficients as their framework does (β2 = 0.999 in float32, …) in a float run, and
#: mpmath computes them exactly by design, so those disagree on purpose
PAPER_VARIANTS = ("amsgrad", "adam", "adam-kingma-ba", "adamnc", "adamx", "adagrad", "rmsprop",
                  "sgd", "amsgrad-seed")


@st.composite
def agreement_runs(draw):
    argv = ["-a", draw(st.sampled_from(PAPER_VARIANTS)),
            "-p", draw(AGREEMENT_PROBLEMS), "-T", str(draw(st.integers(1, 20)))]
    positive = MAGNITUDES.map(lambda m: m.lstrip("-"))
    for flag, values in (("--alpha", positive), ("--eps", st.one_of(st.just("0"), positive)),
                         ("--beta1", st.sampled_from(["0", "0.5", "0.9"])),
                         ("--beta2", st.sampled_from(["0", "0.1", "0.999"])),
                         ("--x0", st.sampled_from(["0", "0.5", "-1"]))):
        if draw(st.booleans()):
            argv.append(f"{flag}={draw(values)}")
    return argv


#: the smallest normal number of each lane format
TINY = {"float64": 2.0 ** -1022, "float32": 2.0 ** -126}


def smallest_gradient(problem: str) -> float | None:
    """The smallest non-zero |g_t,i| an agreement problem can produce (None: data fixed,
    far from underflow). random-linear's g = scale·(b_i + ξ) has |b_i + ξ| down to 2⁻²³."""
    name, values = split_spec(problem)
    if name == "random-linear":
        return abs(float(values["scale"])) * 2.0 ** -23
    if name == "periodic-linear":
        return min(abs(float(values["C"])), abs(float(values["c"])))
    if name == "gradient-sequence":
        numbers = json.loads(values["g"]) + [float(values["tail"])]
        flat = [abs(float(v)) for row in numbers for v in (row if isinstance(row, list)
                                                            else [row])]
        return min((v for v in flat if v), default=None)
    return None


def known_disagreement(argv: list[str], arithmetic: str) -> str | None:
    """The engine's known silent disagreements with mpmath; None for any other disagreement,
    which fails.

    ``gradient near underflow with a tiny non-zero ε``: with ε = ε_root = 0 the kernels flag a
    second moment below the smallest normal number while m ≠ 0 at its step (they used to
    check only the end of each chunk: ``-p gradient-sequence:g=[1e-158],tail=1 -T 2`` gave
    x_2 = −0.3162295 in float64 where mpmath gives −0.3162278), and a subnormal problem input
    is refused (``random-linear:d=1,scale=1e-44`` in float32 underflowed g to 0 and x_2 = 0
    against mpmath's −0.316). Where ε is non-zero but below √(smallest normal)/u the range
    watch still checks v only at the end of each chunk, so a v subnormal at one step and
    normal again by the chunk's end passes; that is the one disagreement left.
    """
    smallest = smallest_gradient(argv[argv.index("-p") + 1])
    tiny = TINY["float32" if "32" in arithmetic else "float64"]
    eps = next((float(a.split("=", 1)[1]) for a in argv if a.startswith("--eps=")), 0.0)
    u = 2.0 ** (-24 if "32" in arithmetic else -53)
    if (smallest is not None and smallest < 4 * (1000 * tiny) ** 0.5
            and 0 < eps < tiny ** 0.5 / u):
        return "gradient near underflow with a tiny non-zero ε"
    return None


def _scale(summary: dict, key: str) -> float:
    spread = max(1.0, float(summary.get("D_inf") or 1.0))
    if key != "regret":
        return spread
    return max(1.0, summary["steps"] * spread * float(summary.get("G_inf") or 1.0))


@budget(0.5)
@given(flags=agreement_runs(), arithmetic=st.sampled_from(["float64", "float32",
                                                           "torch:cpu:float64"]))
def test_float_runs_agree_with_mpmath_or_stop_with_a_numerical_error(flags, arithmetic):
    argv = ["simulate", *flags, "-q", "--json"]
    code, out, err = run(argv + ["--arithmetic", arithmetic], "agreement")
    assert_clean(code, err, argv, allowed=(0, 2))
    if code != 0:
        return
    exact_code, exact_out, exact_err = run(argv + ["--arithmetic", "mpmath:50"],
                                           "agreement (mpmath)")
    assert exact_code == 0, (argv, exact_err)
    AGREEMENT["compared with mpmath"] += 1
    got, want = json.loads(out), json.loads(exact_out)
    rtol = 1e-7 if "64" in arithmetic else 2e-3
    for key in COMPARED:
        a, b = got[key], want[key]
        if a is None or b is None:
            assert a is b, (argv, key, a, b)
            continue
        for x, y in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
            if abs(x - y) > rtol * _scale(want, key):
                known = known_disagreement(argv, arithmetic)
                assert known, (argv, arithmetic, key, x, y)
                AGREEMENT[f"known engine issue: {known}"] += 1
                return


# ------------------------------------------------------------------------------------------
# check-proof, derive, audit
# ------------------------------------------------------------------------------------------

STEP_NAMES = sorted({s.name for chain in CHAINS.values() for s in chain})


@st.composite
def check_proof_flags(draw):
    """A named example or a run (or both, refused), and the proof flags: mostly valid."""
    argv = []
    if draw(st.integers(0, 3)) == 0:
        argv.append(f"--example={draw(mostly(st.sampled_from(list(EXAMPLES)), WORDS))}")
    if not argv or draw(st.integers(0, 5)) == 0:
        argv += draw(run_flags(steps=st.integers(1, 12).map(str)))
    search = draw(mostly(st.sampled_from(["0", "1"]), st.one_of(st.integers(-3, -1).map(str),
                                                                 JUNK)))
    argv += [f"--search={search}"]
    argv += some_flags(draw, {"--chain": mostly(st.sampled_from(list(CHAINS)), WORDS)}, 3)
    argv += some_flags(draw, {"--step": mostly(st.sampled_from(STEP_NAMES), WORDS)}, 8)
    return argv + (["--json"] if draw(st.booleans()) else [])


@budget(0.3)
@given(flags=check_proof_flags())
def test_check_proof_flags_end_in_a_documented_status(flags):
    argv = ["check-proof", *flags, "-q"]
    code, out, err = run(argv, "check-proof")
    assert_clean(code, err, argv, allowed=(0, 1, 2, 3))


DERIVE_FLAGS = ("--list", "--latex", "--json", "--check")
#: derivations whose --check takes under a second here (the rest differ only in sympy time)
QUICK_CHECKS = ("lemma2-no-log", "adamnc-corollary2-openreview", "lemma:geometric",
                "lemma:abel", "counterexample:theorem1", "counterexample:figure1")


@budget(0.2)
@given(name=mostly(st.sampled_from(list(registry())), st.one_of(st.none(), WORDS, JUNK)),
       flags=mostly(st.lists(st.sampled_from(DERIVE_FLAGS[1:]), max_size=1),
                    st.lists(st.sampled_from(DERIVE_FLAGS), min_size=1, max_size=2,
                             unique=True)))
def test_derive_flags_end_in_a_documented_status(name, flags):
    if "--check" in flags and name in registry() and name not in QUICK_CHECKS:
        name = QUICK_CHECKS[len(name) % len(QUICK_CHECKS)]
    argv = ["derive", *([name] if name is not None else []), *flags]
    code, out, err = run(argv, "derive")
    assert_clean(code, err, argv, allowed=(0, 2))


#: every section but the (sampled) invariant search, which runs at most two tiny examples
QUICK_AUDIT = ["--skip", "paths", "--skip", "equivalence", "--skip", "state-dict", "-q"]


#: values each audit flag takes when valid
AUDIT_VALID = {"--lr": ["0.1", "1e-3"], "--beta1": ["0", "0.9"], "--beta2": ["0.5", "0.999"],
               "--eps": ["0", "1e-8"], "--weight-decay": ["0", "0.01"], "--rtol": ["1e-9"],
               "--seed": ["0", "5"], "--sequence": ["[1, 0.5]", "pair", "constant"],
               "--dtype": ["float64", "float32"], "--schedule": ["constant", "inv-sqrt"],
               "--path": ["single", "foreach"], "--model": ["amsgrad-pytorch"],
               "--path-steps": ["2"], "--equivalence-steps": ["1"]}
#: and when not
AUDIT_INVALID = {"--sequence": st.one_of(JSON_LISTS, st.just("nope")),
                 "--dtype": st.just("float16"), "--schedule": st.just("x"),
                 "--path": st.sampled_from(["fused", "capturable", "x"]),
                 "--model": st.one_of(st.just("amsgrad"), WORDS),
                 "--path-steps": st.sampled_from(["-1", "0", "1", "1000000000000", "x"]),
                 "--equivalence-steps": st.sampled_from(["-1", "0", "1000000000000", "x"])}


@st.composite
def audit_flags(draw):
    """A built-in target (or a bad one), the invariant search at most two tiny examples (the
    other sections skipped), and the audit's flags: mostly valid."""
    target = draw(mostly(st.sampled_from(["torch-adam-amsgrad", "torch-adamw-amsgrad"]),
                         st.one_of(st.sampled_from(["os:getcwd", "nope:make", "missing.py:f",
                                                    ":", "torch-sgd"]), WORDS)))
    flags = {flag: mostly(st.sampled_from(valid), AUDIT_INVALID.get(flag, st.one_of(NUMBERS,
                                                                                   JUNK)))
             for flag, valid in AUDIT_VALID.items()}
    argv = [target, *QUICK_AUDIT,
            f"--max-examples={draw(mostly(st.sampled_from(['1', '2']), st.just('0')))}",
            f"--max-size={draw(mostly(st.sampled_from(['2', '3']), st.just('1')))}"]
    return argv + some_flags(draw, flags, one_in=5)


@budget(0.12)
@given(flags=audit_flags())
def test_audit_flags_end_in_a_documented_status(flags):
    argv = ["audit", *flags]
    code, out, err = run(argv, "audit")
    assert_clean(code, err, argv)
