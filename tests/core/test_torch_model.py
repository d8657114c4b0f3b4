"""The amsgrad-pytorch model against the real torch.optim.Adam(amsgrad=True), step for step."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from amsgrad_theory import simulate

gradients = st.lists(st.lists(st.floats(-10, 10, allow_subnormal=False).map(
    lambda v: 0.0 if abs(v) < 1e-6 else v), min_size=2, max_size=2), min_size=1, max_size=40)


def torch_run(grads, *, lr, betas, eps, wd=0.0, decoupled=False, dtype=torch.float64):
    p = torch.zeros(len(grads[0]), dtype=dtype, requires_grad=True)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = cls([p], lr=lr, betas=betas, eps=eps, weight_decay=wd, amsgrad=True, foreach=False)
    xs = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=dtype)
        opt.step()
        xs.append(p.detach().clone().numpy())
    return np.array(xs)


def model_run(grads, *, lr, betas, eps, wd="0", decoupled=False, arithmetic="float64"):
    name = "amsgrad-adamw-pytorch" if decoupled else "amsgrad-pytorch"
    spec = "gradient-sequence:g=" + json.dumps(grads) + ",set=none"
    r = simulate(name, spec, steps=len(grads), arithmetic=arithmetic, trace=True,
                 hyperparameters={"alpha": lr, "beta1": betas[0], "beta2": betas[1],
                                  "eps": eps, "weight_decay": wd})
    return np.asarray(r.trace["xhat"][:, 0, :], dtype=np.float64)


def ulps(a, b):
    """|a − b| in ulps of the path's scale: max(|x_t|, Σ_s≤t |x_{s+1} − x_s|), so that rounding
    differences made earlier on the path are not inflated where x crosses zero."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    path = np.cumsum(np.abs(np.diff(np.vstack([np.zeros_like(a[:1]), a]), axis=0)), axis=0)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), path)
    spacing = np.array([math.ulp(s) if s > 0 else 5e-324 for s in scale.ravel()]).reshape(
        scale.shape)
    return np.abs(a - b) / spacing


@given(gradients)
def test_model_matches_real_torch_within_4_ulp(grads):
    real = torch_run(grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    model = model_run(grads, lr="0.001", betas=("0.9", "0.999"), eps="1e-8")
    assert ulps(real, model).max() <= 4


@given(gradients, st.sampled_from([False, True]))
def test_model_matches_real_torch_with_weight_decay(grads, decoupled):
    real = torch_run(grads, lr=1e-2, betas=(0.8, 0.99), eps=1e-8, wd=0.1, decoupled=decoupled)
    model = model_run(grads, lr="0.01", betas=("0.8", "0.99"), eps="1e-8", wd="0.1",
                      decoupled=decoupled)
    assert ulps(real, model).max() <= 8


def test_torch_arithmetic_model_is_bit_exact_on_cpu():
    """Run through torch's own ops (same sqrt, same FMA), the model is torch bit for bit."""
    rng = np.random.default_rng(7)
    grads = np.round(rng.standard_normal((200, 3)), 6).tolist()
    for dtype, name in ((torch.float64, "torch:cpu:float64"), (torch.float32, "torch:cpu:float32")):
        real = torch_run(grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, dtype=dtype)
        model = model_run(grads, lr="0.001", betas=("0.9", "0.999"), eps="1e-8",
                          arithmetic=name)
        np.testing.assert_array_equal(real.astype(np.float64), model)


@pytest.mark.parametrize("path", ["foreach", "fused"])
def test_paths_against_model(path):
    """foreach is torch's single-tensor path bit for bit; fused rounds differently (a few ulp
    per step in exp_avg_sq; PyTorch 2.13 aten/src/ATen/native/cpu/FusedAdamKernel.cpp
    [pytorch-2.13])."""
    rng = np.random.default_rng(3)
    grads = np.round(rng.standard_normal((100, 4)), 5).tolist()
    p = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=1e-3, amsgrad=True, **{path: True})
    xs = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        xs.append(p.detach().clone().numpy())
    model = model_run(grads, lr="0.001", betas=("0.9", "0.999"), eps="1e-8",
                      arithmetic="torch:cpu:float64")
    if path == "foreach":
        np.testing.assert_array_equal(np.array(xs), model)
    else:
        assert np.abs(np.array(xs) - model).max() <= 1e-15
