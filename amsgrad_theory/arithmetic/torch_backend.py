"""torch tensors on any device and dtype: the batched vector engine.

Arrays have shape ``(B, d)``: B independent instances (each with its own hyperparameters and
problem parameters, held as ``(B, 1)`` tensors) and d coordinates. Schedules are computed in
float64 on the same device and rounded to the lane dtype, as in the float arithmetics.

Eager ``torch.sqrt`` on the CPU is not correctly rounded (it differs from IEEE sqrt on about 1 % of
inputs by one ulp), so torch runs agree with numpy float64 to a few ulps, not bit for bit.
"""

from __future__ import annotations

from .base import Arithmetic, Namespace
from .floats import FloatArithmetic, parse_float

_DTYPES = ("float64", "float32", "float16", "bfloat16")


def torch_namespace(torch, dtype, device) -> Namespace:
    def cast(a):
        return torch.as_tensor(a, dtype=dtype, device=device)

    def tensor(a):
        if isinstance(a, torch.Tensor):
            return a
        if isinstance(a, (bool, int)):
            return torch.as_tensor(a, dtype=torch.int64, device=device)
        return cast(a)

    def where(c, a, b):
        return torch.where(c, tensor(a), tensor(b))

    def rise_ratio(c, a, b):
        return torch.where(c, torch.where(c, a, cast(1.0)) / torch.where(c, b, cast(1.0))
                           - cast(1.0), cast(0.0))

    def maximum(a, b):
        return torch.maximum(cast(a), cast(b))

    def minimum(a, b):
        return torch.minimum(cast(a), cast(b))

    def fma(a, b, c):
        # ATen's CPU addcmul kernel rounds once (it is a fused multiply-add on FMA hardware)
        return torch.addcmul(cast(c), cast(a), cast(b))

    return Namespace(
        name=f"torch-{dtype}", sqrt=torch.sqrt, exp=torch.exp, log1p=torch.log1p, log=torch.log,
        abs=torch.abs, fma=fma, maximum=maximum, minimum=minimum, where=where,
        rise_ratio=rise_ratio,
        gt=torch.gt, ge=torch.ge, lt=torch.lt, le=torch.le, both=torch.logical_and,
        isfinite=torch.isfinite, certain=lambda c: c.to(torch.int64),
        unknown=lambda c: torch.zeros_like(c, dtype=torch.int64),
        cast=cast, zero=cast(0.0), one=cast(1.0), inf=cast(float("inf")),
        uint=lambda n: torch.as_tensor(n, dtype=torch.int64, device=device),
        ifloat=lambda n: torch.as_tensor(n, device=device).to(torch.float64),
        rowsum=lambda a: a.sum(dim=-1, keepdim=True),
    )


class TorchArithmetic(Arithmetic):
    engine = "vector"

    def __init__(self, device: str = "cpu", dtype_name: str = "float64"):
        import torch

        if dtype_name not in _DTYPES:
            raise ValueError(f"torch dtype must be one of {', '.join(_DTYPES)}")
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"not a torch device: {exc}") from None
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise ValueError("CUDA is not available on this machine")
            index = dev.index or 0
            if index >= torch.cuda.device_count():
                raise ValueError(f"there are {torch.cuda.device_count()} CUDA devices")
        elif dev.type == "mps":
            if not torch.backends.mps.is_available():
                raise ValueError("MPS is not available on this machine")
        elif dev.type != "cpu":
            raise ValueError(f"unsupported torch device type {dev.type!r}")
        self.torch = torch
        self.device = dev
        self.dtype = getattr(torch, dtype_name)
        self.dtype_name = dtype_name
        self.spec = f"torch:{device}:{dtype_name}"
        self.xp = torch_namespace(torch, self.dtype, dev)
        self.sp = torch_namespace(torch, torch.float64 if dev.type != "mps" else torch.float32,
                                  dev)
        self.lane_dtype = None
        self.scalar_dtype = None

    def scalar(self, value):
        if isinstance(value, str):
            return parse_float(value)
        return float(value)

    def lane(self, value):
        return self.xp.cast(self.scalar(value))

    def to_float(self, value) -> float:
        return float(value)

    def eager(self):
        return FloatArithmetic("float64", "python")
