"""Optimizers with known defects, for the audit's and the test kit's own tests.

``max_not_written_back`` is the bug class of pytorch#78807 (``_multi_tensor_adam`` did
``max_exp_avg_sq = torch._foreach_maximum(...)``) and chainer#7661 (``vhat = numpy.maximum(vhat,
v)``): the running max is computed into a local name and never written back to the state, so
the optimizer silently runs as plain Adam while its state still holds a ``max_exp_avg_sq``.
"""

from __future__ import annotations

import math

import torch


class _AdamLike(torch.optim.Optimizer):
    """torch 2.13's single-tensor AMSGrad step (torch/optim/adam.py, _single_tensor_adam
    [pytorch-2.13]), written out."""

    write_back = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    state["max_exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                g = p.grad
                state["exp_avg"].lerp_(g, 1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                max_exp_avg_sq = state["max_exp_avg_sq"]
                if self.write_back:
                    torch.maximum(max_exp_avg_sq, state["exp_avg_sq"], out=max_exp_avg_sq)
                else:
                    # the bug: a new tensor bound to a local name; the state keeps zeros
                    max_exp_avg_sq = torch.maximum(max_exp_avg_sq, state["exp_avg_sq"])
                denom = (max_exp_avg_sq.sqrt() / math.sqrt(1 - beta2 ** t)).add_(group["eps"])
                p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1 ** t))


class MaxNotWrittenBack(_AdamLike):
    write_back = False


def max_not_written_back(params):
    """AMSGrad whose max is computed but not written back (the pytorch#78807 class)."""
    return MaxNotWrittenBack(params)


def written_back(params):
    """The same code with the max written back in place: a correct torch-style AMSGrad."""
    return _AdamLike(params)


class _RaisesAtStep3(_AdamLike):
    @torch.no_grad()
    def step(self, closure=None):
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == 3:
            raise RuntimeError("deliberate failure at the third step")
        return super().step(closure)


def raises_at_step_3(params):
    return _RaisesAtStep3(params)


def nan_without_eps(params):
    """eps = 0: the first step divides 0 by 0 when g_1 = 0 (NaN), else runs fine."""
    return torch.optim.Adam(params, lr=1e-3, eps=0.0, amsgrad=True)


def not_an_optimizer(params):
    return object()


def factory_raises(params):
    raise ValueError("this factory cannot build an optimizer")


NOT_CALLABLE = 42
