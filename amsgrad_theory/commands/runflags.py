"""The flags that describe one run (shared by ``simulate``, ``verify`` and ``check-proof``).

:func:`spec_from_args` is the one place where flags become a
:class:`~amsgrad_theory.engine.run.RunSpec`; every command then runs that spec.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, cast

from tqdm import tqdm

from ..algorithms import HYPERPARAMETERS, variant_names
from ..arithmetic import Arithmetic, get_arithmetic
from ..engine import Result, RunSpec
from ..engine.simulate import check_conversion
from ..errors import InputError
from ..problems import (
    JsonNumber,
    Problem,
    get_problem,
    parse_number,
    parse_sequence,
    split_spec,
)
from ..problems.solvers import MAX_ENTRIES

if TYPE_CHECKING:
    from ..arithmetic.torch_backend import TorchArithmetic

#: the largest count a flag takes (steps, instances, examples, bits): the int64 range
MAX_COUNT = 2 ** 63 - 1


def count(text: str) -> int:
    """The argparse type of every count (``--steps``, ``-T``, ``--chunk-size``, ``--workers``,
    ``--search``, …): a whole number written as an integer (``20000``, ``20_000``) or as an
    integral float (``2e4``, ``1.5e6``), |n| ≤ 2⁶³ − 1. A fraction (``1.5``), a non-finite
    number (``nan``, ``inf``) or a count beyond that range (``1e400``) is refused: argparse
    exits with status 2 naming the flag and the text. Ranges (≥ 1, ≥ 0) are the command's to
    check, with its own message."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite whole number")
    if value and value.adjusted() > 18 or abs(value) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} is beyond the largest count, 2**63 - 1")
    if value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(value)


def tolerance(text: str) -> float:
    """The argparse type of a relative tolerance (``--rtol``): a finite number ≥ 0 (``nan``
    would make every comparison false, a negative one every comparison fail)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number ≥ 0")
    return value


def add_run_arguments(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    g = p.add_argument_group("the run")
    g.add_argument("--algorithm", "-a", required=required, metavar="NAME",
                   help="variant: " + ", ".join(variant_names()))
    g.add_argument("--problem", "-p", required=required, metavar="SPEC",
                   help="problem spec name:key=value,… (e.g. reddi-online:C=3, "
                        "gradient-sequence:g=[1,0])")
    g.add_argument("--steps", "-T", type=count, required=required, metavar="T",
                   help="number of steps T (t = 1..T; 1e6 and 1000000 alike)")
    g.add_argument("--arithmetic", default="float64", metavar="A",
                   help="float64 | float32 | mpmath:DPS | arb:BITS | torch[:DEVICE[:DTYPE]]")
    g.add_argument("--x0", default=None, metavar="X",
                   help="start point x_1: a number (every coordinate) or a JSON array "
                        "(default 0)")
    g.add_argument("--seed", default=None, metavar="N",
                   help="seed of the problem's random stream (random and Bernoulli problems)")
    h = p.add_argument_group("hyperparameters (omitted: the variant's documented default)")
    h.add_argument("--alpha", default=None, metavar="A", help="step size α (> 0)")
    h.add_argument("--schedule", choices=("constant", "inv-sqrt"), default=None,
                   help="α_t = α (constant) or α/√t (inv-sqrt)")
    h.add_argument("--beta1", default=None, metavar="B", help="β1 ∈ [0, 1)")
    h.add_argument("--beta1-decay", default=None, metavar="LAMBDA",
                   help="β1,t = β1·λ^(t−1) (sets --beta1-schedule exp-decay)")
    h.add_argument("--beta1-schedule", choices=("constant", "exp-decay", "inv-t"), default=None,
                   help="β1,t = β1, β1·λ^(t−1) or β1/t")
    h.add_argument("--beta2", default=None, metavar="B", help="β2 ∈ [0, 1)")
    h.add_argument("--eps", default=None, metavar="E", help="ε ≥ 0")
    h.add_argument("--eps-root", default=None, metavar="E", help="ε inside the root (optax)")
    h.add_argument("--weight-decay", default=None, metavar="WD", help="weight decay ≥ 0")
    h.add_argument("--decoupled", action="store_true", default=None,
                   help="decoupled weight decay (AdamW) instead of L2")


#: the run flags (as argparse names them) and their defaults
RUN_FLAGS = {"algorithm": None, "problem": None, "steps": None, "arithmetic": "float64",
             "x0": None, "seed": None, "alpha": None, "schedule": None, "beta1": None,
             "beta1_decay": None, "beta1_schedule": None, "beta2": None, "eps": None,
             "eps_root": None, "weight_decay": None, "decoupled": None}


def given_run_flags(args) -> list[str]:
    """The run flags given a value other than their default (to refuse them where a command
    takes its run from elsewhere, e.g. ``check-proof --example``)."""
    return [name for name, default in RUN_FLAGS.items()
            if getattr(args, name, default) not in (None, default)]


def _problem_spec(args) -> str:
    """The problem spec with ``--seed`` merged in (refused where it clashes or means nothing)."""
    spec = args.problem
    if args.seed is None:
        return spec
    name, params = split_spec(spec)
    if "seed" in params:
        if params["seed"] != str(args.seed):
            raise InputError("seed", args.seed,
                             f"the problem spec already sets seed={params['seed']}")
        return spec
    if "seed" not in get_problem(spec).params[0]:
        raise InputError("seed", args.seed, f"problem {name} has no random stream")
    return f"{spec}{',' if ':' in spec else ':'}seed={args.seed}"


def spec_from_args(args, *, trace: bool = False) -> RunSpec:
    """The run the flags describe, validated (nothing runs half-way on bad input).

    ``--beta1-decay`` without ``--beta1-schedule`` means the exponential schedule
    β1,t = β1·λ^{t−1}. ``trace``: the command will keep the run's full trace (its memory is
    checked too, :func:`check_runnable`).
    """
    beta1_schedule = args.beta1_schedule
    if args.beta1_decay is not None and beta1_schedule is None:
        beta1_schedule = "exp-decay"
    given = {"alpha": args.alpha, "beta1": args.beta1, "beta2": args.beta2, "eps": args.eps,
             "eps_root": args.eps_root, "beta1_decay": args.beta1_decay,
             "weight_decay": args.weight_decay}
    hyperparameters = {k: v for k, v in given.items() if v is not None and k in HYPERPARAMETERS}
    for key, value in hyperparameters.items():
        parse_number(key, value)        # the syntax, before the exact range checks use it
    spec = RunSpec(algorithm=args.algorithm, problem=_problem_spec(args), steps=args.steps,
                   arithmetic=args.arithmetic, hyperparameters=hyperparameters,
                   x0=args.x0, schedule=args.schedule, beta1_schedule=beta1_schedule,
                   decoupled=args.decoupled or None)
    spec.validate()
    check_runnable(spec, trace=trace)
    return spec


def check_runnable(spec: RunSpec, *, trace: bool = False) -> None:
    """What :meth:`RunSpec.validate` leaves to the run, checked before it starts (each an
    :class:`~amsgrad_theory.errors.InputError` naming the argument and its value):

    * every number the run converts into its arithmetic survives that conversion — under
      float32, float64 and torch a finite input may not round to ±inf nor a non-zero one to 0
      (:func:`~amsgrad_theory.engine.simulate.check_conversion`, which the run itself calls
      too): the hyperparameters given in float64, where the schedules are computed (and, cast
      to the lane format with them, they may not round to inf there); the problem's C, c, g,
      tail, scale, radius and x_1 in the lane format (float32 in ``float32``); mpmath and arb
      hold them;
    * the declared bounds D∞ and G∞, which the summary reports as float64, are within its
      range;
    * the run fits in the memory available (:func:`memory_needed`).
    """
    arithmetic = get_arithmetic(spec.arithmetic)
    problem = get_problem(spec.problem)
    # (the run checks x_1's count and that it is feasible)
    check_conversion(arithmetic, problem, [dict(spec.hyperparameters)],
                     number_texts("x0", spec.x0) if spec.x0 is not None else [])
    bounds = [("D∞", problem.D_inf())] + [("G∞", problem.G_inf(b)) for b in range(problem.B)]
    for name, value in bounds:
        if value is None:       # (no such bound: nothing to hold)
            continue
        try:
            float(value)
        except OverflowError:
            approx = Decimal(value.numerator) / value.denominator
            raise InputError("problem", spec.problem, f"{name} ≈ {approx:.3g} lies beyond "
                             "float64, in which the summary reports it") from None
    size = f"d = {problem.d:,} coordinates" + (f" × {problem.B} instances" if problem.B > 1
                                                 else "")
    kept = f", with a trace of all T = {spec.steps:,} steps" if trace else ""
    check_memory("problem", spec.problem, memory_needed(problem, arithmetic, spec.steps, trace),
                 f"a run of {size} in {arithmetic.spec}{kept}", _device_memory(arithmetic))


def check_memory(argument: str, value: object, needed: int, what: str,
                 device: int | None = None) -> None:
    """Refuse (naming ``argument`` and ``value``) work that needs more than the memory
    available (:func:`available_memory`, and ``device`` bytes where it runs on a GPU):
    ``needed`` bytes for ``what``."""
    available = [n for n in (available_memory(), device) if n is not None]
    if available and needed > min(available):
        raise InputError(argument, value, f"{what}: needs about {_gib(needed)} of memory; "
                         f"{_gib(min(available))} is available")


def _device_memory(arithmetic: Arithmetic) -> int | None:
    """Free bytes of the CUDA device a torch arithmetic runs on (None elsewhere)."""
    device = getattr(arithmetic, "device", None)
    if getattr(device, "type", None) != "cuda":
        return None
    try:
        # a cuda device is a torch arithmetic's, which holds the torch module
        torch = cast("TorchArithmetic", arithmetic).torch
        return int(torch.cuda.mem_get_info(device)[0])
    except RuntimeError:
        return None


def number_texts(argument: str, text: str) -> list[str]:
    """The numbers of a flag that takes a number or a JSON array of numbers, as the user wrote
    them, each syntax-checked (:func:`~amsgrad_theory.problems.parse_number`)."""
    body = str(text).strip()
    if not body.startswith("["):
        parse_number(argument, text)
        return [body]
    entries = parse_sequence(body, argument)
    if not all(isinstance(v, JsonNumber) for v in entries):
        raise InputError(argument, text, "not a number or a JSON array of numbers")
    for v in entries:
        parse_number(argument, str(v))
    return [str(v) for v in entries]


#: bytes a run holds per lane (a coordinate of an instance) and, with a trace, per lane and
#: step: peak resident memory measured here over d (T = 3) and over T·d (check-proof)
_LANE_BYTES = {"float": (1024, 0), "torch": (1024, 0), "mpmath": (6300, 9.0),
               "arb": (3300, 2.6)}
_TRACE_BYTES = {"float": (320, 0), "torch": (320, 0), "mpmath": (2400, 8.0), "arb": (2400, 2.2)}
#: bytes per entry of the stream the margin families' comparator regenerates (T × d float64
#: and its temporaries), at most :data:`~amsgrad_theory.problems.solvers.MAX_ENTRIES` entries
_STREAM_BYTES = 64


def memory_needed(problem: Problem, arithmetic: Arithmetic, steps: int, trace: bool,
                  instances: int | None = None) -> int:
    """Bytes a run of ``problem`` over ``steps`` steps in ``arithmetic`` needs, about (from
    measurements: the state of B·d lanes, the trace of T·B·d lane-steps when kept, the margin
    families' regenerated stream). ``instances``: B, where the run batches that many
    instances of the problem (a sweep's chunk) rather than the problem's own."""
    precision: int = getattr(arithmetic, "dps", 0) or getattr(arithmetic, "bits", 0)
    lanes = (problem.B if instances is None else instances) * problem.d
    base, per_digit = _LANE_BYTES[arithmetic.kind]
    needed = lanes * (base + per_digit * precision)
    if trace:
        base, per_digit = _TRACE_BYTES[arithmetic.kind]
        needed += max(steps, 0) * lanes * (base + per_digit * precision)
    if problem.coupled:
        needed += min(max(steps, 0) * problem.d, MAX_ENTRIES) * _STREAM_BYTES
    return int(needed)


def available_memory() -> int | None:
    """Bytes this process may still take: ``MemAvailable`` (Linux), within the cgroup's
    limit where one is set; None where neither can be read (then nothing is refused)."""
    values = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            values += [int(line.split()[1]) * 1024 for line in fh
                       if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
            used = int(fh.read())
        if limit != "max":
            values.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    return min(values) if values else None


def _gib(n: int) -> str:
    return f"{n / 2 ** 30:.3g} GiB"


def advance(bar: tqdm, done: int) -> None:
    """Move ``bar`` to ``done``, ending its "compiling" stage if it shows one."""
    if getattr(bar, "desc", ""):           # (a disabled tqdm has no label)
        bar.set_description_str("", refresh=False)
    bar.update(done - bar.n)


#: seconds between redraws of a bar while numba compiles (its clock keeps running)
COMPILING_REFRESH_S = 0.5


@contextlib.contextmanager
def compile_stage(bar_of: Callable[[], tqdm | None], arithmetic: Arithmetic):
    """While numba compiles a kernel (the first run of its kind on this machine, or after a
    code change: a kernel found in the on-disk cache is not compiled), the bar ``bar_of()``
    reads "compiling" and its clock keeps running. The stage comes from numba's own compile
    events (``numba.core.event``, kind ``numba:compile``), so the engine needs no hook; float
    runs only (mpmath, arb and torch never compile). Whoever updates the bar clears the label
    (:func:`advance`)."""
    if arithmetic.kind != "float":
        yield
        return
    from numba.core import event  # numba: the float runs that show a bar compile with it

    class Compiling(event.Listener):
        def __init__(self):
            self.depth = 0
            self.stop = threading.Event()

        def on_start(self, _event):
            self.depth += 1
            bar = bar_of()
            if self.depth == 1 and bar is not None:
                bar.set_description_str("compiling", refresh=True)
                self.stop.clear()
                threading.Thread(target=self.tick, args=(bar,), daemon=True).start()

        def on_end(self, _event):
            self.depth -= 1
            if self.depth == 0:      # (the label stays until the bar moves: no flicker
                self.stop.set()      # between the kernel's compilation units)

        def tick(self, bar):
            while not self.stop.wait(COMPILING_REFRESH_S):
                bar.refresh()

    listener = Compiling()
    try:
        with event.install_listener("numba:compile", listener):
            yield
    finally:
        listener.stop.set()


def run_spec(spec: RunSpec, *, quiet: bool = False, trace: bool = False,
             progress_from: int = 5_000_000) -> Result:
    """Run ``spec`` with a progress bar on stderr for runs of at least ``progress_from``
    lane-steps (a hundredth of that in mpmath and arb, whose steps cost about a hundred times
    more) unless ``quiet``; :func:`check_runnable` first."""
    check_runnable(spec, trace=trace)
    problem = get_problem(spec.problem)
    if get_arithmetic(spec.arithmetic).exact_decimal:
        progress_from //= 100
    bar = callback = None
    if not quiet and spec.steps * problem.B * problem.d >= progress_from:
        bar = tqdm(total=spec.steps, unit="step", file=sys.stderr, disable=None, leave=False)

        def callback(done, total):
            advance(bar, done)
    try:
        with compile_stage(lambda: bar, get_arithmetic(spec.arithmetic)) if bar is not None \
                else contextlib.nullcontext():
            return spec.run(trace=trace, progress=callback)
    finally:
        if bar is not None:
            bar.close()
