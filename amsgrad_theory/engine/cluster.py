"""Sweeps beyond one machine: a sweep's tasks on `Dask distributed
<https://distributed.dask.org>`_ (the ``cluster`` extra: ``pip install amsgrad-theory[cluster]``).

Dask does the scheduling, the data movement and the recovery: a task whose worker dies is run
again on another worker (up to the scheduler's ``distributed.scheduler.allowed-failures``
times); this module only says where to run (:class:`Connection`), how a sweep is cut into tasks
(:func:`plan_tasks`), and streams the results back as tasks finish (:func:`results`,
``distributed.as_completed``). What a task computes and how its rows reach the CSV is
:mod:`~amsgrad_theory.engine.sweep`'s business. Dask is imported inside the functions that use
it, so a sweep without a cluster never imports it.

**Task size.** A task costs the scheduler a fixed overhead: its submission, its placement, the
worker's bookkeeping and its result's trip back. ``experiments/benchmarks/cluster.py`` measures
it on a local cluster of 2 worker processes (1000 no-op tasks through ``as_completed``): 5–16 ms
of worker time per task on this project's 2-core machine, the more the busier others keep it
(11–18 ms latency one task at a time). For that to stay under 1 % a task must compute for at
least 100 × 16 ms = 1.6 s. The fastest kernels measured advance about 2.3·10⁷ lane-steps per
second (float64, the compiled loop, d = 3, one core; a lane-step is one coordinate of one
instance for one step: instances × d × T). So a task holds at least :data:`TASK_LANE_STEPS` =
5·10⁷ lane-steps, ≥ 2.2 s in any arithmetic (slower arithmetics only make the overhead's share
smaller): ≤ 0.7 % overhead at the worst measured, ≈ 0.25 % on a quiet machine. A configuration
larger than that is a task of its own; a sweep smaller than one task is one task. Larger tasks
only delay the first results and lose more work when a worker dies — except on many workers,
where the scheduler's and the client's rate of task completions bounds the size from below
(README, "Beyond one machine": ``--task-size`` for 100 nodes).
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Callable, Iterator, Sequence

from ..errors import InputError

#: seconds to wait for a scheduler (address or scheduler file) before it is refused
CONNECT_TIMEOUT_S = 5.0
#: what a local cluster's workers import when they start (Dask's ``preload``): the code a
#: sweep's task runs, and numba
PRELOAD = "amsgrad_theory.engine.worker_start"
#: a local cluster's background work that only feeds monitoring, made less frequent (Dask's
#: defaults in brackets): the check that an event loop is not blocked [20 ms], the CPU and
#: memory samples of the dashboard's graphs [500 ms] and the nanny's poll of its worker's memory
#: for the memory limit [100 ms]. Scheduler and nannies share the client's process and its 2
#: cores with the workers: with the defaults, their event-loop thread used 0.53–0.65 s of CPU
#: in a 7.5 s sweep of 4 tasks on 2 workers, and 0.21–0.23 s with these (thread CPU times,
#: three interleaved pairs; README "Beyond one machine")
LOCAL_CONFIG = {"distributed.admin.tick.interval": "1s",
                "distributed.admin.system-monitor.interval": "2s",
                "distributed.worker.memory.monitor-interval": "1s"}
#: the least work of a task, in lane-steps (instances × d × T): ≥ 100 × the per-task overhead
#: at the fastest measured kernel (module docstring)
TASK_LANE_STEPS = 50_000_000


def plan_tasks(chunks: Sequence[tuple[int, list[int]]], lanes: Sequence[int],
               task_size: int | None = None, slots: int = 1
               ) -> list[list[tuple[int, list[int]]]]:
    """Cut a sweep's chunks into tasks; each task is a list of parts ``(chunk, indices)``.

    ``chunks``: ``(chunk number, configuration indices still to run)``, in order; ``lanes[k]``:
    lane-steps (d × T) of one instance of ``chunks[k]``. A task takes parts in order until it
    holds :data:`TASK_LANE_STEPS` lane-steps, or ``task_size`` (≥ 1) instances when given; a
    chunk may be split over tasks and a task may hold parts of several chunks (each part runs
    as its own batch, and a row does not depend on its batch's other instances).

    ``slots``: the worker threads that will run the tasks (:func:`worker_threads`). Sized by
    lane-steps, n > ``slots`` tasks become ⌊n / slots⌋ · slots tasks of equal work (each larger
    by the factor n / (⌊n / slots⌋ · slots) < 2, so the overhead's share only shrinks): the
    last round then keeps every worker busy, where 29 tasks on 2 workers left one worker idle
    for a whole task at the end.
    """
    if task_size is not None:
        return _cut(chunks, lanes, task_size, weighted=False)
    tasks = _cut(chunks, lanes, TASK_LANE_STEPS, weighted=True)
    if slots > 1 and len(tasks) > slots and len(tasks) % slots:
        total = sum(max(1, lane) * len(indices) for (_, indices), lane in zip(chunks, lanes))
        tasks = _cut(chunks, lanes, math.ceil(total / (len(tasks) // slots * slots)),
                     weighted=True)
    return tasks


def worker_threads(client) -> int:
    """The worker threads connected to ``client``'s scheduler now (at least 1): the ``slots``
    of :func:`plan_tasks` (a local cluster's workers are all up once its client is)."""
    return max(1, sum(client.nthreads().values()))


def _cut(chunks: Sequence[tuple[int, list[int]]], lanes: Sequence[int], capacity: int,
         weighted: bool) -> list[list[tuple[int, list[int]]]]:
    """Parts in order, a task closed once it holds ``capacity`` (lane-steps when
    ``weighted``, else instances)."""
    tasks: list[list[tuple[int, list[int]]]] = []
    current: list[tuple[int, list[int]]] = []
    load = 0
    for (chunk, indices), lane in zip(chunks, lanes):
        weight = max(1, lane) if weighted else 1
        start = 0
        while start < len(indices):
            room = max(1, math.ceil((capacity - load) / weight))
            part = indices[start:start + room]
            current.append((chunk, part))
            load += weight * len(part)
            start += len(part)
            if load >= capacity:
                tasks.append(current)
                current, load = [], 0
    if current:
        tasks.append(current)
    return tasks


class Connection:
    """Where a sweep's tasks run: a running scheduler (``address``, e.g.
    ``tcp://host:8786``, or its ``scheduler_file``), or ``workers`` local worker processes
    (a ``LocalCluster`` started on entry and stopped on exit, one thread each), or an existing
    ``distributed.Client`` (``client``, used as it is and left open).

    Entering it connects (within :data:`CONNECT_TIMEOUT_S`) and returns the client; a scheduler
    that does not answer, a missing scheduler file, ``workers < 1`` or two targets at once are an
    :class:`~amsgrad_theory.errors.InputError` naming the argument. ``log`` receives one line
    on connection (the workers and, when the scheduler serves one, the dashboard's address).

    :meth:`start` begins connecting (a local cluster: starting its worker processes, which
    import the package meanwhile) in a thread of its own, so the caller may plan its work while
    the cluster comes up; entering then waits for it. :meth:`close` (also on exit) waits for a
    start under way and closes what it opened.
    """

    def __init__(self, address: str | None = None, *, scheduler_file: str | None = None,
                 workers: int | None = None, client=None,
                 log: Callable[[str], None] | None = None):
        targets = {"scheduler": address, "scheduler_file": scheduler_file,
                   "workers": workers, "client": client}
        given = [name for name, value in targets.items() if value is not None]
        if len(given) > 1:
            raise InputError(given[1], targets[given[1]], f"give {given[0]} or {given[1]}, "
                             "not both")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                    or workers < 1):
            raise InputError("workers", workers, "must be an integer >= 1")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise InputError("scheduler", address, "expected an address such as "
                             "tcp://host:8786")
        self.address = address
        self.scheduler_file = scheduler_file
        self.workers = workers
        self.client = client
        self.log = log
        self._opened: list = []       # what __enter__ started, closed by __exit__ (last first)
        self._starting: threading.Thread | None = None
        self._started: tuple = ()     # (client,) or (exception,) once a start() has ended

    def describe(self) -> str:
        if self.workers is not None:
            return f"a local cluster of {self.workers} worker processes"
        if self.scheduler_file is not None:
            return f"the scheduler of {self.scheduler_file}"
        if self.address is not None:
            return f"the scheduler at {self.address}"
        return "the given client's scheduler"

    def start(self) -> Connection:
        """Begin connecting in a background thread (see the class); returns self."""
        if self._starting is None and not self._opened:
            def opening() -> None:
                try:
                    self._started = (self._open(),)
                except BaseException as exc:        # handed to __enter__ or dropped by close
                    self._started = (exc,)
            self._starting = threading.Thread(target=opening, name="amsgrad-cluster-start",
                                              daemon=True)
            self._starting.start()
        return self

    def __enter__(self):
        try:
            if self._starting is None:
                return self._open()
            self._starting.join()
            self._starting = None
            (outcome,) = self._started
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        except BaseException:
            self.close()        # what a failed start opened (a cluster whose client timed out)
            raise

    def _open(self):
        # dask.distributed: optional (the `cluster` extra), imported only when a sweep uses it
        import dask
        from distributed import Client, LocalCluster

        if self.client is not None:
            client = self.client
        elif self.workers is not None:
            # one thread per worker process, numba's included: a worker is one core; each
            # imports the package on start (PRELOAD), not when its first task arrives; the
            # servers read LOCAL_CONFIG as they are built (the nannies hand it to their
            # workers), the caller's configuration is left as it was
            with dask.config.set(LOCAL_CONFIG):
                cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                       processes=True, dashboard_address=":0",
                                       env={"NUMBA_NUM_THREADS": "1"}, preload=[PRELOAD])
            self._opened.append(cluster)
            client = Client(cluster, timeout=CONNECT_TIMEOUT_S)
            self._opened.append(client)
        else:
            client = self._connect(Client)
            self._opened.append(client)
        if self.log is not None:
            self.log(self._announcement(client))
        return client

    def _connect(self, client_class):
        """A client of the scheduler at ``address`` or in ``scheduler_file``, its answer
        awaited at most :data:`CONNECT_TIMEOUT_S` (the handshake too, which Dask's own
        connect timeout does not bound: a server that is not Dask's may never answer it)."""
        if self.scheduler_file is not None:
            argument, value = "scheduler_file", self.scheduler_file
            try:
                with open(self.scheduler_file, encoding="utf-8") as fh:
                    address = json.load(fh)["address"]
            except OSError as exc:
                raise InputError(argument, value, f"cannot read it: {exc.strerror or exc}; "
                                 "give the file `dask scheduler --scheduler-file` writes") \
                    from None
            except (ValueError, KeyError, TypeError):
                raise InputError(argument, value, "not a scheduler file (JSON with an "
                                 "address): give the file `dask scheduler --scheduler-file` "
                                 "writes") from None
        else:
            argument, value = "scheduler", self.address
            address = self.address
        try:
            asyncio.run(asyncio.wait_for(_handshake(address), CONNECT_TIMEOUT_S))
            return client_class(address, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:   # refused, timed out, or what answered speaks no Dask
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise InputError(argument, value, f"no Dask scheduler answered at {address} "
                             f"within {CONNECT_TIMEOUT_S:g} s ({why})") from None

    def _announcement(self, client) -> str:
        info = client.scheduler_info()
        workers = len(info.get("workers", {}))
        threads = sum(w.get("nthreads", 0) for w in info.get("workers", {}).values())
        text = f"Dask: {self.describe()}, scheduler {info.get('address', '?')}, {workers} " \
               f"workers ({threads} threads)"
        if "dashboard" in info.get("services", {}):
            text += f"; dashboard {client.dashboard_link}"
        return text

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close what was opened (after a start under way has ended); idempotent."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        while self._opened:
            self._opened.pop().close()


async def _handshake(address: str) -> None:
    """Open and close one Dask connection to ``address`` (its handshake included)."""
    # dask.distributed: optional (the `cluster` extra), imported only when a sweep uses it
    from distributed.comm import connect

    comm = await connect(address, timeout=CONNECT_TIMEOUT_S)
    await comm.close()


def connection(client) -> Connection | None:
    """``run_sweep``'s ``client=``: None (in-process), a :class:`Connection`, an address
    string, or a ``distributed.Client``."""
    if client is None or isinstance(client, Connection):
        return client
    if isinstance(client, str):
        return Connection(client)
    return Connection(client=client)


def results(client, function: Callable, payloads: Sequence, keys: Sequence[str],
            **constants) -> Iterator:
    """``function(payload, **constants)`` for every payload, run by ``client``'s workers as
    tasks named ``keys``; yields each result as its task finishes (``as_completed``), so a
    caller commits it at once. A task's own exception is raised here as it would be in
    process; a task that Dask gave up on (its workers kept dying) or a lost scheduler is an
    :class:`~amsgrad_theory.errors.InputError` naming the scheduler. Tasks not yet returned are
    cancelled when the caller stops.
    """
    # dask.distributed: optional (the `cluster` extra), imported only when a sweep uses it
    from distributed import KilledWorker, as_completed
    from distributed.client import FutureCancelledError

    # pure=False: the keys are ours; a pure map would also hash every payload (≈ 0.4 s for
    # 10⁴ configurations on the client, before the first task is sent)
    futures = client.map(function, payloads, key=list(keys), pure=False, **constants)
    pending = set(futures)
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except KilledWorker as exc:
                raise InputError("scheduler", client.scheduler.address, f"Dask gave up on a "
                                 f"task: {exc}; the rows committed so far are kept, rerun with "
                                 "--resume") from None
            except (FutureCancelledError, OSError) as exc:
                raise InputError("scheduler", client.scheduler.address, f"lost the "
                                 f"scheduler ({type(exc).__name__}: {exc}); the rows committed "
                                 "so far are kept, rerun with --resume") from None
            pending.discard(future)
            future.release()            # the workers may forget a result once it is committed
            yield result
    finally:
        if pending and client.status == "running":
            client.cancel(list(pending))
