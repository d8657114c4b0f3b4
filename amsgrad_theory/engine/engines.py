"""Which engine runs a run — decided in one place, :func:`choose_engine` — and what it owns.

An :class:`Engine` owns the three things that depend on how a run iterates: the allocation of
its arrays (:mod:`~amsgrad_theory.engine.arrays`), its kernel, and the size of the chunks of
steps the kernel advances per call. Three kinds (:data:`~amsgrad_theory.arithmetic.base.
ENGINE_KINDS`):

=============  =================================================================================
compiled       the lane loop compiled by numba (float32, float64): the blocked SIMD kernel for
               several instances of a separable problem in d = 1 without a trace (or one,
               where that kernel is already built), else the scalar loop
interpreted    the lane loop in Python (mpmath, arb, Python floats): specialised for separable
               problems, the scalar loop otherwise
vector         whole arrays per operation (numpy, torch on any device), specialised
=============  =================================================================================

An arithmetic lists the engines that can run it; a spec may force one (``float64:numba``).
Otherwise float runs of at least :data:`NUMBA_THRESHOLD` lane-steps compile, shorter ones are
interpreted (numba's compile time would dominate) — unless an earlier run left their kernel on
disk (:func:`~amsgrad_theory.engine.compiled.kernel_on_disk`): from
:data:`NUMBA_CACHED_THRESHOLD` lane-steps they load it. The engines give the same numbers, so
the choice changes the time only. Specialisation (:mod:`~amsgrad_theory.engine.
specialize`) is used where the benchmark shows it pays — the interpreted and vector engines, on
runs of at least :data:`SPECIALIZE_MIN_WORK` lane-steps — and can be switched off with
``AMSGRAD_THEORY_SPECIALIZE=0``; where it falls back, the run's notes say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..arithmetic import Arithmetic
from ..problems import builtin_family
from .arrays import BLOCK, LaneArrays, RunPlan, VectorArrays
from .compiled import (
    compile_kernel,
    forced_vector_width,
    kernel_on_disk,
    mark_on_disk,
    vector_width,
)
from .interpreted import make_interpreted_scalar_kernel, make_python_kernel
from .vector import make_vector_kernel

#: lane-steps (B·d·T) from which plain float arithmetics compile the kernel with numba
NUMBA_THRESHOLD = 300_000
#: … and from which they use it when an earlier run left it on disk (loading it takes
#: ≈ 0.05 s, the interpreted loop ≈ 5 µs per lane-step)
NUMBA_CACHED_THRESHOLD = 10_000
#: runs with at least this many lane-steps use the specialised loop: its one-time build
#: (≈ 0.1–0.2 s) is then below 10 % of the run
SPECIALIZE_MIN_WORK = 20_000
#: ``AMSGRAD_THEORY_SPECIALIZE=0`` runs the plain composed functions instead
SPECIALIZE = os.environ.get("AMSGRAD_THEORY_SPECIALIZE", "1") != "0"

_KERNELS: dict = {}
_KERNELS_SIZE = 256


@dataclass(frozen=True)
class Engine:
    """How one run iterates (see the module docstring)."""

    kind: str                  # compiled | interpreted | vector
    arithmetic: Arithmetic
    blocked: bool = False      # compiled: the SIMD-blocked kernel
    lane_loop: bool = True     # interpreted: the per-lane loop (separable problems)
    specialized: bool = False  # interpreted, vector: the flattened loop

    @property
    def name(self) -> str:
        """What a result reports: numba, numba-blocked, python, numpy or torch."""
        if self.kind == "compiled":
            return "numba-blocked" if self.blocked else "numba"
        if self.kind == "vector":
            return "torch" if self.arithmetic.kind == "torch" else "numpy"
        return "python"

    @property
    def namespaces(self):
        return self.arithmetic.namespaces(self.kind)

    # ---- arrays -------------------------------------------------------------------------
    def allocate(self, plan: RunPlan):
        if self.kind == "vector":
            return VectorArrays(self.arithmetic, plan)
        return LaneArrays(self.arithmetic, plan, blocked=self.blocked)

    def chunk(self, plan: RunPlan, arrays) -> int:
        """Steps per kernel call: enough to amortise the call, few enough to bound the memory
        of per-chunk buffers and to report progress."""
        B, d, steps = plan.problem.B, plan.problem.d, plan.steps
        chunk = max(1, min(steps, 2_000_000 // max(1, B * d)))
        if self.blocked and B * d > 64:   # the kernel holds the chunk's powers: bound them
            # each call copies every block's state in and out of its scratch rows and starts
            # the threads: 2·10⁷ lane-steps (tens of ms) per call, not 2·10⁶ (B = 4096,
            # T = 2·10⁴: 5 calls instead of 41, 3–9 % of a run on one or two cores)
            chunk = max(1, min(steps, 20_000_000 // (B * d)))
            groups = len(arrays.inputs.group_hyper)
            return min(chunk, max(64, 2 ** 20 // (8 * groups)), 8192)
        if B * d <= 64:
            # a few lanes: the range checks between chunks (watch.py) and the progress come
            # every 8192 steps on every engine, at a kernel call each
            chunk = min(chunk, 8192)
        if self.kind == "interpreted":
            # the interpreted loop keeps a chunk's coefficients as tuples: 2048 steps keep
            # them young for the garbage collector (20 000 at once cost 8 % at arb:100)
            return min(chunk, 2048)
        return chunk

    # ---- the kernel -----------------------------------------------------------------------
    def key(self, plan: RunPlan) -> tuple:
        """What the kernel depends on: arithmetic, variant structure, problem family, set kind
        (the problem's numbers are the arrays it is given), the statistics, and whether its
        counters and integer parameters fit in 32 bits (:func:`narrow_counts`,
        :func:`narrow_ints`)."""
        ar, variant, problem = self.arithmetic, plan.variant, plan.problem
        # compiled kernels depend on the dtype only; the interpreted and vector ones hold the
        # arithmetic's own objects (an mpmath context, a torch device), so they are kept per
        # arithmetic (kept alive by the key, so its identity stays unique)
        number = ar.number if self.kind == "compiled" else ar
        # a family of the user's own (a subclass of one of ours included) is known by its
        # class, not by the family name it may share with ours, and its kernels are not kept
        # on disk (no cache_key below): its code is not among the sources their keys name
        family = problem.family if builtin_family(problem) else type(problem)
        return (self.kind, number, self.blocked, self.lane_loop, self.specialized,
                variant.structure(), family, problem.set.kind, problem.d == 1,
                plan.full_statistics, narrow_counts(plan), narrow_ints(plan))

    def kernel(self, plan: RunPlan) -> tuple[Any, tuple[str, ...]]:
        """(kernel, notes), built once per :meth:`key` and kept."""
        ar, variant, problem = self.arithmetic, plan.variant, plan.problem
        key = self.key(plan)
        if key in _KERNELS:
            return _KERNELS[key]
        xp, sp = self.namespaces
        full = plan.full_statistics
        if self.kind == "compiled":
            kept = key if builtin_family(problem) else None
            kernel, notes = compile_kernel(ar, xp, sp, variant, problem, blocked=self.blocked,
                                           full_statistics=full, cache_key=kept,
                                           narrow_counts=narrow_counts(plan),
                                           narrow_ints=narrow_ints(plan))
            built = (_Marking(kernel, kept, vector_width(ar, self.blocked)), notes)
        elif self.kind == "vector":
            built = make_vector_kernel(ar, xp, sp, variant, problem, full_statistics=full,
                                       specialized=self.specialized)
        elif self.lane_loop:
            built = make_python_kernel(ar, xp, sp, variant, problem, full_statistics=full,
                                       specialized=self.specialized)
        else:
            built = (make_interpreted_scalar_kernel(ar, xp, sp, variant, problem,
                                                    full_statistics=full), ())
        if len(_KERNELS) >= _KERNELS_SIZE:      # the oldest goes first
            _KERNELS.pop(next(iter(_KERNELS)))
        _KERNELS[key] = built
        return built

    def run(self, kernel, arrays, t0: int, t1: int) -> None:
        """Advance steps t0..t1."""
        kernel(t0, t1, arrays.inputs, arrays.state, arrays.outputs)


#: the most steps a run may have for the blocked kernel to hold its counters (counts of steps,
#: step numbers) in 32 bits (:func:`~amsgrad_theory.engine.compiled.make_blocked_kernel`)
COUNTS32_MAX_STEPS = 2**31 - 1


def narrow_counts(plan: RunPlan) -> bool:
    """Whether no counter of this run can reach 2³¹: every count and step number is at most
    its number of steps."""
    return plan.steps <= COUNTS32_MAX_STEPS


def narrow_ints(plan: RunPlan) -> bool:
    """Whether every integer parameter of the run's instances fits in 32 bits (signed), so
    that the blocked kernel may hold them so: the family's ``advance`` keeps them within their
    instance's range (:class:`~amsgrad_theory.problems.ProblemLanes`)."""
    return plan.int32_parameters


def choose_engine(ar: Arithmetic, plan: RunPlan, *, specialize: bool | None = None) -> Engine:
    """The engine of this run (the one place it is decided; see the module docstring)."""
    problem = plan.problem
    separable = not problem.coupled and problem.set.kind != "ball"
    kind = ar.forced_engine
    if kind == "compiled":
        return _compiled(ar, plan)
    if kind is None:
        if "compiled" in ar.engines and _numba() and plan.work >= NUMBA_CACHED_THRESHOLD:
            compiled = _compiled(ar, plan)      # (NUMBA_CACHED_THRESHOLD < NUMBA_THRESHOLD)
            if plan.work >= NUMBA_THRESHOLD or kernel_on_disk(compiled.key(plan)):
                return compiled
        kind = "interpreted" if "interpreted" in ar.engines else ar.engines[0]
    specialize = SPECIALIZE if specialize is None else specialize
    special = specialize and plan.work >= SPECIALIZE_MIN_WORK
    if kind == "vector":
        return Engine("vector", ar, specialized=special)
    return Engine("interpreted", ar, lane_loop=separable, specialized=special and separable)


def _compiled(ar: Arithmetic, plan: RunPlan) -> Engine:
    """The compiled engine of ``plan``: the blocked kernel spreads blocks over threads, so a
    variant that flushes subnormals (the flags are the calling thread's) runs the scalar loop
    in the calling thread.

    The blocked kernel vectorises across instances: one instance has nothing to spread and
    runs no faster on it (10⁶ steps of reddi-online, float64: 0.12 s blocked, 0.11 s scalar;
    two instances: 0.09 s and 0.10 s), while the scalar loop compiles in 0.4–0.7 of its time
    (no parallel block loop; 4.7–6.8 s against 7.8–12.9 s, two evenings). So a single
    instance runs the scalar loop — unless the blocked kernel of the same key is already built
    in this process or kept on disk (an earlier batch compiled it), which then serves it with
    no compile at all. Either gives the same numbers."""
    problem = plan.problem
    separable = not problem.coupled and problem.set.kind != "ball"
    if problem.d == 1 and not plan.trace and separable and not plan.variant.flush_denormals:
        blocked = Engine("compiled", ar, blocked=True)
        key = blocked.key(plan)
        if problem.B > 1 or key in _KERNELS or kernel_on_disk(key):
            return blocked
    return Engine("compiled", ar)


class _Marking:
    """A compiled kernel that marks its key as kept on disk after its first call (when numba
    has compiled and saved it; :func:`~amsgrad_theory.engine.compiled.mark_on_disk`).

    With ``lanes`` (:func:`~amsgrad_theory.engine.compiled.vector_width`), the first call
    compiles (or loads) the kernel for its arguments' types with LLVM's vector width forced to
    ``lanes``, and only then runs it."""

    def __init__(self, kernel, key: tuple | None, lanes: int | None = None):
        self.__wrapped__ = kernel       # the numba dispatcher (its stats, for tests)
        self.key = key
        self.lanes = lanes
        self.marked = False

    def __call__(self, *args):
        if not self.marked and self.lanes:
            dispatcher = self.__wrapped__
            with forced_vector_width(self.lanes):
                dispatcher.compile(tuple(map(dispatcher.typeof_pyval, args)))
        out = self.__wrapped__(*args)
        if not self.marked:
            self.marked = True
            if self.key is not None:        # (None: a kernel not kept on disk)
                mark_on_disk(self.key)
        return out


def _numba() -> bool:
    try:
        import numba  # noqa: F401  (a dependency; its absence only disables the compiled engine)
    except ImportError:  # pragma: no cover
        return False
    return True


__all__ = ["Engine", "choose_engine", "BLOCK", "NUMBA_THRESHOLD", "SPECIALIZE_MIN_WORK",
           "SPECIALIZE"]
