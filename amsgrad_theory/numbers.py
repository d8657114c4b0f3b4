"""Reading the numbers of a run's texts as binary64.

Every number of a run arrives as text (a decimal or an exact ``a/b``) and is read exactly
where exactness matters (:class:`fractions.Fraction`). Where a float is wanted — the float
arithmetics' scalars, the ranking of the least |C|, |c| of an underflow proof — it is the
correctly rounded binary64 value of the text: Python's ``float`` of a decimal is correctly
rounded (IEEE 754-2008 §5.12.2, David Gay's algorithm), and an ``a/b`` is rounded once from
its exact value.

Both the problems (their data) and the arithmetics (the run's scalars) read texts, and
neither may import the other, so the reading lives here, below both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import numpy as np


def parse_float(text: str) -> float:
    """Correctly rounded binary64 value of a decimal or ``a/b`` string (±inf on overflow)."""
    text = text.strip()
    if "/" not in text:
        return float(text)
    q = Fraction(text)
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def floats_of(texts: Sequence[str]) -> np.ndarray:
    """:func:`parse_float` of each text, as a read-only float64 array.

    A batch reads the same columns (4096 values of C, the shared c) several times per run —
    the conversion check, the underflow proof, the kernels' arrays — and again in every run
    of a sweep; each distinct column of up to 2¹⁶ texts is read once (a cache of 32 columns,
    keyed by the texts themselves, so equal texts give the same array and nothing is ever
    stale; at most about 32 MB). Longer columns are read every time: their runs' kernels
    take far longer than the reading."""
    key = tuple(texts)
    return _floats_of_cached(key) if len(key) <= CACHED_COLUMN else _read(key)


#: the longest column :func:`floats_of` keeps
CACHED_COLUMN = 1 << 16


def _read(texts: tuple[str, ...]) -> np.ndarray:
    try:            # float() reads a decimal correctly rounded; an a/b is read one by one
        out = np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:
        out = np.array([parse_float(t) for t in texts], dtype=np.float64)
    out.flags.writeable = False
    return out


_floats_of_cached = lru_cache(maxsize=32)(_read)
