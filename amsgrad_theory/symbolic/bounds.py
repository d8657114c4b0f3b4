"""Every regret bound of the AMSGrad literature, as printed, as corrected, and as derived here.

Notation (:mod:`~amsgrad_theory.symbolic.symbols`): V_T = Σ_i √v̂_{T,i}, N_T = Σ_i ‖g_{1:T,i}‖₂,
B_T = Σ_t Σ_i β1,t √v̂_{t,i}/α_t, E_T = Σ_t α_t ‖V̂_t^{-1/4} m_t‖², A_T = Σ_{t=2}^T β1,t √(t−1),
L_T = 1 + ln T, γ = β1/√β2. Each :class:`~.bound.Bound` names its source in ``source`` (the
paper, version and theorem, with its key in ``paper/references.bib``) and says where a constant
was read in a secondary source rather than in the paper itself (a transcription by a Lean 4
formalization, or a verbatim quotation by Tran & Phong 2019).

Versions of Reddi et al.'s Theorem 4 (Reddi, Kale & Kumar 2017, 2018, 2019
[reddi2017openreview; reddi2018; reddi2019arxiv]):

===============  =========================  ========================  ==========
version          first term                 second term               third term
===============  =========================  ========================  ==========
(a) OpenReview   D²√T V_T/(1−β1)  (no α!)   D² B_T/(2(1−β1))          Λ
(b) ICLR 2018    D²√T V_T/(α(1−β1))         D² B_T/(2(1−β1))          Λ
(c) arXiv 2019   D²√T V_T/(α(1−β1))         D² B_T/(1−β1)²            Λ
(d) derived      D²√T V_T/(2α(1−β1))        D² B_T/(1−β1)             Λ
===============  =========================  ========================  ==========

with Λ = α√L_T N_T/((1−β1)²(1−γ)√(1−β2)) (Lemma 2's bound on E_T, divided by 1−β1).

(d) is what the proof gives with the true 1/(1−β1,t) weights (steps in
:mod:`~amsgrad_theory.symbolic.steps`, chain ``theorem4``). (c) implies (d) because
1/(1−β1) ≤ 1/(1−β1)²; (b) is not implied by (d) (its second coefficient is half of (d)'s).

The constant-β1 bound (:data:`CONSTANT_BETA1`) is derived here from the decomposition
g_t = (m_t − β1 m_{t−1})/(1−β1) (after Alacaoglu et al. 2020 [alacaoglu2020]), with a
sharper momentum-energy lemma (:data:`LEMMA2_CONSTANT`); every step is a named inequality of
the ``constant-beta1`` chain in :mod:`~amsgrad_theory.symbolic.steps`.
"""

from __future__ import annotations

import sympy as sp

from ..errors import unknown_name
from . import symbols as S
from .bound import (
    A_ADAMNC,
    A_ADAMNC_CONDITIONS,
    A_ADAMX,
    A_ALPHA_T,
    A_AMSGRAD,
    A_BETA1_T,
    A_CONSTANT,
    A_EXP,
    A_GAMMA,
    A_GAMMA_KB,
    A_INV_T,
    A_KINGMA_BA,
    A_LAMBDA,
    BASIC,
    Assumption,
    Bound,
)

T, d, alpha, beta1, beta2, lam = S.T, S.d, S.alpha, S.beta1, S.beta2, S.lam
gamma, D, G = S.gamma, S.D_inf, S.G_inf
V, Ng, Bs, E, A = S.V_T, S.N_T, S.B_T, S.E_T, S.A_T
LOG = 1 + sp.log(T)

REDDI = "Reddi, Kale, Kumar, 'On the Convergence of Adam and Beyond'"
OPENREVIEW = (REDDI + ", OpenReview double-blind submission (Oct 2017) "
              "[reddi2017openreview]")
ICLR = (REDDI + ", ICLR 2018 camera-ready, as quoted verbatim ('Theorem A') by Tran & Phong, "
        "IEEE Access 7 (2019) 61706 [reddi2018; tran2019]")
ARXIV = (REDDI + ", arXiv:1904.09237 (2019), as transcribed by a Lean 4 formalization "
         "(the PDF itself was not read) [reddi2019arxiv; lean-adambeyond]")
TRAN = ("Tran Thi Phuong & Le Trieu Phong, 'On the Convergence Proof of AMSGrad and a New "
        "Version', IEEE Access 7 (2019) 61706–61716 (arXiv:1904.03590) [tran2019]")
KINGMA = ("Kingma & Ba, 'Adam: A Method for Stochastic Optimization', ICLR 2015, "
          "arXiv:1412.6980v9 [kingma2015]")
HERE = "derived here (amsgrad_theory.symbolic)"

#: the Lemma 2 term every Reddi-type bound carries: E_T/(1−β1) with Lemma 2 for E_T
THIRD = alpha * sp.sqrt(LOG) * Ng / ((1 - beta1) ** 2 * (1 - gamma) * sp.sqrt(1 - beta2))

A_VHAT_GE_V = Assumption(
    "v_hat >= v (AMSGrad or AdamX)", "v̂_{t,i} ≥ v_{t,i} (a running max: AMSGrad or AdamX)",
    structural={"max_rule": ("running-max", "adamx"), "first_moment": ("ema",),
                "second_moment": ("ema",), "correct_m": (False,), "correct_v": ("none",),
                "step_form": ("normalized",), "beta2_schedule": ("constant",),
                "hp.eps": ("0",), "hp.eps_root": ("0",)})

THEOREM4 = (*BASIC, A_GAMMA, A_ALPHA_T, A_BETA1_T, A_AMSGRAD)
COROLLARY1 = (*BASIC, A_GAMMA, A_ALPHA_T, A_EXP, A_LAMBDA, A_AMSGRAD)

_BOUNDS: list[Bound] = [
    Bound(
        name="theorem4-openreview", title="Theorem 4 (a): OpenReview submission, as printed",
        rhs=D ** 2 * sp.sqrt(T) * V / (1 - beta1) + D ** 2 * Bs / (2 * (1 - beta1)) + THIRD,
        source=OPENREVIEW + ", Theorem 4", status="printed", assumptions=THEOREM4,
        notes="The first term lacks α: the statement is not invariant under x ↦ kx "
              "(scale_consistency flags it)."),
    Bound(
        name="theorem4-iclr", title="Theorem 4 (b): ICLR 2018 camera-ready, as printed",
        rhs=D ** 2 * sp.sqrt(T) * V / (alpha * (1 - beta1))
        + D ** 2 * Bs / (2 * (1 - beta1)) + THIRD,
        source=ICLR + ", Theorem 4", status="printed", assumptions=THEOREM4,
        notes="The paper's argument for it replaces 1/(1−β1,t) by 1/(1−β1) on terms that can "
              "be negative (Tran & Phong); the step fails on their Example 3.2. A Lean "
              "formalization claims a different proof of the printed constants (unverified)."),
    Bound(
        name="theorem4-arxiv", title="Theorem 4 (c): arXiv 1904.09237, as transcribed",
        rhs=D ** 2 * sp.sqrt(T) * V / (alpha * (1 - beta1))
        + D ** 2 * Bs / (1 - beta1) ** 2 + THIRD,
        source=ARXIV + ", Theorem 4 (second coefficient D∞²/(1−β1)², the appendix footnote "
        "records the missing factor 2/(1−β1))", status="printed", assumptions=THEOREM4),
    Bound(
        name="theorem4-derived", title="Theorem 4 (d): what the proof gives",
        rhs=D ** 2 * sp.sqrt(T) * V / (2 * alpha * (1 - beta1))
        + D ** 2 * Bs / (1 - beta1) + THIRD,
        source=HERE + ": the proof of Reddi et al.'s Theorem 4 with the true 1/(1−β1,t) "
        "weights kept through the Abel summation (as the Lean formalization's "
        "`amsgrad_regret_moment` does before its final weakening [lean-adambeyond]; steps: "
        "symbolic.steps chain 'theorem4')", status="derived here",
        assumptions=THEOREM4),
    Bound(
        name="corollary1-openreview",
        title="Corollary 1 (β1,t = β1λ^{t−1}): OpenReview submission, as printed",
        rhs=D ** 2 * sp.sqrt(T) * V / (1 - beta1)
        + beta1 * D ** 2 * G / (2 * (1 - beta1) * (1 - lam) ** 2) + THIRD,
        source=OPENREVIEW + ", Corollary 1", status="printed", assumptions=COROLLARY1,
        schedules=("exp-decay",),
        notes="Missing α in the first term and d/α in the second (scale-inconsistent)."),
    Bound(
        name="corollary1-arxiv",
        title="Corollary 1 (β1,t = β1λ^{t−1}): arXiv 1904.09237, as transcribed",
        rhs=D ** 2 * sp.sqrt(T) * V / (alpha * (1 - beta1))
        + beta1 * D ** 2 * G / ((1 - beta1) ** 2 * (1 - lam) ** 2) + THIRD,
        source=ARXIV + ", Corollary 1: second term β1D∞²G∞/((1−β1)²(1−λ)²); the first and "
        "third terms are taken from Theorem 4 (c) (not confirmed separately)",
        status="printed", assumptions=COROLLARY1, schedules=("exp-decay",),
        notes="The second term lacks the factor d/α (scale-inconsistent)."),
    Bound(
        name="corollary1-corrected-arxiv",
        title="Corollary 1 corrected: the (c)-style coefficient with d/α restored",
        rhs=D ** 2 * sp.sqrt(T) * V / (alpha * (1 - beta1))
        + d * beta1 * D ** 2 * G / (alpha * (1 - beta1) ** 2 * (1 - lam) ** 2) + THIRD,
        source="Theorem 4 (c) with B_T ≤ dG∞β1/(α(1−λ)²) (Σ_t λ^{t−1}√t ≤ 1/(1−λ)², "
        "√v̂ ≤ G∞); the factor d/α restored as in the Lean formalization's "
        "`amsgrad_regret_lambda` [reddi2019arxiv; lean-adambeyond]",
        status="corrected", assumptions=COROLLARY1, schedules=("exp-decay",)),
    Bound(
        name="corollary1-corrected-derived",
        title="Corollary 1 corrected: the derived coefficient with d/α restored",
        rhs=D ** 2 * sp.sqrt(T) * V / (2 * alpha * (1 - beta1))
        + d * beta1 * D ** 2 * G / (alpha * (1 - beta1) * (1 - lam) ** 2) + THIRD,
        source=HERE + ": Theorem 4 (d) with B_T ≤ dG∞β1/(α(1−λ)²)",
        status="derived here", assumptions=COROLLARY1, schedules=("exp-decay",)),
    Bound(
        name="beta1-inv-t", title="β1,t = β1/t: O(√T) regret (the paper's remark after "
        "Corollary 1), derived",
        rhs=D ** 2 * sp.sqrt(T) * V / (2 * alpha * (1 - beta1))
        + d * beta1 * D ** 2 * G * (2 * sp.sqrt(T) - 1) / (alpha * (1 - beta1))
        + alpha * d * G * (2 * sp.sqrt(T) - 1)
        / ((1 - beta1) ** 2 * (1 - gamma) * sp.sqrt(1 - beta2)),
        source=HERE + ": Theorem 4 (d) with B_T ≤ dG∞β1(2√T−1)/α (Σ 1/√t ≤ 2√T − 1) and "
        "Lemma 2 without the log (Σ_j |g_{j,i}|/√j ≤ G∞(2√T − 1)); the paper's claim 'a "
        "regret of O(√T)' [reddi2017openreview] made explicit",
        status="derived here",
        assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_INV_T, A_AMSGRAD), schedules=("inv-t",)),
    Bound(
        name="lemma2", title="Lemma 2 (momentum energy), with the log factor", lhs=E,
        rhs=alpha * sp.sqrt(LOG) * Ng / ((1 - beta1) * (1 - gamma) * sp.sqrt(1 - beta2)),
        source=REDDI + ", arXiv:1904.09237, Lemma 2 (appendix), as transcribed by the Lean "
        "formalization [reddi2019arxiv; lean-adambeyond]",
        status="printed", assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_BETA1_T, A_VHAT_GE_V)),
    Bound(
        name="lemma2-no-log", title="Lemma 2 without the log factor (closing remark)", lhs=E,
        rhs=2 * alpha * d * G * sp.sqrt(T) / ((1 - beta1) * (1 - gamma) * sp.sqrt(1 - beta2)),
        source=REDDI + ", closing remark of the Lemma 2 proof: Σ_t |g_{t,i}|/√t ≤ 2G∞√T "
        "(Tran & Phong Lemma 2.5), as transcribed by the Lean formalization "
        "[reddi2019arxiv; tran2019; lean-adambeyond]",
        status="printed", assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_BETA1_T, A_VHAT_GE_V)),
    Bound(
        name="lemma2-constant-beta1",
        title="Momentum energy for constant β1 (a factor (1−β1)² sharper than Lemma 2)",
        lhs=E, rhs=(1 - beta1) * alpha * sp.sqrt(LOG) * Ng / ((1 - gamma) * sp.sqrt(1 - beta2)),
        source=HERE + ": with constant β1, m_t = Σ_j w_j g_j with weights w_j = (1−β1)β1^{t−j} "
        "summing to 1−β1^t ≤ 1, so m_t² ≤ Σ_j w_j g_j² (Cauchy–Schwarz) — Lemma 2's step (a) "
        "drops the (1−β1) of the weights; steps (b)–(d) of Lemma 2 unchanged",
        status="derived here",
        assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_CONSTANT, A_VHAT_GE_V),
        schedules=("constant",)),
    Bound(
        name="tran-phong-4.1",
        title="Tran & Phong Theorem 4.1 (AMSGrad, β1,t = β1λ^{t−1})",
        rhs=d * D ** 2 * G / (2 * alpha * (1 - beta1))
        * (sp.Sum(sp.sqrt(S.t), (S.t, 1, S.t_0)) + sp.sqrt(T))
        + d * D ** 2 * G / (2 * alpha * (1 - beta1) * (1 - lam) ** 2)
        + alpha * sp.sqrt(LOG) * Ng / ((1 - beta1) ** 2 * sp.sqrt(1 - beta2) * (1 - gamma)),
        source=TRAN + ", Theorem 4.1 (case β1,t = β1λ^{t−1}), as formalized in Lean "
        "[lean-adambeyond]; t0 from Lemma 4.3's sufficient condition",
        status="printed", assumptions=COROLLARY1, schedules=("exp-decay",)),
    Bound(
        name="tran-phong-4.1-inv-t",
        title="Tran & Phong Theorem 4.1 (AMSGrad, β1,t = β1/t)",
        rhs=d * D ** 2 * G / (2 * alpha * (1 - beta1))
        * (sp.Sum(sp.sqrt(S.t), (S.t, 1, S.t_0)) + sp.sqrt(T))
        + d * D ** 2 * G * sp.sqrt(T) / (alpha * (1 - beta1))
        + alpha * sp.sqrt(LOG) * Ng / ((1 - beta1) ** 2 * sp.sqrt(1 - beta2) * (1 - gamma)),
        source=TRAN + ", Theorem 4.1 (case β1,t = β1/t: 'the second term becomes "
        "dD∞²G∞√T/(α(1−β1))'), as formalized in Lean [lean-adambeyond]",
        status="printed", assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_INV_T, A_AMSGRAD),
        schedules=("inv-t",)),
    Bound(
        name="adamx-5.1", title="AdamX Theorem 5.1 (Tran & Phong), as formalized",
        rhs=d * D ** 2 * G * sp.sqrt(T) / (2 * alpha * (1 - beta1))
        + d * D ** 2 * G * A / (2 * alpha * (1 - beta1) ** 2)
        + alpha * sp.sqrt(LOG) * Ng / ((1 - beta1) ** 2 * sp.sqrt(1 - beta2) * (1 - gamma)),
        source=TRAN + ", Theorem 5.1, with (1−β1)² in the second term as the Lean "
        "formalization states it [lean-adambeyond]",
        status="corrected", assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_BETA1_T, A_ADAMX)),
    Bound(
        name="adamx-5.1-printed", title="AdamX Theorem 5.1 (Tran & Phong), as printed",
        rhs=d * D ** 2 * G * sp.sqrt(T) / (2 * alpha * (1 - beta1))
        + d * D ** 2 * G * A / (2 * alpha * (1 - beta1))
        + alpha * sp.sqrt(LOG) * Ng / ((1 - beta1) ** 2 * sp.sqrt(1 - beta2) * (1 - gamma)),
        source=TRAN + ", Theorem 5.1 as printed: (1−β1) in the second term, per the Lean "
        "formalization's note; the printed source not read [lean-adambeyond]",
        status="printed", assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_BETA1_T, A_ADAMX)),
    Bound(
        name="adamnc-5-openreview", title="AdamNC Theorem 5: OpenReview submission, as printed",
        rhs=D ** 2 * sp.sqrt(T) * V / (2 * (1 - beta1)) + D ** 2 * Bs / (2 * (1 - beta1))
        + 2 * S.zeta * Ng / (1 - beta1) ** 3,
        source=OPENREVIEW + ", Theorem 5 (V_T = Σ_i √v_{T,i}: AdamNC has no max)",
        status="printed", assumptions=(*BASIC, A_ALPHA_T, A_BETA1_T, A_ADAMNC,
                                       A_ADAMNC_CONDITIONS),
        notes="The first term lacks α (scale-inconsistent)."),
    Bound(
        name="adamnc-5-arxiv", title="AdamNC Theorem 5: arXiv 1904.09237, as transcribed",
        rhs=D ** 2 * sp.sqrt(T) * V / (2 * alpha * (1 - beta1)) + D ** 2 * Bs / (1 - beta1) ** 2
        + 2 * S.zeta * Ng / (1 - beta1) ** 3,
        source=ARXIV + ", Theorem 5 (condition (1) read with α_t in place of α_T, as the "
        "formalization notes)", status="printed",
        assumptions=(*BASIC, A_ALPHA_T, A_BETA1_T, A_ADAMNC, A_ADAMNC_CONDITIONS)),
    Bound(
        name="adamnc-corollary2-openreview",
        title="AdamNC Corollary 2 (β1,t = β1λ^{t−1}, β2,t = 1 − 1/t): OpenReview, as printed",
        rhs=D ** 2 * Ng / (2 * (1 - beta1))
        + beta1 * D ** 2 * G / (2 * (1 - beta1) * (1 - lam) ** 2)
        + 2 * S.zeta * Ng / (1 - beta1) ** 3,
        source=OPENREVIEW + ", Corollary 2 (printed without 'R_T ≤')", status="printed",
        assumptions=(*BASIC, A_ALPHA_T, A_EXP, A_LAMBDA, A_ADAMNC, A_ADAMNC_CONDITIONS),
        schedules=("exp-decay",),
        notes="Lacks α in the first term and d/α in the second (scale-inconsistent)."),
    Bound(
        name="kingma-ba-4.1", title="Kingma & Ba Theorem 4.1 (Adam), as printed",
        rhs=S.D_2 ** 2 * sp.sqrt(T) * V / (2 * alpha * (1 - beta1))
        + alpha * (1 + beta1) * G * Ng
        / ((1 - beta1) * sp.sqrt(1 - beta2) * (1 - S.gamma_KB) ** 2)
        + d * D ** 2 * G * sp.sqrt(1 - beta2) / (2 * alpha * (1 - beta1) * (1 - lam) ** 2),
        source=KINGMA + ", Theorem 4.1: V_T = Σ_i √v̂_{T,i} "
        "with the bias-corrected v̂_T = v_T/(1−β2^T), D_2 the ℓ2 diameter, γ = β1²/√β2",
        status="printed",
        assumptions=(*BASIC, A_GAMMA_KB, A_ALPHA_T, A_EXP, A_LAMBDA, A_KINGMA_BA),
        schedules=("exp-decay",),
        notes="Its proof is known to be flawed (Reddi et al. 2018; Bock et al. 2018 "
              "[reddi2018; bock2018]). Its second "
              "term α G∞ N_T is not invariant under x ↦ kx (it scales like 1/k)."),
    Bound(
        name="constant-beta1-energy",
        title="Constant β1: the data-dependent bound before the energy lemma",
        rhs=D ** 2 * sp.sqrt(T) * V / (2 * alpha) + (1 + beta1) * E / (2 * (1 - beta1))
        + beta1 * d * D * G / (1 - beta1),
        source=HERE + ": g_t = (m_t − β1 m_{t−1})/(1−β1) (after Alacaoglu et al. 2020 "
        "[alacaoglu2020]), projection one-step inequality without (1−β1,t) weights, "
        "Cauchy–Schwarz on ⟨m_{t−1}, x_{t−1} − x_t⟩; chain 'constant-beta1' in symbolic.steps",
        status="derived here",
        assumptions=(*BASIC, A_ALPHA_T, A_CONSTANT, A_AMSGRAD), schedules=("constant",)),
    Bound(
        name="constant-beta1",
        title="Constant β1: O(√(T log T)) regret (data-dependent), derived",
        rhs=D ** 2 * sp.sqrt(T) * V / (2 * alpha)
        + (1 + beta1) * alpha * sp.sqrt(LOG) * Ng / (2 * (1 - gamma) * sp.sqrt(1 - beta2))
        + beta1 * d * D * G / (1 - beta1),
        source=HERE + ": 'constant-beta1-energy' with 'lemma2-constant-beta1'; the shape "
        "follows Alacaoglu et al. 2020 [alacaoglu2020] (their constants not confirmed), "
        "the constants are this toolkit's own",
        status="derived here",
        assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_CONSTANT, A_AMSGRAD), schedules=("constant",)),
    Bound(
        name="constant-beta1-no-log",
        title="Constant β1: O(√T) regret (worst case), derived",
        rhs=D ** 2 * sp.sqrt(T) * V / (2 * alpha)
        + (1 + beta1) * alpha * d * G * (2 * sp.sqrt(T) - 1)
        / (2 * (1 - gamma) * sp.sqrt(1 - beta2))
        + beta1 * d * D * G / (1 - beta1),
        source=HERE + ": 'constant-beta1-energy' with 'lemma2-constant-beta1' where step (d) "
        "uses Σ_j |g_{j,i}|/√j ≤ G∞(2√T − 1) instead of Cauchy–Schwarz",
        status="derived here",
        assumptions=(*BASIC, A_GAMMA, A_ALPHA_T, A_CONSTANT, A_AMSGRAD), schedules=("constant",)),
]

BOUNDS: dict[str, Bound] = {b.name: b for b in _BOUNDS}

#: the printed statements (those a run may refute)
PRINTED: tuple[str, ...] = tuple(b.name for b in _BOUNDS if b.status == "printed")
CONSTANT_BETA1 = BOUNDS["constant-beta1"]
LEMMA2_CONSTANT = BOUNDS["lemma2-constant-beta1"]


def bound_names() -> list[str]:
    return list(BOUNDS)


def get_bound(name: str) -> Bound:
    """The bound called ``name`` (an :class:`~amsgrad_theory.errors.InputError` lists them)."""
    if name not in BOUNDS:
        raise unknown_name("bound", name, bound_names())
    return BOUNDS[name]
