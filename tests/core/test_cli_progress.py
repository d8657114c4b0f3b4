"""The progress bar shows a "compiling" stage while numba compiles a kernel (issue 13.2)."""

from __future__ import annotations

import time

import numba

from amsgrad_theory.arithmetic import get_arithmetic
from amsgrad_theory.commands import runflags
from amsgrad_theory.engine import RunSpec


class Bar:
    """A tqdm stand-in that records its labels and redraws."""

    def __init__(self, *args, **kwargs):
        self.n = 0
        self.desc = ""
        self.labels = []
        self.redraws = 0

    def set_description_str(self, text, refresh=True):
        self.desc = text
        self.labels.append(text)

    def refresh(self):
        self.redraws += 1

    def update(self, k):
        self.n += k

    def close(self):
        pass


def fresh_function():
    """A function numba has not compiled yet in this process (a new closure each call)."""
    offset = time.perf_counter_ns()

    @numba.njit(cache=False)
    def shifted(x):
        return x + offset
    return shifted


def test_the_bar_reads_compiling_while_numba_compiles(monkeypatch):
    monkeypatch.setattr(runflags, "COMPILING_REFRESH_S", 0.01)
    bar = Bar()
    with runflags.compile_stage(lambda: bar, get_arithmetic("float64")):
        assert bar.labels == []
        fresh_function()(1.0)                 # compiles: numba's compile event
        assert bar.desc == "compiling"
        fresh_function()(2.0)                 # a second unit: no flicker in between
        assert bar.labels == ["compiling", "compiling"]
        runflags.advance(bar, 10)
    assert bar.desc == "" and bar.n == 10
    assert bar.redraws >= 1                   # its clock was redrawn while compiling


def test_no_stage_where_nothing_compiles():
    bar = Bar()
    with runflags.compile_stage(lambda: bar, get_arithmetic("mpmath:20")):
        fresh_function()(1.0)
    assert bar.labels == []
    with runflags.compile_stage(lambda: bar, get_arithmetic("float64")):
        pass
    fresh_function()(1.0)                     # after the run: the listener is gone
    assert bar.labels == []


def test_simulate_shows_the_stage_on_its_bar(monkeypatch):
    bars = []

    def make_bar(*args, **kwargs):
        bars.append(Bar())
        return bars[-1]

    def run(self, *, trace=False, progress=None):
        fresh_function()(1.0)                 # as the engine's first call of a new kernel
        progress(self.steps // 2, self.steps)
        raise KeyboardInterrupt

    monkeypatch.setattr(runflags, "tqdm", make_bar)
    monkeypatch.setattr(RunSpec, "run", run)
    spec = RunSpec("amsgrad", "reddi-online", 1000)
    try:
        runflags.run_spec(spec, progress_from=10)
    except KeyboardInterrupt:
        pass
    assert bars and bars[0].labels == ["compiling", ""] and bars[0].n == 500
