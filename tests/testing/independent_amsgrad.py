"""AMSGrad as Reddi et al. (ICLR 2018) write it, Algorithm 2 with α_t = α/√t inside the
optimizer, implemented independently of the toolkit in three operation orders.

Each is correct; they differ from the toolkit's model, and from each other, only in rounding.
The test kit's default tolerance must accept all three.
"""

from __future__ import annotations

import math

import torch


class PaperAMSGrad(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, form=0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})
        self.form = form

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    state["t"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                    state["vhat"] = torch.zeros_like(p)
                state["t"] += 1
                t, g = state["t"], p.grad
                if self.form == 0:          # in place, addcdiv
                    state["m"].mul_(b1).add_(g, alpha=1 - b1)
                    state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                    torch.maximum(state["vhat"], state["v"], out=state["vhat"])
                    p.addcdiv_(state["m"], state["vhat"].sqrt().add_(group["eps"]),
                               value=-group["lr"] / math.sqrt(t))
                elif self.form == 1:        # new tensors, the quotient written out
                    state["m"] = b1 * state["m"] + (1 - b1) * g
                    state["v"] = b2 * state["v"] + (1 - b2) * g * g
                    state["vhat"] = torch.max(state["vhat"], state["v"])
                    p.sub_(group["lr"] * t ** -0.5 * state["m"]
                           / (torch.sqrt(state["vhat"]) + group["eps"]))
                else:                       # lerp, the step factor first
                    state["m"].lerp_(g, 1 - b1)
                    state["v"].lerp_(g * g, 1 - b2)
                    state["vhat"] = torch.maximum(state["vhat"], state["v"])
                    factor = (group["lr"] / math.sqrt(t)) / (state["vhat"].sqrt() + group["eps"])
                    p.sub_(factor * state["m"])


def in_place(params):
    return PaperAMSGrad(params, form=0)


def written_out(params):
    return PaperAMSGrad(params, form=1)


def lerped(params):
    return PaperAMSGrad(params, form=2)
