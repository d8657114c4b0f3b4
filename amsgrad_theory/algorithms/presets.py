"""Named variants, each citing its source.

Hyperparameter defaults are decimal strings. Where the paper states none (Reddi et al. give no α
for their experiments) the default is the toolkit's choice and says so.
"""

from __future__ import annotations

from typing import TypedDict

from ..errors import InputError, unknown_name
from .variant import Variant

REDDI = ("Reddi, Kale, Kumar, 'On the Convergence of Adam and Beyond', ICLR 2018 "
         "(arXiv:1904.09237) [reddi2018]")
TORCH = ("PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam and _multi_tensor_adam "
         "(identical arithmetic; measured by `amsgrad-theory fidelity`) [pytorch-2.13]")
KERAS = "Keras 3.15 keras/src/optimizers/adam.py (keras-team/keras @ 3422977a) [keras-3.15]"
OPTAX = ("optax optax/_src/transform.py::scale_by_amsgrad and alias.py::amsgrad "
         "(google-deepmind/optax @ 2edbcbe2, 0.2.8) [optax-0.2.8]")


# The numerics fields of :class:`Variant` a framework family shares, unpacked into each preset;
# typed per family, so that the checker sees every field with its own type and knows which
# fields a family leaves to the preset.
class _TorchNumerics(TypedDict):
    exact_in: str


class _KerasNumerics(TypedDict):
    powers_in: str
    coefficients_in: str
    learning_rate_in: str
    flush_denormals: bool


class _OptaxNumerics(TypedDict):
    powers_in: str
    coefficients_in: str
    correction: str
    flush_denormals: bool


#: PyTorch's CPU square root (MKL) is not correctly rounded: its models are exact when run in
#: torch arithmetic (``--arithmetic torch:cpu:DTYPE``)
_TORCH_NUMERICS: _TorchNumerics = {"exact_in": "torch"}
#: Keras 3 on the jax backend, eager: β^t, 1 − β^t and α_t = lr√(1−β2^t)/(1−β1^t) in the
#: variable's dtype, the learning rate stored in floatx (float32 by default), XLA flushing
#: subnormals to zero
_KERAS_NUMERICS: _KerasNumerics = {"powers_in": "lane", "coefficients_in": "lane",
                                   "learning_rate_in": "float32", "flush_denormals": True}
#: optax with jax's default config (x64 off): 1 − β^t in float32, then its reciprocal in the
#: parameters' dtype multiplies (XLA rewrites the division), subnormals flushed to zero
_OPTAX_NUMERICS: _OptaxNumerics = {"powers_in": "float32", "coefficients_in": "lane",
                                   "correction": "reciprocal", "flush_denormals": True}

_PAPER_DEFAULTS = {"alpha": "0.1", "beta1": "0.9", "beta2": "0.999", "beta1_decay": "1"}
_FRAMEWORK_DEFAULTS = {"alpha": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-8"}
_KERAS_DEFAULTS = {"alpha": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-7"}

_VARIANTS = [
    Variant(
        name="amsgrad", title="AMSGrad (Algorithm 2 of Reddi et al.)",
        source=REDDI + ", Algorithm 2: m_t = β1,t m + (1−β1,t) g; v_t = β2 v + (1−β2) g²; "
        "v̂_t = max(v̂_{t−1}, v_t); x_{t+1} = Π_{F,√V̂_t}(x_t − α_t m_t/√v̂_t); no bias "
        "correction, no ε.",
        max_rule="running-max", alpha_schedule="inv-sqrt", projection="weighted",
        defaults=_PAPER_DEFAULTS,
        notes="α = 0.1 is the toolkit's default: the paper states no step size.",
    ),
    Variant(
        name="adam", title="Adam as analysed by Reddi et al. (no bias correction)",
        source=REDDI + ", Algorithm 1 with φ_t, ψ_t of Adam (Section 2, footnote: debiasing "
        "removed); the algorithm of Theorems 1–3.",
        max_rule="none", alpha_schedule="inv-sqrt", projection="weighted",
        defaults=_PAPER_DEFAULTS,
    ),
    Variant(
        name="adam-kingma-ba", title="Adam (Kingma & Ba, Algorithm 1)",
        source="Kingma & Ba, 'Adam: A Method for Stochastic Optimization', ICLR 2015 "
        "(arXiv:1412.6980v9) [kingma2015], Algorithm 1: m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), "
        "θ −= α m̂/(√v̂ + ε).",
        correct_m=True, correct_v="before-max", alpha_schedule="constant",
        projection="euclidean", defaults=_FRAMEWORK_DEFAULTS,
    ),
    Variant(
        name="adamnc", title="AdamNC (Algorithm 3 of Reddi et al.)",
        source=REDDI + ", Algorithm 3 / Theorem 5 / Corollary 2: Adam with β1,t = β1 λ^{t−1} "
        "and β2,t = 1 − 1/t (so v_t = Σ g²/t), no max.",
        max_rule="none", beta1_schedule="exp-decay", beta2_schedule="one-minus-inv-t",
        alpha_schedule="inv-sqrt", projection="weighted",
        defaults={"alpha": "0.1", "beta1": "0.9", "beta2": "0.999", "beta1_decay": "0.99"},
        notes="β2 is ignored: β2,t = 1 − 1/t.",
    ),
    Variant(
        name="adamx", title="AdamX (Tran & Phong, Algorithm 2)",
        source="Tran Thi Phuong & Le Trieu Phong, 'On the Convergence Proof of AMSGrad and a New "
        "Version', IEEE Access 7 (2019) 61706–61716 (arXiv:1904.03590) [tran2019], Algorithm 2: "
        "v̂_t = max(((1−β1,t)/(1−β1,t−1))² v̂_{t−1}, v_t).",
        max_rule="adamx", beta1_schedule="exp-decay", alpha_schedule="inv-sqrt",
        projection="weighted",
        defaults={"alpha": "0.1", "beta1": "0.9", "beta2": "0.999", "beta1_decay": "0.99"},
    ),
    Variant(
        name="rmsprop", title="RMSprop",
        source="Tieleman & Hinton, Lecture 6.5 (2012) [tieleman2012]; semantics of "
        "torch.optim.RMSprop (v = α v + (1−α) g², θ −= lr g/(√v + ε)); Reddi et al. note it is "
        "Adam with β1 = 0.",
        first_moment="none", max_rule="none", alpha_schedule="constant", projection="euclidean",
        defaults={"alpha": "0.01", "beta2": "0.99", "eps": "1e-8"},
        notes="beta2 plays the role of torch's RMSprop 'alpha' (the smoothing constant).",
    ),
    Variant(
        name="adagrad", title="AdaGrad (diagonal)",
        source="Duchi, Hazan, Singer, 'Adaptive Subgradient Methods', JMLR 12 (2011) "
        "[duchi2011]; "
        "v_t = Σ g², θ −= α g/(√v_t + ε) as torch.optim.Adagrad; equals Reddi et al.'s "
        "ψ_t = diag(Σ g²)/t with α_t = α/√t.",
        first_moment="none", second_moment="sum", max_rule="none", alpha_schedule="constant",
        projection="euclidean", defaults={"alpha": "0.1", "eps": "1e-10"},
    ),
    Variant(
        name="sgd", title="Projected online gradient descent",
        source="Zinkevich, 'Online Convex Programming and Generalized Infinitesimal Gradient "
        "Ascent', ICML 2003 [zinkevich2003]; Reddi et al. Algorithm 1 with φ_t = g_t, ψ_t = I.",
        first_moment="none", second_moment="none", max_rule="none", alpha_schedule="inv-sqrt",
        projection="euclidean", defaults={"alpha": "0.1"},
    ),
    Variant(
        name="amsgrad-pytorch", title="torch.optim.Adam(amsgrad=True)",
        source=TORCH + ": lerp_ m; v.mul_(β2).addcmul_(g, g, 1−β2); vmax = max(vmax, v) over "
        "the RAW v; denom = √vmax/√(1−β2^t) + ε; θ.addcdiv_(m, denom, −lr/(1−β1^t)).",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="scaled",
        m_form="torch-lerp", v_form="torch", alpha_schedule="constant", projection="euclidean",
        defaults=_FRAMEWORK_DEFAULTS, **_TORCH_NUMERICS,
        notes="--weight-decay adds wd·θ to g (L2); --decoupled applies θ ← θ(1 − lr·wd) first, "
        "as torch.optim.AdamW(amsgrad=True). Bit-exact in torch arithmetic (torch's CPU sqrt); "
        "in IEEE floats 1 ulp of √v̂ differs where MKL's sqrt does.",
    ),
    Variant(
        name="amsgrad-pytorch-fused", title="torch.optim.Adam(amsgrad=True, fused=True) on the CPU",
        source="PyTorch 2.13 aten/src/ATen/native/cpu/FusedAdamKernel.cpp (vector body) "
        "[pytorch-2.13]: as "
        "amsgrad-pytorch, but √(1−β2^t) by std::sqrt and the lanes' √ correctly rounded.",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="scaled",
        m_form="torch-lerp", v_form="torch", alpha_schedule="constant", projection="euclidean",
        correction_root="sqrt", defaults=_FRAMEWORK_DEFAULTS,
        notes="The kernel's scalar tail (the last n mod 8 float32 / n mod 4 float64 elements of "
        "a tensor) fuses another product in v: its model is this variant with "
        "v_form=torch-tail.",
    ),
    Variant(
        name="amsgrad-pytorch-differentiable",
        title="torch.optim.Adam(amsgrad=True, differentiable=True) (the capturable branch)",
        source="PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam's capturable/differentiable "
        "branch [pytorch-2.13]: 1 − β^t from the float32 `step` tensor, step_size = "
        "(1/bc1)·lr, denom = √vmax/(√bc2·(−step_size)) + ε/(−step_size), "
        "θ.addcdiv_(m, denom).",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="capturable",
        m_form="torch-lerp", v_form="torch", alpha_schedule="constant", projection="euclidean",
        powers_in="float32", coefficients_in="float32", defaults=_FRAMEWORK_DEFAULTS,
        **_TORCH_NUMERICS,
        notes="Its coefficients are float32 even for float64 parameters (1e-5 relative off "
        "the single-tensor path).",
    ),
    Variant(
        name="adam-pytorch", title="torch.optim.Adam (amsgrad=False)",
        source=TORCH + " with amsgrad=False: denom = √v/√(1−β2^t) + ε.",
        max_rule="none", correct_m=True, correct_v="after-max", step_form="scaled",
        m_form="torch-lerp", v_form="torch", alpha_schedule="constant", projection="euclidean",
        defaults=_FRAMEWORK_DEFAULTS, **_TORCH_NUMERICS,
    ),
    Variant(
        name="amsgrad-keras", title="keras.optimizers.Adam(amsgrad=True), jax backend",
        source=KERAS + ": α_t = lr √(1−β2^t)/(1−β1^t) in the variable dtype; "
        "m += (g−m)(1−β1); v += (g²−v)(1−β2); v̂ = max(v̂, v) over the raw v; "
        "θ −= (m α_t)/(√v̂ + ε̂), ε̂ = 1e-7.",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="folded",
        m_form="lerp", v_form="lerp", alpha_schedule="constant", projection="euclidean",
        defaults=_KERAS_DEFAULTS, **_KERAS_NUMERICS,
        notes="Eager (optimizer.apply, apply_gradients), floatx float32: the learning rate is "
        "a float32 variable. floatx float64: --numerics learning_rate_in=float64. The "
        "tensorflow backend runs the same ops.",
    ),
    Variant(
        name="amsgrad-keras-jit", title="keras.optimizers.Adam(amsgrad=True), jax backend, jitted",
        source=KERAS + " under jax.jit [jax2018] (model.fit with jit_compile='auto'): XLA "
        "contracts m + (g−m)(1−β1) and v + (g·g − v)(1−β2) into fused multiply-adds.",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="folded",
        m_form="fma-lerp", v_form="fma-lerp", alpha_schedule="constant",
        projection="euclidean", defaults=_KERAS_DEFAULTS, **_KERAS_NUMERICS,
        notes="Exact for the optimizer step jitted alone; fused with a model's own gradient "
        "computation, XLA may contract across both.",
    ),
    Variant(
        name="amsgrad-keras-torch", title="keras.optimizers.Adam(amsgrad=True), torch backend",
        source="Keras 3.15 keras/src/backend/torch/optimizers/torch_adam.py [keras-3.15]: "
        "m = m·β1 + g·(1−β1) and v = v·β2 + g²·(1−β2) by torch's _foreach_mul_/_foreach_add_ "
        "(one fused multiply-add each), α_t in the variable dtype.",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="folded",
        m_form="fma-convex", v_form="fma-convex", alpha_schedule="constant",
        projection="euclidean", defaults=_KERAS_DEFAULTS, powers_in="lane",
        coefficients_in="lane", learning_rate_in="float32", **_TORCH_NUMERICS,
        notes="No flush to zero; torch's CPU sqrt in the lanes and in α_t.",
    ),
    Variant(
        name="amsgrad-optax", title="optax.amsgrad (default flags)",
        source=OPTAX + ": μ̂ = μ/(1−β1^t), ν̂ = ν/(1−β2^t), ν̂max = max(ν̂max, ν̂) over the "
        "CORRECTED ν; u = −lr μ̂/(√(ν̂max + ε_root) + ε).",
        max_rule="running-max", correct_m=True, correct_v="before-max", eps_root_inside=True,
        alpha_schedule="constant", projection="euclidean", defaults=_FRAMEWORK_DEFAULTS,
        **_OPTAX_NUMERICS,
        notes="Eager, jax's default config (x64 off). With x64 on, 1 − β^t is computed in "
        "float64: --numerics powers_in=scalar.",
    ),
    Variant(
        name="amsgrad-optax-jit", title="optax.amsgrad under jax.jit (update and apply_updates)",
        source=OPTAX + " jitted [jax2018] with optax.apply_updates: XLA contracts "
        "β1·μ + (1−β1)·g, β2·ν + (1−β2)·g² and θ + u into fused multiply-adds.",
        max_rule="running-max", correct_m=True, correct_v="before-max", eps_root_inside=True,
        alpha_schedule="constant", projection="euclidean", defaults=_FRAMEWORK_DEFAULTS,
        m_form="fma-convex", v_form="fma-convex", x_form="fma", **_OPTAX_NUMERICS,
        notes="Jitting opt.update alone fuses the moments but not θ + u: --numerics "
        "x_form=subtract.",
    ),
    Variant(
        name="amsgrad-optax-raw-nu", title="optax.amsgrad(bias_correction_nu=False)",
        source="optax ≥ 0.2.7 (PR #1423) scale_by_amsgrad with bias_correction_nu=False "
        "[optax-0.2.8; optax-issue1389]: "
        "ν̂max = max(ν̂max, ν) over the raw ν, μ still corrected.",
        max_rule="running-max", correct_m=True, correct_v="none", eps_root_inside=True,
        alpha_schedule="constant", projection="euclidean", defaults=_FRAMEWORK_DEFAULTS,
        **_OPTAX_NUMERICS,
    ),
    Variant(
        name="amsgrad-seed", title="The seed article's 'Adam with AMSGrad' pseudocode",
        source="The tutorial article 'Adam with AMSGrad' this project started from "
        "[seed-article]: "
        "m̂ = m/(1−β1^t); v_hat = max(v_hat, v_t) over the uncorrected v; "
        "θ −= α m̂/(√v_hat + ε).",
        max_rule="running-max", correct_m=True, correct_v="none", alpha_schedule="constant",
        projection="euclidean", defaults=_FRAMEWORK_DEFAULTS,
    ),
    Variant(
        name="amsgrad-adamw-pytorch", title="torch.optim.AdamW(amsgrad=True)",
        source="PyTorch 2.13 torch/optim/adamw.py (Adam with decoupled_weight_decay=True) "
        "[pytorch-2.13]: "
        "θ ← θ(1 − lr·wd), then the amsgrad-pytorch step.",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="scaled",
        m_form="torch-lerp", v_form="torch", alpha_schedule="constant", projection="euclidean",
        weight_decay_mode="decoupled", **_TORCH_NUMERICS,
        defaults={"alpha": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-8",
                  "weight_decay": "0.01"},
    ),
]

VARIANTS: dict[str, Variant] = {v.name: v for v in _VARIANTS}


def variant_names() -> list[str]:
    return list(VARIANTS)


def get_variant(name: str | Variant, *, alpha_schedule: str | None = None,
                beta1_schedule: str | None = None, decoupled: bool | None = None) -> Variant:
    """The preset ``name``, with the structural options a user may change.

    ``alpha_schedule`` (``constant``/``inv-sqrt``), ``beta1_schedule``
    (``constant``/``exp-decay``/``inv-t``) and ``decoupled`` (weight decay applied to θ instead
    of entering the gradient) override the preset's own choice.
    """
    if isinstance(name, Variant):
        variant = name
    else:
        if name not in VARIANTS:
            raise unknown_name("algorithm", name, variant_names())
        variant = VARIANTS[name]
    changes: dict[str, str] = {}
    if alpha_schedule is not None:
        if alpha_schedule not in ("constant", "inv-sqrt"):
            raise InputError("schedule", alpha_schedule, "must be constant or inv-sqrt")
        changes["alpha_schedule"] = alpha_schedule
    if beta1_schedule is not None:
        if beta1_schedule not in ("constant", "exp-decay", "inv-t"):
            raise InputError("beta1_schedule", beta1_schedule,
                             "must be constant, exp-decay or inv-t")
        changes["beta1_schedule"] = beta1_schedule
    if decoupled is not None:
        changes["weight_decay_mode"] = "decoupled" if decoupled else "l2"
    return variant.with_(**changes) if changes else variant
