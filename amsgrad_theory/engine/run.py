"""A run, as data: :class:`RunSpec` — the one description of a run in the package.

Records, sidecars, sweeps and studies refer to runs by spec, so any claim can be re-established
by replaying its run (``amsgrad-theory verify --sidecar F`` does that); the command line builds a
spec from its flags (:mod:`amsgrad_theory.commands.runflags`) and nothing else parses them.

Many specs that differ only in numbers (hyperparameters, problem parameters, seeds) run as one
batched :func:`~amsgrad_theory.engine.simulate.simulate` call: :func:`batches` groups them,
:func:`run_batch` runs one group, :func:`run_specs` returns one single-instance view per spec.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import pickle
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields

from ..algorithms import HYPERPARAMETERS, Variant, get_variant
from ..problems import Problem, get_problem, split_spec
from .cluster import connection, plan_tasks, results, worker_threads
from .simulate import Result, instance_attribute, simulate

#: the command-line flag of each hyperparameter
FLAGS = {"alpha": "--alpha", "beta1": "--beta1", "beta2": "--beta2", "eps": "--eps",
         "eps_root": "--eps-root", "beta1_decay": "--beta1-decay",
         "weight_decay": "--weight-decay"}


@dataclass(frozen=True)
class RunSpec:
    """One run: variant (with its structural options), problem spec, steps, arithmetic, inputs.

    ``hyperparameters`` holds only what was given (decimal strings); the variant's defaults
    fill the rest, exactly as on the command line. ``schedule`` (α_t: ``constant`` or
    ``inv-sqrt``), ``beta1_schedule`` (``constant``, ``exp-decay``, ``inv-t``) and
    ``decoupled`` override the preset's structure (None: the preset's own).
    """

    algorithm: str
    problem: str
    steps: int
    arithmetic: str = "float64"
    hyperparameters: dict = field(default_factory=dict)
    x0: str | None = None
    schedule: str | None = None
    beta1_schedule: str | None = None
    decoupled: bool | None = None

    def variant(self) -> Variant:
        return get_variant(self.algorithm, alpha_schedule=self.schedule,
                           beta1_schedule=self.beta1_schedule, decoupled=self.decoupled)

    def validate(self) -> Problem:
        """Raise :class:`~amsgrad_theory.errors.InputError` naming the first bad field; return
        the problem the spec names."""
        # as Variant.hyperparameters reads them (a non-string by its repr), so that the cache
        # below tells 1 from True and 0.1 from np.float64(0.1) as validation does
        given = tuple((k, v if isinstance(v, str) or v is None else repr(v))
                      for k, v in self.hyperparameters.items())
        _check_hyperparameters(self.algorithm, self.schedule, self.beta1_schedule,
                               self.decoupled, given)
        return get_problem(self.problem)

    def run(self, **kwargs) -> Result:
        """``simulate`` this spec (``kwargs``: trace, progress, statistics, …)."""
        return simulate(self.variant(), self.problem, steps=self.steps,
                        arithmetic=self.arithmetic, hyperparameters=dict(self.hyperparameters),
                        x0=self.x0, **kwargs)

    def with_(self, **changes) -> RunSpec:
        data = asdict(self)
        data.update(changes)
        return RunSpec(**data)

    def flags(self) -> list[str]:
        """The ``simulate``/``verify``/``check-proof`` flags that describe this run."""
        out = ["--algorithm", self.algorithm, "--problem", self.problem,
               "--steps", str(self.steps)]
        if self.arithmetic != "float64":
            out += ["--arithmetic", self.arithmetic]
        if self.x0 is not None:
            out += ["--x0", str(self.x0)]
        if self.schedule:
            out += ["--schedule", self.schedule]
        if self.beta1_schedule:
            out += ["--beta1-schedule", self.beta1_schedule]
        if self.decoupled:
            out += ["--decoupled"]
        for key, value in self.hyperparameters.items():
            out.append(f"{FLAGS[key]}={value}")   # '=' keeps negative values unambiguous
        return out

    def cli(self, command: str = "simulate") -> str:
        return "amsgrad-theory " + command + " " + " ".join(shlex.quote(f) for f in self.flags())

    def to_dict(self) -> dict:
        # the fields in order, the hyperparameters copied (what ``asdict`` gives, without its
        # deep copy of every value: a sweep keys each of its configurations by this)
        out = {}
        for name in _RUN_FIELDS:
            value = getattr(self, name)
            if value not in (None, {}) or name == "x0":
                out[name] = dict(value) if isinstance(value, dict) else \
                    list(value) if isinstance(value, list) else value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> RunSpec:
        keys = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - keys)
        if unknown:
            raise ValueError(f"unknown run fields: {', '.join(unknown)}")
        hp = data.get("hyperparameters", {})
        if not isinstance(hp, dict) or set(hp) - set(HYPERPARAMETERS):
            raise ValueError(f"hyperparameters must map names among {HYPERPARAMETERS}")
        return cls(**data)


_RUN_FIELDS = tuple(f.name for f in fields(RunSpec))


@functools.lru_cache(maxsize=4096)
def _check_hyperparameters(algorithm: str, schedule, beta1_schedule, decoupled,
                           hyperparameters: tuple) -> None:
    """Raise InputError for a variant or hyperparameters that do not fit it. Cached: a sweep
    validates thousands of specs that share a few (variant, hyperparameters) — an error is
    raised anew each time, only successes are remembered."""
    get_variant(algorithm, alpha_schedule=schedule, beta1_schedule=beta1_schedule,
                decoupled=decoupled).hyperparameters(**dict(hyperparameters))


# --------------------------------------------------------------------------------------------
# batches of specs
# --------------------------------------------------------------------------------------------

def batch_key(spec: RunSpec, problem: Problem | None = None) -> tuple:
    """Specs with equal keys run as one batched simulate call: same variant structure, steps,
    arithmetic, start point, problem name, dimension and feasible set."""
    problem = problem if problem is not None else get_problem(spec.problem)
    name, _ = split_spec(spec.problem)
    length = len(problem.sequence[0]) if problem.sequence else 0
    return (spec.algorithm, spec.schedule, spec.beta1_schedule, spec.decoupled, spec.steps,
            spec.arithmetic, spec.x0, name, problem.d, repr(problem.set), length)


def batches(specs: Sequence[RunSpec], size: int | None = None,
            keys: Sequence[tuple] | None = None) -> Iterator[list[int]]:
    """Indices of ``specs`` in groups that share one simulate call, each of at most ``size``
    instances, in the order of first appearance (every spec is validated first, unless
    ``keys`` gives each spec's :func:`batch_key` from a validation already made)."""
    groups: dict[tuple, list[int]] = {}
    for k, spec in enumerate(specs):
        key = batch_key(spec, spec.validate()) if keys is None else keys[k]
        groups.setdefault(key, []).append(k)
    for indices in groups.values():
        step = size or len(indices)
        for start in range(0, len(indices), step):
            yield indices[start:start + step]


def run_batch(specs: Sequence[RunSpec], *, trace: bool = False,
              progress: Callable[[int, int], None] | None = None,
              statistics: str = "full") -> Result:
    """One simulate call for specs that share a :func:`batch_key` (instance j is ``specs[j]``).

    The first spec is the base problem spec (it carries required keys such as ``g=…``); each
    instance overrides it with its own parameters.
    """
    first = specs[0]
    problem = get_problem(first.problem,
                          instances=[split_spec(s.problem)[1] for s in specs])
    return simulate(first.variant(), problem, steps=first.steps, arithmetic=first.arithmetic,
                    hyperparameters=[dict(s.hyperparameters) for s in specs], x0=first.x0,
                    trace=trace, progress=progress, statistics=statistics)


def run_specs(specs: Sequence[RunSpec], *, bar=None, trace: bool = False) -> list[InstanceView]:
    """Run every spec, batched (:func:`batches`); one single-instance view per spec, in order.

    ``view.instances == [its instance]`` and ``view.problem`` is the spec's own problem, so
    :func:`~amsgrad_theory.engine.summary.run_summary` and the registered checks read it exactly
    as they read ``spec.run()`` (the replay of a sidecar record). ``bar`` (tqdm) advances by
    lane-steps B·T.
    """
    views: list = [None] * len(specs)
    for indices in batches(specs):
        done = [0]

        def progress(n, total, _B=len(indices), _done=done):
            if bar is not None:
                bar.update((n - _done[0]) * _B)
            _done[0] = n

        result = run_batch([specs[k] for k in indices], trace=trace, progress=progress)
        for j, k in enumerate(indices):
            views[k] = InstanceView(result, j, get_problem(specs[k].problem))
    return views


def map_specs(specs: Sequence[RunSpec], reduce: Callable, tags: Sequence | None = None, *,
              bar=None, client=None, trace: bool = False,
              task_lane_steps: int | None = None) -> list:
    """``reduce(view, tag)`` for every spec (its :class:`InstanceView` from :func:`run_specs`
    and ``tags[k]``, None without tags), in the order of ``specs``.

    In process (``client`` None) this is :func:`run_specs` followed by ``reduce``. With a Dask
    client (a ``distributed.Client``, or what :func:`~amsgrad_theory.engine.cluster.connection`
    takes, opened for this call) the specs are cut into tasks of at least
    :data:`~amsgrad_theory.engine.cluster.TASK_LANE_STEPS` lane-steps (``task_lane_steps``
    when given) within their batches (:func:`batches`; :func:`~amsgrad_theory.engine.cluster.
    plan_tasks`), and each task runs its specs and ``reduce`` on a worker, so only the reduced
    values travel back. A spec's result does not depend on its batch's other instances (the
    lanes are independent), so the values are those of the in-process call. ``reduce`` must
    be picklable (a module-level function, or a ``functools.partial`` of one). ``bar`` (tqdm)
    advances by lane-steps T·d as tasks finish.
    """
    tags = list(tags) if tags is not None else [None] * len(specs)
    if len(tags) != len(specs):
        raise ValueError(f"{len(tags)} tags for {len(specs)} specs")
    if client is None:
        return [reduce(view, tag) for view, tag in zip(run_specs(specs, bar=bar, trace=trace),
                                                       tags)]
    groups = list(batches(specs))
    lanes = [specs[g[0]].steps * get_problem(specs[g[0]].problem).d for g in groups]
    out: list = [None] * len(specs)
    with contextlib.ExitStack() as stack:
        # a distributed.Client is used as it is; an address or a Connection is opened here
        if hasattr(client, "map"):
            opened = client
        else:
            target = connection(client)
            assert target is not None       # client is not None here
            opened = stack.enter_context(target)
        tasks = plan_tasks(list(enumerate(groups)), lanes, slots=worker_threads(opened),
                           task_size=None if task_lane_steps is None
                           else max(1, task_lane_steps // max(1, max(lanes, default=1))))
        payloads = [[[(k, specs[k], tags[k]) for k in part] for _, part in task]
                    for task in tasks]
        # named by content (what runs, with which reduce): the same name is the same task, for
        # any client of a shared scheduler (a name from id() could meet another process's)
        keys = ["amsgrad-map-" + hashlib.sha256(pickle.dumps((reduce, trace, payload)))
                .hexdigest()[:24] for payload in payloads]
        for done in results(opened, _map_task, payloads, keys, reduce=reduce, trace=trace):
            for k, value, work in done:
                out[k] = value
                if bar is not None:
                    bar.update(work)
    return out


def _map_task(parts: list, *, reduce: Callable, trace: bool) -> list:
    """One task of :func:`map_specs` on a worker: each part is one batch of (index, spec, tag);
    returns (index, reduce(view, tag), lane-steps) for each."""
    done = []
    for part in parts:
        views = run_specs([spec for _, spec, _ in part], trace=trace)
        for (k, spec, tag), view in zip(part, views):
            done.append((k, reduce(view, tag), spec.steps * view.problem.d))
    return done


def lane_steps(specs: Sequence[RunSpec]) -> int:
    """Σ T·d over specs (the total a progress bar of :func:`run_specs` counts to)."""
    return sum(s.steps * get_problem(s.problem).d for s in specs)


class InstanceView:
    """Instance ``b`` of a batched :class:`~amsgrad_theory.engine.simulate.Result`, read as a
    single-instance result: ``instances == [that instance]``, ``trace`` sliced to it, and
    ``problem`` the instance's own (single) problem. It answers what
    :func:`~amsgrad_theory.engine.summary.run_summary`, the invariants and the registered checks
    read.
    """

    def __init__(self, result: Result, b: int, problem: Problem | None = None):
        self.variant = result.variant
        self.problem = problem if problem is not None else result.problem
        self.arithmetic = result.arithmetic
        self.steps = result.steps
        self.engine = result.engine
        self.wall_time = result.wall_time
        self.notes = list(result.notes)
        self.statistics = result.statistics
        self.instances = [result.instances[b]]
        self.trace = None
        if result.trace is not None:
            self.trace = {key: value[:, b:b + 1] for key, value in result.trace.items()}
        self.batch_index = b

    def __getattr__(self, name):
        if name.startswith("_") or name == "instances":
            raise AttributeError(name)
        return instance_attribute(self.instances[0], name)

    def to_float(self, value):
        return None if value is None else self.arithmetic.to_float(value)
