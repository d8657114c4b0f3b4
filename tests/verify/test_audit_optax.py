"""The optax audit. With jax and optax installed it audits the real ``optax.amsgrad``; without
them (as here) it checks the subject's plumbing against a small stand-in that implements
optax's documented update (optax/_src/transform.py::scale_by_amsgrad: the max over the
*corrected* ν̂) in numpy float32."""

from __future__ import annotations

import sys
import types
from typing import NamedTuple

import numpy as np
import pytest

from amsgrad_theory.verify.audit import audit


class _AmsgradState(NamedTuple):
    count: int
    mu: np.ndarray
    nu: np.ndarray
    nu_max: np.ndarray


def _stand_in(monkeypatch):
    jnp = types.ModuleType("jax.numpy")
    jnp.asarray = lambda a, dtype=None: np.asarray(a, dtype=dtype)
    jnp.float32 = np.float32
    jnp.sqrt = np.sqrt
    jax = types.ModuleType("jax")
    jax.numpy = jnp
    optax = types.ModuleType("optax")

    def amsgrad(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0):
        f = np.float32

        def init(params):
            z = np.zeros_like(params, dtype=f)
            return (_AmsgradState(0, z, z, z), ())

        def update(g, state, params=None):
            # optax 0.2.8 with jax's x64 off: 1 − β^t in float32 (powf), its reciprocal
            # multiplies (XLA's rewrite of the division), the learning rate last
            s = state[0]
            c = s.count + 1
            mu = f(1 - b1) * g + f(b1) * s.mu
            nu = f(1 - b2) * (g * g) + f(b2) * s.nu
            r1 = f(1) / (f(1) - f(b1) ** f(c))
            r2 = f(1) / (f(1) - f(b2) ** f(c))
            nu_max = np.maximum(s.nu_max, nu * r2)
            lr = learning_rate(s.count) if callable(learning_rate) else learning_rate
            u = ((mu * r1) / (np.sqrt(nu_max + f(eps_root)) + f(eps)) * f(-lr)).astype(f)
            return u, (_AmsgradState(c, mu, nu, nu_max), ())
        return types.SimpleNamespace(init=init, update=update)

    optax.amsgrad = amsgrad
    optax.apply_updates = lambda p, u: (p + u).astype(np.float32)
    monkeypatch.setitem(sys.modules, "jax", jax)
    monkeypatch.setitem(sys.modules, "jax.numpy", jnp)
    monkeypatch.setitem(sys.modules, "optax", optax)


@pytest.fixture
def optax_env(monkeypatch):
    try:
        import optax  # noqa: F401
    except ImportError:
        _stand_in(monkeypatch)


@pytest.mark.parametrize("schedule", ["constant", "inv-sqrt"])
def test_optax_amsgrad_keeps_every_invariant_and_matches_its_model(optax_env, schedule):
    r = audit("optax-amsgrad", dtype="float32", schedule=schedule, max_examples=40,
              path_steps=60)
    assert r.holds and r.exit_status == 0, r.counterexample
    assert r.model == "amsgrad-optax"
    (path,) = r.paths
    assert path["available"] and path["agrees_with_model"], path
    assert r.equivalence is None and r.state_dict is None


def test_optax_target_needs_float32(optax_env):
    from amsgrad_theory.errors import InputError

    with pytest.raises(InputError, match="dtype="):
        audit("optax-amsgrad", dtype="float64")
    assert audit("optax-amsgrad", sections=("invariants",), max_examples=5).dtype == "float32"
