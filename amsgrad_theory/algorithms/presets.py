"""Named variants, each citing its source.

Hyperparameter defaults are decimal strings. Where the paper states none (Reddi et al. give no α
for their experiments) the default is the toolkit's choice and says so.
"""

from __future__ import annotations

from ..errors import InputError, unknown_name
from .variant import Variant

REDDI = ("Reddi, Kale, Kumar, 'On the Convergence of Adam and Beyond', ICLR 2018 "
         "(arXiv:1904.09237)")
TORCH = "PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam (measured: implementations.md §3.1)"

_PAPER_DEFAULTS = {"alpha": "0.1", "beta1": "0.9", "beta2": "0.999", "beta1_decay": "1"}
_FRAMEWORK_DEFAULTS = {"alpha": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-8"}

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
        "(arXiv:1412.6980v9), Algorithm 1: m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), "
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
        "Version', IEEE Access 7 (2019) 61706–61716 (arXiv:1904.03590), Algorithm 2: "
        "v̂_t = max(((1−β1,t)/(1−β1,t−1))² v̂_{t−1}, v_t).",
        max_rule="adamx", beta1_schedule="exp-decay", alpha_schedule="inv-sqrt",
        projection="weighted",
        defaults={"alpha": "0.1", "beta1": "0.9", "beta2": "0.999", "beta1_decay": "0.99"},
    ),
    Variant(
        name="rmsprop", title="RMSprop",
        source="Tieleman & Hinton, Lecture 6.5 (2012); semantics of torch.optim.RMSprop "
        "(v = α v + (1−α) g², θ −= lr g/(√v + ε)); Reddi et al. note it is Adam with β1 = 0.",
        first_moment="none", max_rule="none", alpha_schedule="constant", projection="euclidean",
        defaults={"alpha": "0.01", "beta2": "0.99", "eps": "1e-8"},
        notes="beta2 plays the role of torch's RMSprop 'alpha' (the smoothing constant).",
    ),
    Variant(
        name="adagrad", title="AdaGrad (diagonal)",
        source="Duchi, Hazan, Singer, 'Adaptive Subgradient Methods', JMLR 12 (2011); "
        "v_t = Σ g², θ −= α g/(√v_t + ε) as torch.optim.Adagrad; equals Reddi et al.'s "
        "ψ_t = diag(Σ g²)/t with α_t = α/√t.",
        first_moment="none", second_moment="sum", max_rule="none", alpha_schedule="constant",
        projection="euclidean", defaults={"alpha": "0.1", "eps": "1e-10"},
    ),
    Variant(
        name="sgd", title="Projected online gradient descent",
        source="Zinkevich, 'Online Convex Programming and Generalized Infinitesimal Gradient "
        "Ascent', ICML 2003; Reddi et al. Algorithm 1 with φ_t = g_t, ψ_t = I.",
        first_moment="none", second_moment="none", max_rule="none", alpha_schedule="inv-sqrt",
        projection="euclidean", defaults={"alpha": "0.1"},
    ),
    Variant(
        name="amsgrad-pytorch", title="torch.optim.Adam(amsgrad=True)",
        source=TORCH + ": lerp_ m; v.mul_(β2).addcmul_(g, g, 1−β2); vmax = max(vmax, v) over "
        "the RAW v; denom = √vmax/√(1−β2^t) + ε; θ.addcdiv_(m, denom, −lr/(1−β1^t)).",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="scaled",
        m_form="torch-lerp", v_form="torch", alpha_schedule="constant", projection="euclidean",
        defaults=_FRAMEWORK_DEFAULTS,
        notes="--weight-decay adds wd·θ to g (L2); --decoupled applies θ ← θ(1 − lr·wd) first, "
        "as torch.optim.AdamW(amsgrad=True).",
    ),
    Variant(
        name="adam-pytorch", title="torch.optim.Adam (amsgrad=False)",
        source=TORCH + " with amsgrad=False: denom = √v/√(1−β2^t) + ε.",
        max_rule="none", correct_m=True, correct_v="after-max", step_form="scaled",
        m_form="torch-lerp", v_form="torch", alpha_schedule="constant", projection="euclidean",
        defaults=_FRAMEWORK_DEFAULTS,
    ),
    Variant(
        name="amsgrad-keras", title="keras.optimizers.Adam(amsgrad=True)",
        source="Keras 3.15 keras/src/optimizers/adam.py (keras-team/keras @ 3422977a): "
        "α_t = lr √(1−β2^t)/(1−β1^t); m += (g−m)(1−β1); v += (g²−v)(1−β2); v̂ = max(v̂, v) "
        "over the raw v; θ −= (m α_t)/(√v̂ + ε̂), ε̂ = 1e-7.",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="folded",
        m_form="lerp", v_form="lerp", alpha_schedule="constant", projection="euclidean",
        defaults={"alpha": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-7"},
        notes="Keras computes β^t in the variable dtype; this model computes it in float64.",
    ),
    Variant(
        name="amsgrad-optax", title="optax.amsgrad (default flags)",
        source="optax optax/_src/transform.py::scale_by_amsgrad (google-deepmind/optax @ "
        "2edbcbe2, 0.2.8): μ̂ = μ/(1−β1^t), ν̂ = ν/(1−β2^t), ν̂max = max(ν̂max, ν̂) over the "
        "CORRECTED ν; u = −lr μ̂/(√(ν̂max + ε_root) + ε).",
        max_rule="running-max", correct_m=True, correct_v="before-max", eps_root_inside=True,
        alpha_schedule="constant", projection="euclidean", defaults=_FRAMEWORK_DEFAULTS,
    ),
    Variant(
        name="amsgrad-optax-raw-nu", title="optax.amsgrad(bias_correction_nu=False)",
        source="optax ≥ 0.2.7 (PR #1423) scale_by_amsgrad with bias_correction_nu=False: "
        "ν̂max = max(ν̂max, ν) over the raw ν, μ still corrected.",
        max_rule="running-max", correct_m=True, correct_v="none", eps_root_inside=True,
        alpha_schedule="constant", projection="euclidean", defaults=_FRAMEWORK_DEFAULTS,
    ),
    Variant(
        name="amsgrad-seed", title="The seed article's 'Adam with AMSGrad' pseudocode",
        source="The article this project started from (shared/reference/000_0455b6ca59842add.txt): "
        "m̂ = m/(1−β1^t); v_hat = max(v_hat, v_t) over the uncorrected v; "
        "θ −= α m̂/(√v_hat + ε).",
        max_rule="running-max", correct_m=True, correct_v="none", alpha_schedule="constant",
        projection="euclidean", defaults=_FRAMEWORK_DEFAULTS,
    ),
    Variant(
        name="amsgrad-adamw-pytorch", title="torch.optim.AdamW(amsgrad=True)",
        source="PyTorch 2.13 torch/optim/adamw.py (Adam with decoupled_weight_decay=True): "
        "θ ← θ(1 − lr·wd), then the amsgrad-pytorch step.",
        max_rule="running-max", correct_m=True, correct_v="after-max", step_form="scaled",
        m_form="torch-lerp", v_form="torch", alpha_schedule="constant", projection="euclidean",
        weight_decay_mode="decoupled",
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
    changes = {}
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
