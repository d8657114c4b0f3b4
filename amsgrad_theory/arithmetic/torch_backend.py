"""torch tensors on any device and dtype: the batched vector engine.

Arrays have shape ``(B, d)``: B independent instances (each with its own hyperparameters and
problem parameters, held as ``(B, 1)`` tensors) and d coordinates. Schedules are computed in
float64 on the same device and rounded to the lane dtype, as in the float arithmetics.

Eager ``torch.sqrt`` on the CPU is not correctly rounded (it differs from IEEE sqrt by one ulp on
some inputs), so torch runs agree with numpy float64 to a few ulps, not bit for bit.

The torch arrays of the vector engine — on the arithmetic's device, counters in int64, the
counter-based hash in int64 (its wrap-around leaves the low 32 bits right) — are allocated here
(:class:`TorchArrays`), so the engine never asks which library it drives.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import libm
from .base import Arithmetic, ArrayKit, Namespace
from .floats import FloatArithmetic, parse_float

_DTYPES = ("float64", "float32", "float16", "bfloat16")


def torch_namespace(torch, dtype, device, c_math: bool = False) -> Namespace:
    """The elementwise operations on torch tensors of ``dtype`` on ``device``.

    ``c_math``: √ and ``pow`` computed as C computes them on doubles (correctly rounded √, C's
    ``pow``), as the frameworks compute their Python-double scalars. torch's CPU kernels do
    not (its √ is MKL's, and ``x ** 0.5`` runs it): on the CPU those two run on the tensors'
    own memory through numpy's √ and :mod:`.libm`'s ``pow`` (numpy's own ``np.power`` is not
    C's on CPUs with AVX-512); on other devices they are the device's (CUDA's √ is correctly
    rounded)."""
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

    def c_sqrt(a):
        return torch.from_numpy(np.asarray(np.sqrt(cast(a).detach().numpy())))

    def power(a, b):
        if c_math and device.type == "cpu":
            a, b = cast(a).detach().numpy(), cast(b).detach().numpy()
            return torch.from_numpy(np.asarray(libm.power(a, b)))
        return torch.pow(a, b)

    return Namespace(
        name=f"torch-{dtype}", sqrt=c_sqrt if c_math and device.type == "cpu" else torch.sqrt,
        exp=torch.exp, log1p=torch.log1p, log=torch.log,
        abs=torch.abs, fma=fma, maximum=maximum, minimum=minimum, where=where,
        rise_ratio=rise_ratio,
        gt=torch.gt, ge=torch.ge, lt=torch.lt, le=torch.le, both=torch.logical_and,
        isfinite=torch.isfinite, certain=lambda c: c.to(torch.int64),
        unknown=lambda c: torch.zeros_like(c, dtype=torch.int64),
        cast=cast, zero=cast(0.0), one=cast(1.0), inf=cast(float("inf")),
        uint=lambda n: torch.as_tensor(n, dtype=torch.int64, device=device),
        ifloat=lambda n: torch.as_tensor(n, device=device).to(torch.float64),
        rowsum=lambda a: a.sum(dim=-1, keepdim=True),
        rowmax=lambda a: a.amax(dim=-1),
        pow=power, unit_roundoff=float(torch.finfo(dtype).eps) / 2,
        smallest_normal=float(torch.finfo(dtype).tiny),
    )


class TorchArrays(ArrayKit):
    """The vector engine's arrays as torch tensors on one device."""

    def __init__(self, torch, device, lane_dtype, scalar_dtype):
        self.torch = torch
        self.device = device
        self.dtypes = {"lane": lane_dtype, "scalar": scalar_dtype, "int": torch.int64,
                       "hash": torch.int64}

    def zeros(self, shape, kind="lane"):
        return self.torch.zeros(shape, dtype=self.dtypes[kind], device=self.device)

    def asarray(self, values, kind="scalar"):
        values = np.asarray(values)
        if kind in ("int", "hash"):
            values = values.astype(np.int64)
        return self.torch.tensor(values, dtype=self.dtypes[kind], device=self.device)

    def to_numpy(self, array):
        array = array.detach().cpu()
        if array.dtype in (self.torch.bfloat16, self.torch.float16):
            array = array.to(self.torch.float64)    # numpy has no bfloat16; both widen exactly
        return array.numpy()


class TorchArithmetic(Arithmetic):
    kind = "torch"
    engines = ("vector",)

    def __init__(self, device: str = "cpu", dtype_name: str = "float64"):
        import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

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
        scalar_dtype = torch.float64 if dev.type != "mps" else torch.float32
        self.sp = torch_namespace(torch, scalar_dtype, dev)
        # the schedule's Python-double arithmetic: √ and pow as C computes them
        self.schedule_namespace = torch_namespace(torch, scalar_dtype, dev, c_math=True)
        self.lane_dtype = None
        self.scalar_dtype = None
        self._arrays = TorchArrays(torch, dev, self.dtype, scalar_dtype)

    @contextlib.contextmanager
    def flush_subnormals(self):
        """torch's own switch (``torch.set_flush_denormal``), which sets the flags of its CPU
        threads; restored after the block."""
        done = bool(self.torch.set_flush_denormal(True))
        try:
            yield done
        finally:
            if done:
                self.torch.set_flush_denormal(False)

    def coefficient_namespace(self, engine, kind):
        if kind == "float32":
            return torch_namespace(self.torch, self.torch.float32, self.device)
        if kind == "scalar":
            return self.schedule_namespace
        return super().coefficient_namespace(engine, kind)

    @property
    def arrays(self):
        return self._arrays

    def lane_tiny(self) -> float:
        return self.xp.smallest_normal

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
