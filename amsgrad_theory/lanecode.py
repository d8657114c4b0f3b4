"""The lane-code mark: which functions the specialiser may inline.

Lane code is the small, pure functions a step is composed of — the update rule
(:func:`~amsgrad_theory.algorithms.rules.make_rule`), the problems' lane functions
(:meth:`~amsgrad_theory.problems.Problem.lanes`), the random stream
(:func:`~amsgrad_theory.problems.rng.make_hash`), the streaming statistics
(:mod:`amsgrad_theory.engine.lane`) and the elementwise operations of an arithmetic's
:class:`~amsgrad_theory.arithmetic.Namespace`. Their contract: no side effects, a result that
depends only on the arguments and the closure (the contract numba already imposes).

:func:`~amsgrad_theory.engine.specialize.specialize` inlines a call only when its callee carries
this mark; any other callee — a user's own problem method, a library function — stays a call, so
nothing unmarked is ever assumed pure.
"""

from __future__ import annotations

import types

ATTRIBUTE = "__lane_code__"


def lane_code(fn):
    """Mark ``fn`` (a Python function or lambda) as lane code, and return it.

    Objects that are not Python functions (numba dispatchers, builtins, C functions) are
    returned unmarked: the specialiser cannot read them (it reads a dispatcher's marked Python
    function, :func:`marked_function`).
    """
    if isinstance(fn, types.FunctionType):
        setattr(fn, ATTRIBUTE, True)
    return fn


def is_lane_code(fn) -> bool:
    """True when ``fn`` was marked by :func:`lane_code`."""
    return isinstance(fn, types.FunctionType) and getattr(fn, ATTRIBUTE, False) is True


def marked_function(obj):
    """The lane code behind ``obj``: ``obj`` itself when it is marked, the marked Python
    function a numba dispatcher compiles (its ``py_func``), else None. Inlining the Python
    function is what numba's ``inline="always"`` does with the dispatcher at its IR level."""
    if is_lane_code(obj):
        return obj
    py_func = getattr(obj, "py_func", None)
    return py_func if is_lane_code(py_func) else None
