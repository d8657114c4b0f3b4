"""A counter-based random stream that every backend computes identically.

The random problems draw their data from a pure function of ``(seed, t, i, channel)``, so

* no state is carried between steps (a run can be resumed or a step regenerated at will; the
  comparator of a random problem is computed by regenerating its data),
* the numba kernel, numpy, torch, pure Python, mpmath/arb runs and the C reference loop of the
  benchmarks all see the same numbers.

The mixing function is Chris Wellons' ``lowbias32`` (a 32-bit integer hash with low avalanche
bias, https://nullprogram.com/blog/2018/07/31/), applied in a chain. Every intermediate value is
kept below 2³² by masking, so the arithmetic is exact in Python ints, numpy/numba ``uint64`` and
torch ``int64`` (whose wrap-around leaves the low 32 bits right).

Data values are dyadic rationals with at most 24 significant bits (``k/2²³`` and friends), so they
are exact in float32, float64 and every higher precision: all arithmetics solve the same problem.
"""

from __future__ import annotations

from fractions import Fraction

MASK32 = 0xFFFFFFFF
GOLDEN32 = 0x9E3779B9
TWO23 = float(1 << 23)


def make_hash(U, jit=lambda f: f):
    """Build ``key(seed)``, ``draw(key, t, i, channel)``, ``bits23(h)`` for the integer type ``U``.

    ``U`` converts an integer constant (or array) to the unsigned type used by the backend:
    ``int`` for Python, ``numpy.uint64`` for numba and numpy, ``int64`` tensors for torch.
    ``jit`` compiles each function (numba) or leaves it alone.
    """
    m32 = U(MASK32)
    c1 = U(0x7FEB352D)
    c2 = U(0x846CA68B)
    golden = U(GOLDEN32)
    s9 = U(9)
    s15 = U(15)
    s16 = U(16)

    @jit
    def mix(x):
        x = x ^ (x >> s16)
        x = (x * c1) & m32
        x = x ^ (x >> s15)
        x = (x * c2) & m32
        x = x ^ (x >> s16)
        return x

    @jit
    def key(seed):
        return mix((U(seed) & m32) ^ golden)

    @jit
    def draw(k, t, i, channel):
        """A 32-bit hash of (key, t, i, channel); t, i < 2**32."""
        h = mix(k ^ (U(t) & m32))
        h = mix(h ^ (U(i) & m32))
        return mix(h ^ U(channel))

    @jit
    def bits23(h):
        """The 23 high bits of a draw: an integer k in [0, 2²³), uniform."""
        return h >> s9

    return key, draw, bits23


def threshold(p: str | Fraction) -> int:
    """The integer k with P(draw < k) = k/2³² closest to ``p`` (exact from the decimal ``p``).

    A Bernoulli(p) event is ``draw < threshold(p)``: an integer comparison, the same in every
    arithmetic. The realised probability differs from p by at most 2⁻³³.
    """
    q = Fraction(str(p)) if not isinstance(p, Fraction) else p
    if not 0 <= q <= 1:
        raise ValueError("probability must lie in [0, 1]")
    k = q * (1 << 32)
    return int(k + Fraction(1, 2)) if k < (1 << 32) else (1 << 32)
