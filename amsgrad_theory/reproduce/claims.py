"""The seed article's claims about "Adam with AMSGrad", each confirmed, refuted or out of reach.

The article (an unsigned online tutorial, "Adam with AMSGrad", whose address was not recorded
[seed-article]; each claim is quoted below) makes checkable statements; each becomes
one or more records (replayable: ``amsgrad-theory verify --sidecar``) and one row of
``claims.md``/``claims.csv`` with a verdict:

1. *Sparse vs dense.* "AMSGrad can converge faster on sparse-gradient problems, but may lag on
   dense-gradient tasks." Measured: R_T/T of ``amsgrad-pytorch`` over ``adam-pytorch``
   (torch's update rule, lr constant) on ``random-quadratic`` and ``random-linear`` (d = 20,
   a fraction ``sparsity`` of the coordinates has a non-zero gradient each step), several seeds,
   β2 ∈ {0.99, 0.999}; ratio < 1 means AMSGrad ahead.
2. *β2.* "It may be sensitive to the choice of β2, especially when training for very many
   steps" (and the paper's "AMSGrad is relatively more robust to parameter changes"): the
   relative change of R_t/t between β2 = 0.99 and 0.999, at T/10 and at T, for both.
3. *Small batches.* "A smaller β2 (e.g. 0.9) often stabilizes training" with small batches:
   stochastic least squares with minibatch size b on the real ``torch.optim.Adam(amsgrad=True)``;
   late excess risk ½‖w − w*‖² and its fluctuation, β2 ∈ {0.9, 0.99, 0.999}.
4. *Memory.* "It adds only a single extra tensor per parameter ... negligible": the real torch
   optimizer state, counted per parameter and in bytes.
5. *Effective learning rate.* "The max operation ensures v̂ never decreases, guaranteeing a
   non-increasing effective learning-rate schedule": the invariants of every variant that keeps
   a max (the toolkit's ``vhat_nondecreasing``, ``corrected_step_nonincreasing``,
   ``effective_step_nonincreasing``) on the gradients (1, 0.05, 0.05, …) and (1, 0, 0, …).
6. *Mixed precision.* "Both PyTorch and TensorFlow support amsgrad=True with float16 or bfloat16,
   provided you scale the loss": the real ``torch.optim.Adam(amsgrad=True)`` on float16 and
   bfloat16 parameters, and the toolkit's invariants in ``torch:cpu:float16``/``bfloat16``.
7. *ImageNet.* "ResNet-50 on ImageNet: amsgrad=True typically yields a 1–2 % top-1 improvement
   after 90 epochs": out of reach here (no ImageNet, no GPU budget for 90 epochs); no proxy is
   run, because no small problem would say anything about that claim.

Record verdicts are "pass" when the measured statement holds, "fail" when it does not: a
refuted claim is a finding, and the study is an audit (its status is "audited", never "not
reproduced").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..engine import RunSpec, run_specs
from ..plots import (
    COLORS,
    FigureStyle,
    Table,
    annotates,
    decorate,
    footer,
    new_figure,
    note,
    plain_log_ticks,
    shared_legend,
    title,
)
from ..records import Record
from ..verify.checks import register
from ..verify.run_checks import checkpoint_series, growth
from .base import Context, Study, checked, traced

SEED_ARTICLE = "the tutorial article 'Adam with AMSGrad' this project started from [seed-article]"
SOURCE = f"{SEED_ARTICLE}; Reddi, Kale & Kumar, ICLR 2018, Section 5 [reddi2018]"
MAX_VARIANTS = ("amsgrad", "amsgrad-optax", "amsgrad-optax-raw-nu", "amsgrad-seed", "adamx",
                "amsgrad-pytorch", "amsgrad-adamw-pytorch", "amsgrad-keras")


@dataclass(frozen=True)
class ClaimsParameters:
    """Parameters of the claims audit (defaults: the ``small`` size)."""

    families: tuple[str, ...] = ("random-quadratic", "random-linear")
    d: int = 20
    sparsities: tuple[str, ...] = ("0.02", "0.05", "0.1", "0.2", "0.5", "1")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    beta2s: tuple[str, ...] = ("0.99", "0.999")
    lr: str = "0.01"
    steps: int = 10_000
    #: "sparse" means sparsity ≤ this; "dense" means sparsity = 1
    sparse_max: float = 0.1
    batch_sizes: tuple[int, ...] = (1, 4, 16, 64)
    batch_beta2s: tuple[str, ...] = ("0.9", "0.99", "0.999")
    batch_steps: int = 2000
    batch_seeds: int = 8
    batch_lr: float = 0.01
    invariant_steps: int = 3000
    precision_steps: int = 300


SIZES = {
    "tiny": {"families": ("random-quadratic",), "d": 4, "sparsities": ("0.1", "1"),
             "seeds": (0,), "steps": 2000, "batch_sizes": (1, 16), "batch_steps": 200,
             "batch_seeds": 2, "invariant_steps": 100, "precision_steps": 50},
    "small": {},
    "paper": {"seeds": tuple(range(20)), "steps": 100_000, "d": 50,
              "batch_sizes": (1, 2, 4, 8, 16, 32, 64, 128), "batch_steps": 10_000,
              "batch_seeds": 32},
}


# ------------------------------------------------------------------------------------------
# 1–2: sparse vs dense, β2 sensitivity (the toolkit's simulate, batched)
# ------------------------------------------------------------------------------------------

def sweep_specs(family: str, d: int, sparsities, seeds, beta2s, lr: str, steps: int,
                algorithm: str) -> list[tuple[tuple, RunSpec]]:
    out = []
    for s in sparsities:
        for k in seeds:
            for b2 in beta2s:
                out.append(((s, k, b2), RunSpec(
                    algorithm=algorithm, problem=f"{family}:d={d},sparsity={s},seed={k}",
                    steps=steps, hyperparameters={"alpha": lr, "beta2": b2})))
    return out


def sweep(family: str, d: int, sparsities, seeds, beta2s, lr: str, steps: int,
          bar=None) -> dict:
    """{(algorithm, sparsity, seed, β2): {"T": R_T/T, "T/10": R_{T/10}/(T/10)}}."""
    out = {}
    for alg in ("adam-pytorch", "amsgrad-pytorch"):
        pairs = sweep_specs(family, d, sparsities, seeds, beta2s, lr, steps, alg)
        views = run_specs([s for _, s in pairs], bar=bar)
        for (key, _), view in zip(pairs, views):
            ts, avg = checkpoint_series(view, "average_regret")
            k10 = max(k for k, t in enumerate(ts) if t <= steps / 10)
            out[(alg, *key)] = {"T": avg[-1], "T/10": avg[k10]}
    return out


def ratios(data: dict, sparsity: str, seeds, beta2: str, when: str = "T") -> list[float]:
    """R(AMSGrad)/R(Adam) per seed."""
    return [data[("amsgrad-pytorch", sparsity, k, beta2)][when] /
            data[("adam-pytorch", sparsity, k, beta2)][when] for k in seeds]


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def sparse_dense_record(spec: RunSpec, family: str, d: int, sparsities: list, seeds: list,
                        beta2s: list, lr: str, sparse_max: float, which: str,
                        _result=None) -> Record:
    """``which`` = "sparse": AMSGrad's R_T/T < Adam's on every seed, every β2 and every sparsity
    ≤ sparse_max; "dense": AMSGrad's R_T/T > Adam's on every seed and β2 at sparsity 1."""
    data = _result if _result is not None else sweep(family, d, sparsities, seeds, beta2s, lr,
                                                     spec.steps)
    cells = [s for s in sparsities if (float(s) <= sparse_max if which == "sparse"
                                       else float(s) == 1.0)]
    table = {f"{s}/{b2}": ratios(data, s, seeds, b2) for s in cells for b2 in beta2s}
    flat = [r for rs in table.values() for r in rs]
    holds = all(r < 1 for r in flat) if which == "sparse" else all(r > 1 for r in flat)
    claim = ("AMSGrad converges faster than Adam on sparse-gradient problems" if which ==
             "sparse" else "AMSGrad lags behind Adam on dense-gradient problems")
    return Record(
        name=f"claim_{which}", method="float", verdict="pass" if holds else "fail",
        claim=f"seed article: {claim} — measured on {family} (d = {d}, {len(seeds)} seeds, "
              f"β2 ∈ {{{', '.join(beta2s)}}}, T = {spec.steps}): R_T(AMSGrad)/R_T(Adam) "
              f"{'< 1' if which == 'sparse' else '> 1'} in every case with sparsity "
              f"{'≤ ' + str(sparse_max) if which == 'sparse' else '= 1'}",
        details={"ratios": table, "geometric_mean_ratio": _geomean(flat),
                 "min_ratio": min(flat), "max_ratio": max(flat), "cases": len(flat),
                 "algorithms": ["amsgrad-pytorch", "adam-pytorch"], "lr": lr},
        source=SEED_ARTICLE)


def beta2_record(spec: RunSpec, family: str, d: int, sparsities: list, seeds: list,
                 beta2s: list, lr: str, _result=None) -> Record:
    """AMSGrad's sensitivity to β2 grows with the number of steps and exceeds Adam's.

    Sensitivity at horizon H: the geometric mean over seeds and sparsities of
    |R_H(β2 = b) / R_H(β2 = a) − 1|, (a, b) = (beta2s[0], beta2s[-1]).
    """
    data = _result if _result is not None else sweep(family, d, sparsities, seeds, beta2s, lr,
                                                     spec.steps)
    a, b = beta2s[0], beta2s[-1]

    def sens(alg, when):
        vals = [abs(data[(alg, s, k, b)][when] / data[(alg, s, k, a)][when] - 1) + 1e-12
                for s in sparsities for k in seeds]
        return _geomean(vals)

    out = {alg: {when: sens(alg, when) for when in ("T/10", "T")}
           for alg in ("adam-pytorch", "amsgrad-pytorch")}
    ams, adam = out["amsgrad-pytorch"], out["adam-pytorch"]
    holds = ams["T"] > ams["T/10"] and ams["T"] > adam["T"]
    return Record(
        name="claim_beta2", method="float", verdict="pass" if holds else "fail",
        claim=f"seed article: AMSGrad is sensitive to β2, especially for many steps — measured "
              f"on {family}: the relative change of R_t/t between β2 = {a} and {b} grows from "
              f"t = T/10 to T = {spec.steps} and exceeds Adam's",
        details={"sensitivity": out, "beta2": [a, b], "cases": len(sparsities) * len(seeds)},
        source=SEED_ARTICLE + "; Reddi et al. §5 say the opposite ('relatively more robust')")


# ------------------------------------------------------------------------------------------
# 3: small batches and β2 (real torch optimizer)
# ------------------------------------------------------------------------------------------

def small_batch_runs(batch_sizes, beta2s, steps: int, seeds: int, lr: float, d: int = 20,
                     noise: float = 1.0, bar=None) -> dict:
    """Stochastic least squares, y = ⟨x, w*⟩ + noise·ξ, x ~ N(0, I_d), minibatches of size b.

    ``torch.optim.Adam(amsgrad=True, betas=(0.9, β2))`` on a parameter of shape (seeds, d): each
    row is an independent run (Adam is coordinatewise). Returns, per (b, β2), the excess risk
    ½‖w_t − w*‖² per step (mean over seeds) and, over the last 20 % of the steps, its mean and
    its fluctuation (the mean over seeds of the standard deviation over steps).
    """
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    # tiny tensors: one thread (after numba's kernels ran, torch's intra-op threads contend with
    # numba's thread pool on a 2-core machine and each einsum becomes ~10× slower)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _small_batch(torch, batch_sizes, beta2s, steps, seeds, lr, d, noise, bar)
    finally:
        torch.set_num_threads(threads)


def _small_batch(torch, batch_sizes, beta2s, steps, seeds, lr, d, noise, bar) -> dict:
    out = {}
    for b in batch_sizes:
        for b2 in beta2s:
            gen = torch.Generator().manual_seed(1234 + b)
            w_star = torch.randn(seeds, d, generator=gen, dtype=torch.float64)
            w = torch.nn.Parameter(torch.zeros(seeds, d, dtype=torch.float64))
            opt = torch.optim.Adam([w], lr=lr, betas=(0.9, float(b2)), amsgrad=True,
                                   foreach=False)
            risk = torch.empty(steps, seeds, dtype=torch.float64)
            for t in range(steps):
                X = torch.randn(seeds, b, d, generator=gen, dtype=torch.float64)
                y = torch.einsum("sbd,sd->sb", X, w_star) + noise * torch.randn(
                    seeds, b, generator=gen, dtype=torch.float64)
                with torch.no_grad():
                    r = torch.einsum("sbd,sd->sb", X, w) - y
                    w.grad = torch.einsum("sbd,sb->sd", X, r) / b
                opt.step()
                with torch.no_grad():
                    risk[t] = 0.5 * ((w - w_star) ** 2).sum(dim=1)
            tail = risk[int(0.8 * steps):]
            if bar is not None:
                bar.update(steps)
            out[(b, b2)] = {"curve": risk.mean(dim=1).tolist(),
                            "late_mean": float(tail.mean()),
                            "late_fluctuation": float(tail.std(dim=0).mean())}
    return out


def small_batch_record(spec: RunSpec, batch_sizes: list, beta2s: list, steps: int, seeds: int,
                       lr: float, _result=None) -> Record:
    """At the smallest batch, β2 = min(beta2s) gives a lower late excess risk *and* a smaller
    fluctuation than β2 = max(beta2s)."""
    data = _result if _result is not None else small_batch_runs(batch_sizes, beta2s, steps,
                                                                seeds, lr)
    b = min(batch_sizes)
    lo, hi = beta2s[0], beta2s[-1]
    small, big = data[(b, lo)], data[(b, hi)]
    holds = small["late_mean"] < big["late_mean"] and \
        small["late_fluctuation"] < big["late_fluctuation"]
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    return Record(
        name="claim_small_batch", method="float", verdict="pass" if holds else "fail",
        claim=f"seed article: with very small batches a smaller β2 (e.g. {lo}) stabilises "
              f"training — measured with torch.optim.Adam(amsgrad=True) on stochastic least "
              f"squares, batch {b}: β2 = {lo} gives a lower late excess risk and a smaller "
              f"fluctuation than β2 = {hi}",
        details={"batch": b, "per_beta2": {k2: {"late_mean": data[(b, k2)]["late_mean"],
                                                "late_fluctuation":
                                                    data[(b, k2)]["late_fluctuation"]}
                                           for k2 in beta2s},
                 "all": {f"b={bb}, beta2={k2}": {"late_mean": v["late_mean"],
                                                  "late_fluctuation": v["late_fluctuation"]}
                         for (bb, k2), v in data.items()},
                 "cases": seeds, "torch": torch.__version__},
        source=SEED_ARTICLE)


# ------------------------------------------------------------------------------------------
# 4: optimizer state size (real torch)
# ------------------------------------------------------------------------------------------

def state_size(shapes, dtype: str = "float32") -> dict:
    """Tensors and bytes of torch's Adam/AdamW state with and without amsgrad, after one step."""
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    out: dict[str, Any] = {}
    for cls in ("Adam", "AdamW"):
        for ams in (False, True):
            params = [torch.nn.Parameter(torch.zeros(s, dtype=getattr(torch, dtype)))
                      for s in shapes]
            opt = getattr(torch.optim, cls)(params, amsgrad=ams)
            for p in params:
                p.grad = torch.ones_like(p)
            opt.step()
            keys = sorted(opt.state[params[0]].keys())
            big = sum(1 for p in params for v in opt.state[p].values()
                      if torch.is_tensor(v) and v.numel() == p.numel() and v.dim() > 0)
            nbytes = sum(v.numel() * v.element_size() for p in params
                         for v in opt.state[p].values() if torch.is_tensor(v))
            out[f"{cls}(amsgrad={ams})"] = {"state_keys": keys, "param_sized_tensors": big,
                                            "state_bytes": nbytes}
    pbytes = sum(math.prod(s) for s in shapes) * (4 if dtype == "float32" else 8)
    out["parameters"] = len(shapes)
    out["parameter_bytes"] = pbytes
    return out


def state_record(spec: RunSpec, shapes: list, dtype: str = "float32", _result=None) -> Record:
    """AMSGrad adds exactly one parameter-sized tensor per parameter (``max_exp_avg_sq``)."""
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    data = _result if _result is not None else state_size([tuple(s) for s in shapes], dtype)
    n = data["parameters"]
    ok = True
    extra = {}
    for cls in ("Adam", "AdamW"):
        a, b = data[f"{cls}(amsgrad=False)"], data[f"{cls}(amsgrad=True)"]
        extra[cls] = {"extra_tensors": b["param_sized_tensors"] - a["param_sized_tensors"],
                      "extra_bytes": b["state_bytes"] - a["state_bytes"],
                      "new_keys": sorted(set(b["state_keys"]) - set(a["state_keys"])),
                      "state_growth": b["state_bytes"] / a["state_bytes"]}
        ok = ok and extra[cls]["extra_tensors"] == n and \
            extra[cls]["extra_bytes"] == data["parameter_bytes"]
    return Record(
        name="claim_state_size", method="float", verdict="pass" if ok else "fail",
        claim=f"seed article: AMSGrad adds a single extra tensor per parameter — measured on "
              f"torch {torch.__version__} Adam/AdamW ({n} parameters, {dtype}): exactly one "
              "parameter-sized tensor (max_exp_avg_sq) per parameter, +1× the parameter bytes",
        details={"extra": extra, **data}, source=SEED_ARTICLE)


# ------------------------------------------------------------------------------------------
# 6: float16 / bfloat16 on the real torch optimizer
# ------------------------------------------------------------------------------------------

def low_precision_probe(dtype: str, steps: int) -> dict:
    """torch.optim.Adam(amsgrad=True) on ``dtype`` parameters, three coordinates at once.

    g = (0, 1e-4, spike-then-small) for ``steps`` steps. Reports the first step at which a
    parameter became non-finite (per coordinate), whether max_exp_avg_sq ever decreased, and for
    the spike-then-small coordinate how far exp_avg_sq moved from its first value compared with
    the float64 run (a β2 = 0.999 EMA update smaller than half an ulp rounds away).
    """
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    dt = getattr(torch, dtype)
    res = {}
    for run_dtype in (dt, torch.float64):
        p = torch.nn.Parameter(torch.zeros(3, dtype=run_dtype))
        opt = torch.optim.Adam([p], lr=1e-3, amsgrad=True, foreach=False)
        first_bad: list[int | None] = [None, None, None]     # first non-finite step
        vmax_prev = None
        vmax_decreased = False
        v_series = []
        for t in range(steps):
            g = [0.0, 1e-4, 1.0 if t == 0 else 0.05]
            p.grad = torch.tensor(g, dtype=run_dtype)
            opt.step()
            x = p.detach().double().tolist()
            for i in range(3):
                if first_bad[i] is None and not math.isfinite(x[i]):
                    first_bad[i] = t + 1
            vm = opt.state[p]["max_exp_avg_sq"].double()
            if vmax_prev is not None and bool((vm < vmax_prev).any()):
                vmax_decreased = True
            vmax_prev = vm.clone()
            v_series.append(float(opt.state[p]["exp_avg_sq"][2]))
        res[str(run_dtype).replace("torch.", "")] = {
            "first_nonfinite_step": {"g=0": first_bad[0], "g=1e-4": first_bad[1],
                                     "spike-then-0.05": first_bad[2]},
            "max_exp_avg_sq_decreased": vmax_decreased,
            "exp_avg_sq_relative_change": v_series[-1] / v_series[0] - 1,
            "exp_avg_sq_series": v_series}
    return res


def low_precision_record(spec: RunSpec, dtype: str, steps: int, _result=None) -> Record:
    """torch.optim.Adam(amsgrad=True) in ``dtype`` keeps every parameter finite and its second
    moment within 10 % (relative) of the float64 run's movement."""
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    data = _result if _result is not None else low_precision_probe(dtype, steps)
    low, ref = data[dtype], data["float64"]
    finite = all(v is None for v in low["first_nonfinite_step"].values())
    moved, moved_ref = low["exp_avg_sq_relative_change"], ref["exp_avg_sq_relative_change"]
    tracks = abs(moved - moved_ref) <= 0.1 * abs(moved_ref)
    slim = {k: {kk: vv for kk, vv in v.items() if kk != "exp_avg_sq_series"}
            for k, v in data.items()}
    return Record(
        name="claim_low_precision", method="float",
        verdict="pass" if finite and tracks else "fail",
        claim=f"seed article: amsgrad=True works with {dtype} — measured on torch "
              f"{torch.__version__}, {dtype} parameters, gradients (0, 1e-4, 1 then 0.05), "
              f"{steps} steps: every parameter stays finite and the second moment moves as in "
              "float64 (within 10 %)",
        details={**slim, "finite": finite, "second_moment_tracks_float64": tracks},
        source=SEED_ARTICLE)


# ------------------------------------------------------------------------------------------
# 7: out of reach
# ------------------------------------------------------------------------------------------

def out_of_reach_record(spec: RunSpec, claim: str, reason: str) -> Record:
    return Record(name="claim_out_of_reach", method="float", verdict="undecided",
                  claim=f"seed article: {claim}", details={"reason": reason},
                  source=SEED_ARTICLE)


# ------------------------------------------------------------------------------------------
# the study
# ------------------------------------------------------------------------------------------

def _nominal(p: ClaimsParameters, family: str | None = None, steps: int | None = None) -> RunSpec:
    family = family or p.families[0]
    return RunSpec(algorithm="amsgrad-pytorch",
                   problem=f"{family}:d={p.d},sparsity={p.sparsities[0]},seed={p.seeds[0]}",
                   steps=steps or p.steps, hyperparameters={"alpha": p.lr})


SHAPES = ([256, 128], [128], [10, 256], [10])


def run(p: ClaimsParameters, ctx: Context) -> dict:
    rows: list[dict] = []
    work = 2 * len(p.families) * len(p.sparsities) * len(p.seeds) * len(p.beta2s) * p.steps
    with ctx.bar(work, "sparse/dense sweep", unit="step") as bar:
        sweeps = {fam: sweep(fam, p.d, p.sparsities, p.seeds, p.beta2s, p.lr, p.steps, bar)
                  for fam in p.families}
    conv_records: list[Record] = []
    args = {"d": p.d, "sparsities": list(p.sparsities), "seeds": list(p.seeds),
            "beta2s": list(p.beta2s), "lr": p.lr}
    for fam, data in sweeps.items():
        for which in ("sparse", "dense"):
            conv_records.append(checked("claim_sparse_dense", _nominal(p, fam), data,
                                        family=fam, sparse_max=p.sparse_max, which=which,
                                        **args))
        conv_records.append(checked("claim_beta2", _nominal(p, fam), data, family=fam, **args))
    with ctx.bar(len(p.batch_sizes) * len(p.batch_beta2s) * p.batch_steps,
                 "small-batch runs (torch.optim.Adam)") as bar:
        batch = small_batch_runs(p.batch_sizes, p.batch_beta2s, p.batch_steps, p.batch_seeds,
                                 p.batch_lr, bar=bar)
    conv_records.append(checked("claim_small_batch", _nominal(p), batch,
                                batch_sizes=list(p.batch_sizes), beta2s=list(p.batch_beta2s),
                                steps=p.batch_steps, seeds=p.batch_seeds, lr=p.batch_lr))
    fig, table = convergence_figure(p, sweeps, batch, ctx.style)
    ctx.save_figure(fig, "claims-convergence", table=table, records=conv_records,
                    title="Seed-article claims on convergence: sparse vs dense, β2, small batches",
                    parameters={k: getattr(p, k) for k in p.__dataclass_fields__},
                    seeds={"problem_seeds": list(p.seeds), "torch_generator": "1234 + b"},
                    caption="AMSGrad/Adam regret ratios against sparsity, β2 sensitivity, and "
                            "the small-batch experiment.")
    # ---- implementation claims
    impl_records: list[Record] = []
    state = state_size([tuple(s) for s in SHAPES])
    impl_records.append(checked("claim_state_size", _nominal(p), state,
                                shapes=[list(s) for s in SHAPES]))
    inv_rows = []
    with ctx.bar(2 * len(MAX_VARIANTS), "invariants per variant", unit="run") as bar:
        for seq_label, problem in (("(1, 0.05, …)", "gradient-sequence:g=[1],tail=0.05,set=none"),
                                   ("(1, 0, …)", "gradient-sequence:g=[1],tail=0,set=none")):
            for variant in MAX_VARIANTS:
                spec = RunSpec(algorithm=variant, problem=problem, steps=p.invariant_steps,
                               hyperparameters={"alpha": "0.001"} if variant in
                               ("amsgrad", "adamx") else {})
                view = run_specs([spec], trace=True)[0]
                row: dict[str, Any] = {"sequence": seq_label, "variant": variant}
                for name in ("vhat_nondecreasing", "corrected_step_nonincreasing",
                             "effective_step_nonincreasing"):
                    rec = checked(name, spec, view, claim=f"{variant} on g = {seq_label}: "
                                                          f"{checked(name, spec, view).claim}")
                    impl_records.append(rec)
                    row[name] = rec.verdict
                row["eta_hat_max_increase"] = view.instances[0].corrected_step.max_increase
                row["eta_hat_growth"] = growth(traced(view)["eta_hat"][:, 0, 0])["growth"]
                inv_rows.append(row)
                bar.update(1)
    precision = {}
    for dtype in ("float16", "bfloat16"):
        precision[dtype] = low_precision_probe(dtype, p.precision_steps)
        impl_records.append(checked("claim_low_precision", _nominal(p), precision[dtype],
                                    dtype=dtype, steps=p.precision_steps))
        # the toolkit's own update rule in this dtype; bfloat16 results cannot be collected yet
        # (simulate's torch state calls .numpy() on bfloat16 tensors: core bug, reported)
        for variant in (("amsgrad", "amsgrad-pytorch") if dtype == "float16" else ()):
            spec = RunSpec(algorithm=variant, problem="gradient-sequence:g=[1],tail=0.05,set=none",
                           steps=p.precision_steps, arithmetic=f"torch:cpu:{dtype}",
                           hyperparameters={"alpha": "0.001"})
            view = run_specs([spec])[0]
            for name in ("vhat_nondecreasing", "corrected_step_nonincreasing"):
                rec = checked(name, spec, view,
                              claim=f"{variant} in torch:cpu:{dtype} (the toolkit's update "
                                    f"rule): {checked(name, spec, view).claim}")
                impl_records.append(rec)
    impl_records.append(checked(
        "claim_out_of_reach", _nominal(p), None,
        claim="enabling amsgrad=True typically gives +1–2 % top-1 for ResNet-50 on ImageNet "
              "after 90 epochs",
        reason="not testable here: no ImageNet data, no network access and no GPU budget for "
               "90 epochs of ResNet-50 (~10^18 FLOPs); the article cites no source. No proxy "
               "was run: a small problem says nothing about that claim."))
    fig, table = implementation_figure(p, state, inv_rows, precision, ctx.style)
    ctx.save_figure(fig, "claims-implementation", table=table, records=impl_records,
                    title="Seed-article claims on the implementation: memory, effective "
                          "learning rate, float16/bfloat16, ImageNet",
                    parameters={k: getattr(p, k) for k in p.__dataclass_fields__},
                    caption="Optimizer state size, which variants keep a non-increasing "
                            "effective step, and the real torch optimizer in float16/bfloat16.")
    rows = verdict_table(p, conv_records, impl_records, sweeps, batch, state, inv_rows,
                         precision)
    ctable = Table(["claim", "quote", "verdict", "evidence", "records"])
    for r in rows:
        ctable.add(r["claim"], r["quote"], r["verdict"], r["evidence"], r["records"])
    ctx.write_csv("claims.csv", ctable)
    ctx.write_text("claims.md", markdown(rows))
    return {"status": "audited", "results": rows, "source": SOURCE,
            "notes": ["the toolkit's torch:cpu:bfloat16 arithmetic runs but its results cannot "
                      "be collected (simulate calls .numpy() on bfloat16 tensors); the bfloat16 "
                      "evidence comes from the real torch optimizer only"],
            "highlights": [f"{r['claim']}: {r['verdict']} — {r['evidence']}" for r in rows]}


def verdict_table(p, conv, impl, sweeps, batch, state, inv_rows, precision) -> list[dict]:
    def find(records, name):
        return [r for r in records if r.name == name]

    rows = []
    sd = find(conv, "claim_sparse")
    dn = find(conv, "claim_dense")
    sparse_ok = [r.verdict == "pass" for r in sd]
    dense_ok = [r.verdict == "pass" for r in dn]
    ev = "; ".join(f"{fam}: AMSGrad/Adam regret ratio at sparsity ≤ {p.sparse_max}: geometric "
                   f"mean {r.details['geometric_mean_ratio']:.3f} (range "
                   f"{r.details['min_ratio']:.3f}–{r.details['max_ratio']:.3f}); dense: "
                   f"{q.details['geometric_mean_ratio']:.3f} (range {q.details['min_ratio']:.3f}"
                   f"–{q.details['max_ratio']:.3f})"
                   for fam, r, q in zip(p.families, sd, dn))
    if all(sparse_ok) and all(dense_ok):
        verdict = "confirmed"
    elif not any(sparse_ok) and not any(dense_ok):
        verdict = "refuted"
    else:
        verdict = "not supported as a general rule (depends on the problem)"
    if not any(dense_ok):
        verdict += "; the dense lag was not observed"
    rows.append({"claim": "faster on sparse gradients, slower on dense",
                 "quote": "AMSGrad can converge faster on sparse-gradient problems, but may lag "
                          "on dense-gradient tasks", "verdict": verdict, "evidence": ev,
                 "records": "claims-convergence.json: claim_sparse, claim_dense"})
    b2 = find(conv, "claim_beta2")
    ev = "; ".join(f"{fam}: sensitivity AMSGrad {r.details['sensitivity']['amsgrad-pytorch']['T/10']:.3f}"  # noqa: E501
                   f" (T/10) → {r.details['sensitivity']['amsgrad-pytorch']['T']:.3f} (T), Adam "
                   f"{r.details['sensitivity']['adam-pytorch']['T']:.3f} (T)"
                   for fam, r in zip(p.families, b2))
    ok = [r.verdict == "pass" for r in b2]
    rows.append({"claim": "sensitive to β2, especially for many steps",
                 "quote": "it may be sensitive to the choice of β2, especially when training for "
                          "very many steps",
                 "verdict": "confirmed" if all(ok) else "refuted" if not any(ok) else
                 "mixed (depends on the problem)", "evidence": ev,
                 "records": "claims-convergence.json: claim_beta2"})
    sb = find(conv, "claim_small_batch")[0]
    per = sb.details["per_beta2"]
    ev = f"batch {sb.details['batch']}: " + ", ".join(
        f"β2 = {k}: late excess risk {v['late_mean']:.4g}, fluctuation {v['late_fluctuation']:.3g}"
        for k, v in per.items())
    rows.append({"claim": "smaller β2 (0.9) stabilises small batches",
                 "quote": "a smaller β2 (e.g., 0.9) often stabilizes training",
                 "verdict": "confirmed" if sb.verdict == "pass" else "refuted",
                 "evidence": ev, "records": "claims-convergence.json: claim_small_batch"})
    st = find(impl, "claim_state_size")[0]
    growth = st.details["extra"]["Adam"]["state_growth"]
    per_param = st.details["extra"]["Adam"]["extra_bytes"] / st.details["parameter_bytes"]
    base = st.details["Adam(amsgrad=False)"]["state_bytes"] / st.details["parameter_bytes"]
    gib = 1e9 * 4 / 2 ** 30        # 10^9 float32 parameters
    rows.append({"claim": "one extra tensor per parameter, negligible memory",
                 "quote": "It adds only a single extra tensor per parameter (the running maximum "
                          "of v), which is negligible",
                 "verdict": "count confirmed; 'negligible' refuted" if st.verdict == "pass"
                 else "refuted",
                 "evidence": f"torch: +1 parameter-sized tensor (max_exp_avg_sq) per parameter; "
                             f"optimizer state ×{growth:.2f}; for 10^9 float32 parameters that "
                             f"is +{per_param * gib:.2f} GiB (state {base * gib:.2f} → "
                             f"{(base + per_param) * gib:.2f} GiB)",
                 "records": "claims-implementation.json: claim_state_size"})
    holds = sorted({r["variant"] for r in inv_rows if r["corrected_step_nonincreasing"] == "pass"
                    and r["effective_step_nonincreasing"] == "pass"}
                   - {r["variant"] for r in inv_rows
                      if r["corrected_step_nonincreasing"] != "pass"
                      or r["effective_step_nonincreasing"] != "pass"})
    breaks = sorted({r["variant"] for r in inv_rows
                     if r["corrected_step_nonincreasing"] != "pass"
                     or r["effective_step_nonincreasing"] != "pass"})
    vhat_all = all(r["vhat_nondecreasing"] == "pass" for r in inv_rows)
    rows.append({"claim": "v̂ never decreases, so the effective learning rate never increases",
                 "quote": "The max operation ensures v̂ never decreases, guaranteeing a "
                          "non-increasing effective learning-rate schedule",
                 "verdict": "refuted for PyTorch/Keras (the flag the article recommends); "
                            "holds for the paper, optax and the article's own pseudocode",
                 "evidence": f"v̂ non-decreasing in every variant: {vhat_all}; η̂ and η "
                             f"non-increasing: {', '.join(holds)}; increasing: "
                             f"{', '.join(breaks)}",
                 "records": "claims-implementation.json: corrected_step_nonincreasing, "
                            "effective_step_nonincreasing"})
    lp = find(impl, "claim_low_precision")
    parts = []
    for r in lp:
        for dt in ("float16", "bfloat16"):
            if dt in r.details:
                d = r.details[dt]
                bad = {k: v for k, v in d["first_nonfinite_step"].items() if v is not None}
                parts.append(f"{dt}: non-finite parameters {bad or 'none'}; exp_avg_sq moved "
                             f"{d['exp_avg_sq_relative_change']:+.3%} vs float64 "
                             f"{r.details['float64']['exp_avg_sq_relative_change']:+.3%}")
    rows.append({"claim": "works with float16/bfloat16 (with loss scaling)",
                 "quote": "Both PyTorch and TensorFlow support amsgrad=True with float16 or "
                          "bfloat16, provided you scale the loss appropriately",
                 "verdict": "refuted for pure float16/bfloat16 parameters" if
                 all(r.verdict == "fail" for r in lp) else "partly refuted" if
                 any(r.verdict == "fail" for r in lp) else "confirmed",
                 "evidence": "; ".join(parts) + ". Not tested: torch.amp with float32 master "
                             "weights (the optimizer then runs in float32).",
                 "records": "claims-implementation.json: claim_low_precision"})
    rows.append({"claim": "ImageNet ResNet-50 +1–2 % top-1",
                 "quote": "enabling amsgrad=True typically yields a 1‑2% improvement in top‑1 "
                          "accuracy after 90 epochs",
                 "verdict": "out of reach here",
                 "evidence": find(impl, "claim_out_of_reach")[0].details["reason"],
                 "records": "claims-implementation.json: claim_out_of_reach"})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["# The seed article's claims, audited", "",
             "Generated by `amsgrad-theory reproduce claims`; every verdict is backed by the "
             "records of the sidecars named (re-check with `amsgrad-theory verify --sidecar`).",
             "", "| claim | verdict | evidence |", "|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['claim']} (“{r['quote']}”) | **{r['verdict']}** | {r['evidence']} "
                     f"[{r['records']}] |")
    return "\n".join(lines) + "\n"


#: claims-convergence.csv, long format: one row per plotted number; the parameters that do not
#: apply to a panel are empty
CONVERGENCE_COLUMNS = ["panel", "family", "algorithm", "sparsity", "seed", "beta2",
                       "beta2_baseline", "batch", "quantity", "value"]


def convergence_figure(p: ClaimsParameters, sweeps: dict, batch: dict,
                       style: FigureStyle | None = None):
    report = annotates(style)
    fig, axes = new_figure(1, 3, width=4.4, height=3.6, style=style, aspect=0.9,
                           extra_height=0.5)
    ax_r, ax_b, ax_s = axes[0]
    table = Table(list(CONVERGENCE_COLUMNS))
    markers = {"random-quadratic": "o", "random-linear": "s"}
    for fam, data in sweeps.items():
        for j, b2 in enumerate(p.beta2s):
            xs, means = [], []
            for s in p.sparsities:
                rs = ratios(data, s, p.seeds, b2)
                for k, r in zip(p.seeds, rs):
                    table.add("ratio", fam, "amsgrad-pytorch/adam-pytorch", float(s), k,
                              float(b2), None, None, "regret_ratio", r)
                ax_r.plot([float(s)] * len(rs), rs, markers[fam], color=f"C{j}", alpha=0.35,
                          markersize=3)
                xs.append(float(s))
                means.append(_geomean(rs))
            ax_r.plot(xs, means, "-" if fam == p.families[0] else "--", marker=markers[fam],
                      color=f"C{j}", label=f"{fam}, β2 = {b2}")
        for alg in ("adam-pytorch", "amsgrad-pytorch"):
            a, b = p.beta2s[0], p.beta2s[-1]
            vals = []
            for s in p.sparsities:
                v = _geomean([abs(data[(alg, s, k, b)]["T"] / data[(alg, s, k, a)]["T"] - 1)
                              + 1e-12 for k in p.seeds])
                vals.append(v)
                table.add("beta2_sensitivity", fam, alg, float(s), None, float(b), float(a),
                          None, "beta2_sensitivity", v)
            ax_b.plot([float(s) for s in p.sparsities], vals,
                      "-" if fam == p.families[0] else "--", marker=markers[fam],
                      color=COLORS["adam" if alg == "adam-pytorch" else "amsgrad"],
                      label=f"{'Adam' if alg == 'adam-pytorch' else 'AMSGrad'}, {fam}")
    ax_r.axhline(1.0, color="0.4", linewidth=0.8)
    decorate(ax_r, xlabel="sparsity (fraction of coordinates with a gradient per step)"
             if report else "sparsity",
             ylabel="R_T(AMSGrad) / R_T(Adam)  (< 1: AMSGrad ahead)" if report else
             r"$R_T$(AMSGrad) / $R_T$(Adam)",
             title="sparse vs dense (torch's update rules)" if report else "sparse vs dense",
             ylog=False, legend="lower right" if report else None)
    note(ax_r, f"d = {p.d}, lr = {p.lr}, T = {p.steps}\nseeds {len(p.seeds)} (dots), "
               "line: geometric mean", loc="upper left", style=style)
    decorate(ax_b, xlabel="sparsity",
             ylabel=f"|R_T(β2={p.beta2s[-1]}) / R_T(β2={p.beta2s[0]}) − 1|" if report else
             rf"$|R_T(\beta_2={p.beta2s[-1]})/R_T(\beta_2={p.beta2s[0]}) - 1|$",
             title="sensitivity of the regret to β2" if report else
             r"sensitivity to $\beta_2$", legend="upper right" if report else None)
    for j, b2 in enumerate(p.batch_beta2s):
        late = [batch[(b, b2)]["late_mean"] for b in p.batch_sizes]
        fl = [batch[(b, b2)]["late_fluctuation"] for b in p.batch_sizes]
        ax_s.errorbar(p.batch_sizes, late, yerr=fl, marker="o", capsize=3, color=f"C{j + 2}",
                      label=f"β2 = {b2}")
        for size, m_, f_ in zip(p.batch_sizes, late, fl):
            for quantity, value in (("late_excess_risk", m_), ("late_fluctuation", f_)):
                table.add("small_batch", None, "amsgrad-pytorch", None, None, float(b2), None,
                          size, quantity, value)
    ax_s.set_xscale("log", base=2)
    decorate(ax_s, xlabel="minibatch size b" if report else r"minibatch size $b$",
             ylabel="late excess risk ½‖w − w*‖² (bar: fluctuation)" if report else
             r"late excess risk $\frac{1}{2}\|w - w^*\|^2$",
             title="small batches: torch.optim.Adam(amsgrad=True)" if report else
             "small batches (torch)", xlog=False,
             legend="upper right" if report else "best", fontsize=7 if report else None)
    if not report:
        plain_log_ticks(ax_s.yaxis)
    note(ax_s, f"least squares d = 20, noise 1, lr = {p.batch_lr},\n{p.batch_steps} steps, "
               f"{p.batch_seeds} seeds; last 20 % of steps", loc="lower left", style=style)
    if not report:
        shared_legend(fig, [ax_r, ax_b], ncol=3)
    title(fig, "The seed article's convergence claims, measured", style)
    footer(fig, "Re-check: amsgrad-theory verify --sidecar claims-convergence.json", style=style)
    return fig, table


#: claims-implementation.csv, long format (empty where a column does not apply to the panel)
IMPLEMENTATION_COLUMNS = ["panel", "optimizer", "sequence", "dtype", "t", "quantity", "value"]


#: the gradient sequences of the invariant runs, by a name for the CSV
SEQUENCE_IDS = {"(1, 0.05, …)": "spike-small", "(1, 0, …)": "spike-zero"}


def implementation_figure(p: ClaimsParameters, state: dict, inv_rows: list, precision: dict,
                          style: FigureStyle | None = None):
    report = annotates(style)
    fig, axes = new_figure(1, 3, width=4.4, height=3.6, style=style, aspect=0.9)
    ax_m, ax_i, ax_p = axes[0]
    table = Table(list(IMPLEMENTATION_COLUMNS))
    labels, values = [], []
    for key in ("Adam(amsgrad=False)", "Adam(amsgrad=True)", "AdamW(amsgrad=False)",
                "AdamW(amsgrad=True)"):
        labels.append(key.replace("(amsgrad=", "\n(amsgrad=") if report else
                      key.replace("(amsgrad=False)", "").replace("(amsgrad=True)",
                                                                 "\n+amsgrad"))
        values.append(state[key]["state_bytes"] / state["parameter_bytes"])
        table.add("state", key, None, "float32", None, "state_bytes_per_parameter_byte",
                  values[-1])
    ax_m.bar(range(len(values)), values, color=["#D55E00", "#0072B2"] * 2)
    ax_m.set_xticks(range(len(values)))
    ax_m.set_xticklabels(labels, fontsize=6.5 if report else 6)
    ax_m.set_ylabel("optimizer state / parameter bytes")
    ax_m.set_title("torch optimizer state (measured)", fontsize=9 if report else None)
    for i, v in enumerate(values):
        ax_m.text(i, v, f"{v:.2f}×", ha="center", va="bottom", fontsize=7 if report else None)
    ax_m.set_ylim(0, max(values) * 1.45)
    gib = 1e9 * 4 / 2 ** 30
    note(ax_m, f"10^9 float32 parameters:\nAdam state {values[0] * gib:.2f} GiB → AMSGrad "
               f"{values[1] * gib:.2f} GiB", loc="upper left", style=style)
    variants = list(dict.fromkeys(r["variant"] for r in inv_rows))
    seqs = list(dict.fromkeys(r["sequence"] for r in inv_rows))
    width = 0.8 / len(seqs)
    for j, s in enumerate(seqs):
        vals = []
        for v in variants:
            row = next(r for r in inv_rows if r["variant"] == v and r["sequence"] == s)
            vals.append(row["eta_hat_growth"])
            table.add("eta_hat_growth", v, SEQUENCE_IDS.get(s, s), None, None,
                      "eta_hat_growth", vals[-1])
        ax_i.bar([i + j * width for i in range(len(variants))], vals, width=width,
                 label=f"g = {s}", color=f"C{j}")
    ax_i.set_yscale("log")
    ax_i.axhline(1.0, color="0.3", linewidth=0.8)
    ax_i.set_xticks([i + width / 2 for i in range(len(variants))])
    ax_i.set_xticklabels(variants, rotation=45, ha="right", fontsize=6.5 if report else 6)
    ax_i.set_ylabel("growth max_t η̂_t / min_(s≤t) η̂_s" if report else
                    r"growth $\max_t \hat\eta_t / \min_{s \leq t} \hat\eta_s$")
    ax_i.set_title(f"does the effective step ever increase? (T = {p.invariant_steps})"
                   if report else r"does $\hat\eta_t$ ever increase?",
                   fontsize=9 if report else None)
    for i, v in enumerate(variants):
        ax_i.text(i + width / 2, 1.02, "never" if all(
            r["corrected_step_nonincreasing"] == "pass" for r in inv_rows if r["variant"] == v)
            else "", ha="center", va="bottom", fontsize=6, rotation=90)
    ax_i.legend(fontsize=6.5 if report else None, loc="upper left")
    ax_i.grid(True, axis="y", alpha=0.3)
    for dtype, color in (("float16", "C3"), ("bfloat16", "C4")):
        series = precision[dtype][dtype]["exp_avg_sq_series"]
        ax_p.plot(range(1, len(series) + 1), series, color=color, label=f"{dtype} (real torch)")
        for t, v in enumerate(series, start=1):
            table.add("exp_avg_sq", "torch.optim.Adam(amsgrad=True)", None, dtype, t,
                      "exp_avg_sq", v)
    ref = precision["float16"]["float64"]["exp_avg_sq_series"]
    ax_p.plot(range(1, len(ref) + 1), ref, color="black", linestyle=":", label="float64")
    for t, v in enumerate(ref, start=1):
        table.add("exp_avg_sq", "torch.optim.Adam(amsgrad=True)", None, "float64", t,
                  "exp_avg_sq", v)
    decorate(ax_p, xlabel="step t" if report else r"step $t$",
             ylabel="exp_avg_sq (g = 1, then 0.05; β2 = 0.999)" if report else
             r"second moment $v_t$ (exp_avg_sq)",
             title="second moment in low precision", xlog=False, ylog=False,
             fontsize=7 if report else None,
             legend="best")
    f16 = precision["float16"]["float16"]["first_nonfinite_step"]
    note(ax_p, "float16: first non-finite parameter at step\n"
               + ", ".join(f"{k}: {v}" for k, v in f16.items())
               + "\n(ε = 1e-8 underflows to 0 in float16)", loc="lower right", fontsize=6,
         style=style)
    title(fig, "The seed article's implementation claims, measured", style)
    footer(fig, "Re-check: amsgrad-theory verify --sidecar claims-implementation.json",
           style=style)
    return fig, table


STUDY = Study(name="claims", title="The seed article's claims, confirmed, refuted or out of "
              "reach", parameters=ClaimsParameters, run=run, sizes=SIZES, source=SOURCE)


# ------------------------------------------------------------------------------------------
# the registered checks of the claims (replayed from sidecars by name)
# ------------------------------------------------------------------------------------------

@register("claim_sparse_dense")
def claim_sparse_dense(spec: RunSpec, family: str, d: int, sparsities: list, seeds: list,
                       beta2s: list, lr: str, sparse_max: float, which: str,
                       _result=None) -> Record:
    """AMSGrad vs Adam (torch's rules) on sparse (``which="sparse"``) or dense problems."""
    return sparse_dense_record(spec, family, d, sparsities, seeds, beta2s, lr, sparse_max,
                               which, _result=_result)


@register("claim_beta2")
def claim_beta2(spec: RunSpec, family: str, d: int, sparsities: list, seeds: list,
                beta2s: list, lr: str, _result=None) -> Record:
    """AMSGrad's sensitivity to β2 grows with T and exceeds Adam's."""
    return beta2_record(spec, family, d, sparsities, seeds, beta2s, lr, _result=_result)


@register("claim_small_batch")
def claim_small_batch(spec: RunSpec, batch_sizes: list, beta2s: list, steps: int, seeds: int,
                      lr: float, _result=None) -> Record:
    """A smaller β2 stabilises torch's AMSGrad at the smallest batch size."""
    return small_batch_record(spec, batch_sizes, beta2s, steps, seeds, lr, _result=_result)


@register("claim_state_size")
def claim_state_size(spec: RunSpec, shapes: list, dtype: str = "float32",
                     _result=None) -> Record:
    """torch's AMSGrad state: one extra parameter-sized tensor per parameter."""
    return state_record(spec, shapes, dtype, _result=_result)


@register("claim_low_precision")
def claim_low_precision(spec: RunSpec, dtype: str, steps: int, _result=None) -> Record:
    """torch.optim.Adam(amsgrad=True) on float16/bfloat16 parameters."""
    return low_precision_record(spec, dtype, steps, _result=_result)


@register("claim_out_of_reach")
def claim_out_of_reach(spec: RunSpec, claim: str, reason: str) -> Record:
    """A claim this toolkit cannot test (verdict undecided, with the reason)."""
    return out_of_reach_record(spec, claim, reason)
