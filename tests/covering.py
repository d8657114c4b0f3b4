"""Test matrices that cover by default and run in full with ``-m slow``.

A full product (every variant × every arithmetic × every problem) is the thorough check, but
most of its cells re-test what a neighbour already tested. :func:`covering` returns every cell
as a ``pytest.param``; by default only a covering subset runs:

- every value of the *first* axis (the long one, e.g. the variants) appears ``per_value``
  times (on different combinations of the other axes), and
- every combination of the *other* axes (e.g. arithmetic × problem) appears at least once.

The remaining cells are marked ``slow`` (run them with ``pytest -m slow``, or ``-m ''`` for
everything). The subset is fixed (no randomness), so a failure reproduces by its id.
"""

from __future__ import annotations

import itertools

import pytest


def covering(first: list, *others: list, per_value: int = 1) -> list:
    """Every cell of ``first × others`` as pytest params; cells outside the covering subset
    carry the ``slow`` mark. The subset: combination j (of the product of ``others``, in
    order) with first-axis value j mod |first|; then each first-axis value i that has fewer
    than ``per_value`` cells takes the next combinations from i·per_value onwards."""
    combos = list(itertools.product(*others))
    chosen = {(j % len(first), j) for j in range(len(combos))}
    for i in range(len(first)):
        j = i * per_value
        while sum(c[0] == i for c in chosen) < min(per_value, len(combos)):
            chosen.add((i, j % len(combos)))
            j += 1
    return [pytest.param(a, *combo,
                         marks=() if (i, j) in chosen else pytest.mark.slow)
            for i, a in enumerate(first) for j, combo in enumerate(combos)]
