"""The paper, built from the same expressions and data as everything else.

``paper/main.tex`` (in the repository) holds the prose and only ``\\input``s what this module
generates under ``OUT/generated/``; nothing numeric in the paper is typed by hand:

* ``equations.tex``  one macro per derivation of :mod:`amsgrad_theory.symbolic.registry`
  (``\\eqTheoremFourDerived`` …), its LaTeX from the same sympy expression the numeric checks
  evaluate;
* ``table-*.tex``    tables from the reproduce studies' ``summary.json`` (and the variant
  presets): each function ``table_NAME(summaries)`` is pure, so a test can rebuild one table
  from a fresh run and compare it with the file the PDF was built from;
* ``numbers.tex``    macros for the numbers the prose cites (``\\numTPlhs`` …);
* ``figures/``       the studies' PDF figures.

:func:`build` runs ``reproduce all`` (or reuses a folder of its outputs), writes the generated
files and ``main.tex`` into ``OUT`` and, when a LaTeX engine is installed, runs it twice.
Without one it says what to install (:data:`APT_LINE`) and leaves a complete ``.tex`` tree.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .algorithms import VARIANTS
from .errors import InputError
from .plots import write_text
from .reproduce import check_output_folder, run_study
from .symbolic import printing, symbols
from .symbolic.bound import Bound
from .symbolic.registry import registry

#: the Debian packages that hold pdflatex and every LaTeX package main.tex uses
APT_LINE = ("apt-get install texlive-latex-base texlive-latex-recommended "
            "texlive-fonts-recommended")
STUDIES = ("figure1", "theorem1", "tran-phong", "frameworks", "bound", "phase", "claims")


# ------------------------------------------------------------------------------------------
# LaTeX text
# ------------------------------------------------------------------------------------------

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}"}
#: the non-ASCII characters the studies' texts use, as LaTeX (text mode)
_UNICODE = {
    "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "δ": r"$\delta$", "ε": r"$\varepsilon$",
    "ζ": r"$\zeta$", "η": r"$\eta$", "λ": r"$\lambda$", "μ": r"$\mu$", "ν": r"$\nu$",
    "ρ": r"$\rho$", "σ": r"$\sigma$", "τ": r"$\tau$", "ξ": r"$\xi$", "Σ": r"$\Sigma$",
    "Γ": r"$\Gamma$", "Δ": r"$\Delta$", "Π": r"$\Pi$", "θ": r"$\theta$",
    "≤": r"$\leq$", "≥": r"$\geq$", "≠": r"$\neq$", "≈": r"$\approx$", "±": r"$\pm$",
    "×": r"$\times$", "·": r"$\cdot$", "√": r"$\surd$", "∞": r"$\infty$", "→": r"$\to$",
    "←": r"$\leftarrow$", "⇔": r"$\Leftrightarrow$", "∈": r"$\in$", "∝": r"$\propto$",
    "−": "-", "–": "--", "—": "---", "‖": r"$\|$", "…": r"\ldots{}", "⪰": r"$\succeq$",
    "²": r"$^2$", "³": r"$^3$", "⁻": r"$^-$", "¹": r"$^1$", "⁴": r"$^4$", "⁵": r"$^5$",
    "⁶": r"$^6$", "⁷": r"$^7$", "⁸": r"$^8$", "⁹": r"$^9$", "⁰": r"$^0$",
    "₁": r"$_1$", "₂": r"$_2$", "ₜ": r"$_t$", "∑": r"$\sum$",
    "“": "``", "”": "''", "‘": "`", "’": "'", "é": r"\'e", "ü": r'\"u', "ö": r'\"o',
    "∗": "*", "§": r"\S{}", "≡": r"$\equiv$", "∼": r"$\sim$", "⌈": r"$\lceil$",
    "⌉": r"$\rceil$", "⌊": r"$\lfloor$", "⌋": r"$\rfloor$", "∀": r"$\forall$",
    "∃": r"$\exists$", "°": r"$^\circ$", "µ": r"$\mu$", "∂": r"$\partial$", "∇": r"$\nabla$",
    "⟨": r"$\langle$", "⟩": r"$\rangle$", "▸": r"$\triangleright$", "✓": "yes", "✗": "no",
}


#: Greek letters as maths commands (the records write β1, α_t, η̂_t in plain text)
_GREEK = {"α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon",
          "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu",
          "ν": r"\nu", "ξ": r"\xi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau",
          "Γ": r"\Gamma", "Δ": r"\Delta", "Π": r"\Pi", "Σ": r"\Sigma"}
#: combining accents (after their base letter) as maths accents: v̂, x̄, x̃
_ACCENTS = {"\u0302": "hat", "\u0304": "bar", "\u0303": "tilde"}


def tex(text: Any) -> str:
    """Plain text (numbers, study strings with Greek letters and ≤) as LaTeX text.

    A character with no translation raises: the paper must not silently lose a symbol.
    """
    out = []
    text = str(text)
    chars = list(text)
    for k, ch in enumerate(chars):
        if ch in _ACCENTS:                 # a combining accent: handled with its base
            continue
        accent = _ACCENTS.get(chars[k + 1]) if k + 1 < len(chars) else None
        if accent and ((ch.isalpha() and ch.isascii()) or ch in _GREEK):
            out.append(f"$\\{accent}{{{_GREEK.get(ch, ch)}}}$")
        elif ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        else:
            raise ValueError(f"no LaTeX for {ch!r} (U+{ord(ch):04X}) in {text!r}: add it to "
                             f"amsgrad_theory.paper._UNICODE")
    return _join_maths("".join(out))


def _join_maths(text: str) -> str:
    """Two adjacent maths spans as one (``$\\langle$$g$`` → ``$\\langle g$``: the space keeps
    a control word apart from the letter after it)."""
    return re.sub(r"(?<!\\)\$\$", " ", text)


def tt(text: Any) -> str:
    """Plain text (a name, a command) in typewriter type; ``--`` stays two hyphens (the T1
    typewriter font would set it as one dash: ``--sidecar`` must read as typed)."""
    return r"\texttt{" + tex(text).replace("--", "-{}-") + "}"


def num(value: Any, digits: int = 4) -> str:
    """A number as LaTeX: ``digits`` significant digits, powers of ten as ×10^k, '--' for none."""
    if value is None or value == "":
        return "--"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", r"\,")
    try:
        x = float(value)
    except (TypeError, ValueError):
        return tex(value)
    if x != x:
        return "--"
    if x in (float("inf"), float("-inf")):
        return r"$\infty$" if x > 0 else r"$-\infty$"
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"${mant}\\times 10^{{{int(exp)}}}$"
    return text


def macro_name(name: str, prefix: str = "eq") -> str:
    """``theorem4-derived`` → ``eqTheoremFourDerived`` (LaTeX macro names are letters only)."""
    digits = "Zero One Two Three Four Five Six Seven Eight Nine".split()
    parts = re.split(r"[^A-Za-z0-9]+", name)
    out = prefix
    for part in parts:
        for chunk in re.findall(r"[A-Za-z]+|[0-9]", part):
            out += digits[int(chunk)] if chunk.isdigit() else chunk[:1].upper() + chunk[1:]
    return out


def tabular(columns: list[tuple[str, str]], rows: list[list[str]], caption: str,
            label: str, size: str = r"\small", wide: bool = False) -> str:
    """A booktabs table: ``columns`` = [(header, alignment)], ``rows`` already LaTeX.

    The short caption (what hyperref stores with the label) is the label itself: a caption
    with maths in it would read back differently from the .aux under breqn, whose ``^`` and
    ``_`` are active, and LaTeX would ask for a rerun on every pass.

    ``wide``: across both columns of the two-column page (``table*``), for tables whose rows
    do not fit one column at their natural size.
    """
    spec = "@{}" + "".join(a for _, a in columns) + "@{}"
    head = " & ".join(h for h, _ in columns)
    body = "\n".join(" & ".join(r) + r" \\" for r in rows)
    env = "table*" if wide else "table"
    return (f"% generated by amsgrad_theory.paper — do not edit\n"
            f"\\begin{{{env}}}[tbp]\n\\centering\n{size}\n"
            f"\\caption[{tex(label)}]{{{caption}}}\\label{{{label}}}\n"
            f"\\begin{{tabular}}{{{spec}}}\n\\toprule\n{head} \\\\\n\\midrule\n{body}\n"
            f"\\bottomrule\n\\end{{tabular}}\n\\end{{{env}}}\n")


# ------------------------------------------------------------------------------------------
# generated content: equations, tables, numbers
# ------------------------------------------------------------------------------------------

def equations() -> str:
    """One macro per derivation: ``\\eqNAME`` (the statement in the paper's notation,
    :mod:`amsgrad_theory.symbolic.printing`), ``\\titleNAME`` (its title)."""
    lines = ["% generated by amsgrad_theory.paper from amsgrad_theory.symbolic.registry"]
    seen: dict[str, str] = {}
    for name, item in registry().items():
        macro = macro_name(name)
        if macro in seen:
            raise ValueError(f"macro {macro} for both {seen[macro]} and {name}")
        seen[macro] = name
        lines.append(f"\\newcommand{{\\{macro}}}{{{printing.statement(item)}}}")
        title = getattr(item, "title", None) or name
        lines.append(f"\\newcommand{{\\{macro_name(name, 'title')}}}{{{tex(title)}}}")
    return "\n".join(lines) + "\n"


def table_variants(summaries: Mapping[str, dict] | None = None) -> str:
    """The presets: how each variant computes its moments, the max and the step."""
    rows = []
    for name, v in VARIANTS.items():
        eps = v.defaults.get("eps")
        eps_text = "--" if not eps else num(float(eps), 2) + (
            r" in $\sqrt{\cdot}$" if v.eps_root_inside else "")
        rows.append([tt(name), tex(v.max_rule),
                     tex("m" if v.correct_m else "--") + ", " + tex(v.correct_v),
                     tex(v.step_form), eps_text, tex(v.beta1_schedule),
                     tex(v.alpha_schedule)])
    return tabular([("variant", "l"), ("max rule", "l"), ("bias correction", "l"),
                    ("step form", "l"), (r"default $\varepsilon$", "l"),
                    (r"$\beta_{1,t}$", "l"), (r"$\alpha_t$", "l")], rows,
                   "The variants, as data (\\texttt{amsgrad\\_theory.algorithms}); each is one "
                   "preset of the single update rule, cited in its docstring.", "tab:variants",
                   size=r"\footnotesize", wide=True)


def table_theorem1(summaries: Mapping[str, dict]) -> str:
    s = summaries["theorem1"]
    rows = [[num(r["C"]), num(r["bound"]), num(r["adam_average_regret_T"]), num(r["adam_x_T"]),
             num(r["amsgrad_average_regret_T"]), num(r["amsgrad_x_T"])] for r in s["results"]]
    T = s["parameters"]["steps"]
    return tabular([("$C$", "r"), ("$(2C-4)/3$", "r"), ("Adam $R_T/T$", "r"),
                    ("Adam $x_T$", "r"), ("AMSGrad $R_T/T$", "r"), ("AMSGrad $x_T$", "r")], rows,
                   f"Theorem 1 family: $\\beta_1 = 0$, $\\beta_2 = 1/(1+C^2)$, "
                   f"$\\alpha_t = {tex(s['parameters']['alpha'])}/\\sqrt{{t}}$, $T = {num(T)}$.",
                   "tab:theorem1", wide=True)


def table_figure1(summaries: Mapping[str, dict]) -> str:
    s = summaries["figure1"]
    rows = []
    for r in s["results"]["online"]:
        step = (f"${tex(r['alpha'])}/\\sqrt{{t}}$" if r["schedule"] == "inv-sqrt"
                else f"${tex(r['alpha'])}$")
        rows.append([tex(r["algorithm"]), step, num(r["T"]), num(r["x_T"]),
                     num(r["average_regret_T"])])
    return tabular([("algorithm", "l"), (r"$\alpha_t$", "l"), ("$T$", "r"), ("$x_T$", "r"),
                    ("$R_T/T$", "r")], rows,
                   "Figure 1, online: the final iterate and average regret of every run "
                   "(the optimum is $x^* = -1$).", "tab:figure1")


def table_bounds(summaries: Mapping[str, dict]) -> str:
    s = summaries["bound"]
    entries = sorted(s["bounds"], key=lambda e: (-(e["max_ratio"] or 0), e["bound"]))
    rows = [[tt(e["bound"]), tex(e["status"]), num(e["runs"]),
             num(e["violations"]), num(e["max_ratio"], 3)] for e in entries]
    return tabular([("bound", "l"), ("status", "l"), ("runs", "r"), ("violated on", "r"),
                    (r"max $\mathrm{lhs}/\mathrm{bound}$", "r")], rows,
                   "Every bound on every run whose assumptions it covers: the largest ratio of "
                   "the realized left-hand side to the bound over all checkpoints "
                   "($> 1$: violated).", "tab:bounds", size=r"\footnotesize", wide=True)


def table_tran_phong(summaries: Mapping[str, dict]) -> str:
    s = summaries["tran-phong"]
    def show(value):          # a per-step link: its value at t = T
        return num(value[-1] if isinstance(value, list) else value, 6)

    rows = [[tt(st["name"]), "yes" if st["valid"] else "no", show(st["lhs"]), show(st["rhs"]),
             "holds" if st["holds"] else r"\textbf{fails}"] for st in s["example"]["steps"]]
    return tabular([("link", "l"), ("valid in general", "l"), ("lhs", "r"), ("rhs", "r"),
                    ("on Example 3.2", "l")], rows,
                   "Each link of the proof of Theorem 4 evaluated on Tran \\& Phong's Example "
                   "3.2 ($T = 2$; per-step links at $t = T$).", "tab:tranphong",
                   size=r"\footnotesize", wide=True)


def table_frameworks(summaries: Mapping[str, dict]) -> str:
    s = summaries["frameworks"]
    rows = []
    for r in s["results"]["effective_steps"]:
        rows.append([prose(r["sequence"]), tt(r["variant"]),
                     num(r["eta_hat_growth"]), num(r["eta_hat_first_increase"]),
                     num(r["eta_growth"]), num(r["eta_first_increase"])])
    return tabular([("gradients", "l"), ("variant", "l"), (r"$\max \hat\eta_t/\min \hat\eta$",
                                                         "r"),
                    (r"first $\hat\eta$ rise", "r"), (r"$\max \eta_t/\min \eta$", "r"),
                    (r"first $\eta$ rise", "r")], rows,
                   "Effective steps of each implementation on the same gradients: growth 1 "
                   "means the step never increases.", "tab:frameworks", size=r"\footnotesize",
                   wide=True)


def table_claims(summaries: Mapping[str, dict]) -> str:
    s = summaries["claims"]
    rows = [[r"\parbox[t]{0.34\linewidth}{\raggedright " + prose(r["claim"]) + "}",
             r"\parbox[t]{0.56\linewidth}{\raggedright " + prose(r["verdict"]) + "}"]
            for r in s["results"]]
    return tabular([("the seed article's claim", "l"), ("verdict here", "l")], rows,
                   "The seed article's claims, each with the evidence in the claims study's "
                   "sidecar.", "tab:claims", size=r"\footnotesize", wide=True)


def table_figures(summaries: Mapping[str, dict]) -> str:
    """Every figure with its records: how many, and their verdicts."""
    rows = []
    for name in STUDIES:
        for f in summaries[name]["figures"]:
            v = f.get("verdicts", {})
            rows.append([tt(f["stem"]), num(f["records"]),
                         num(v.get("pass", 0)), num(v.get("fail", 0)),
                         num(v.get("undecided", 0))])
    return tabular([("figure", "l"), ("records", "r"), ("pass", "r"), ("fail", "r"),
                    ("undecided", "r")], rows,
                   "Every figure's sidecar: the check records behind it, re-established by "
                   + tt("amsgrad-theory verify --sidecar") + ". A record of a claims figure states "
                   "the seed article's claim: there, fail means the claim is refuted.",
                   "tab:figures", size=r"\footnotesize")


TABLES: dict[str, Callable[[Mapping[str, dict]], str]] = {
    "variants": table_variants, "theorem1": table_theorem1, "figure1": table_figure1,
    "bounds": table_bounds, "tran-phong": table_tran_phong, "frameworks": table_frameworks,
    "claims": table_claims, "figures": table_figures,
}


def numbers(summaries: Mapping[str, dict]) -> dict[str, str]:
    """The numbers the prose cites, as macro name → LaTeX."""
    out: dict[str, str] = {}
    tp = summaries["tran-phong"]
    rep = next(s for s in tp["example"]["steps"] if s["name"] == "theorem4.paper-replacement")
    out["numTPlhs"] = num(rep["lhs"], 5)
    out["numTPrhs"] = num(rep["rhs"], 5)
    along = tp["replacement_along_T"]
    fails = [a["T"] for a in along if not a["holds"]]
    holds = [a["T"] for a in along if a["holds"]]
    out["numTPfailsUpTo"] = num(max(fails)) if fails else "--"
    out["numTPholdsFrom"] = num(min(holds)) if holds else "--"
    if fails and holds:
        out["textTPalong"] = (f"keeps failing up to $T = {num(max(fails))}$ and holds again "
                              f"from $T = {num(min(holds))}$ on")
    elif fails:
        out["textTPalong"] = (f"fails at every horizon checked, up to $T = {num(max(fails))}$")
    else:
        out["textTPalong"] = "holds at every longer horizon checked"
    shrunk: dict[str, Any] = next(
        (s for s in tp["searches"] if s["link"] == "theorem4.paper-replacement"), {})
    out["numTPshrunkSteps"] = num(shrunk.get("witness_steps"))
    out["numTPsearchCases"] = num(tp["parameters"]["search_examples"])
    b = summaries["bound"]
    by = {e["bound"]: e for e in b["bounds"]}
    for name in ("kingma-ba-4.1", "theorem4-openreview", "theorem4-derived", "constant-beta1"):
        out[macro_name(name, "numRatio")] = num(by.get(name, {}).get("max_ratio"), 3)
    exps = [r["exponent"] for r in b["runs"] if r.get("exponent") is not None]
    out["numExponentMin"] = num(min(exps), 3) if exps else "--"
    out["numExponentMax"] = num(max(exps), 3) if exps else "--"
    out["numBoundSteps"] = num(b["parameters"]["steps"])
    out["numPrintedRefuted"] = num(len(b["printed_refuted"]))
    out["numValidViolated"] = num(len(b["valid_bounds_violated"]))
    t1 = summaries["theorem1"]
    out["numThmOneSteps"] = num(t1["parameters"]["steps"])
    fw = summaries["frameworks"]["results"]
    ident = fw["torch_bit_identical_steps"]
    key = next((k for k in ident if k.startswith("spike then small")), None)
    out["numTorchIdentical"] = num(ident[key]) if key else "--"
    torch_growth = [r["eta_hat_growth"] for r in fw["effective_steps"]
                    if r["variant"] == "amsgrad-pytorch" and r["eta_hat_growth"] is not None]
    out["numTorchStepGrowth"] = num(max(torch_growth), 3) if torch_growth else "--"
    rho = fw["rho"][0]
    out["numRhoMinT"] = num(rho["t_min"])
    out["numRhoMin"] = num(rho["rho_min"], 4)
    out["numRhoBetaOne"] = tex(rho["beta1"])
    out["numRhoBetaTwo"] = tex(rho["beta2"])
    ph = summaries["phase"]
    out["numPhaseOutside"] = num(len(ph.get("adam_fails_outside_condition", [])))
    out["numPhaseAmsgradFails"] = num(len(ph.get("amsgrad_fails", [])))
    f1s = summaries["figure1"]
    f1 = f1s["results"]["online"]
    alpha = f1s["parameters"]["online_alpha"]
    rec = {r["algorithm"]: r for r in f1 if r["schedule"] == "inv-sqrt" and r["alpha"] == alpha}
    out["numFigOneAlpha"] = tex(alpha)
    out["numFigOneAdamX"] = num(rec["adam"]["x_T"], 4)
    out["numFigOneAdamAvg"] = num(rec["adam"]["average_regret_T"], 3)
    out["numFigOneAmsX"] = num(rec["amsgrad"]["x_T"], 4)
    out["numFigOneAmsAvg"] = num(rec["amsgrad"]["average_regret_T"], 3)
    out["numFigOneSteps"] = num(rec["adam"]["T"])
    out["numFigOneAdamMinAvg"] = num(min(r["average_regret_T"] for r in f1
                                         if r["algorithm"] == "adam"), 3)
    claims = summaries["claims"]["results"]
    out["numClaims"] = num(len(claims))
    out["numClaimsRefuted"] = num(sum("refuted" in str(r["verdict"]) for r in claims))
    regret = {name for name, item in registry().items()
              if isinstance(item, Bound) and item.lhs == symbols.R_T}
    valid = [e["max_ratio"] for e in b["bounds"] if e["bound"] in regret
             and e.get("status") != "printed" and e.get("max_ratio") is not None]
    out["numValidMaxRatio"] = num(max(valid), 3) if valid else "--"
    printed = [e["max_ratio"] for e in b["bounds"]
               if e.get("status") == "printed" and e.get("max_ratio") is not None]
    out["numPrintedMaxRatio"] = num(max(printed), 3) if printed else "--"
    total = sum(f["records"] for name in STUDIES for f in summaries[name]["figures"])
    out["numRecords"] = num(total)
    out["numFigures"] = num(sum(len(summaries[n]["figures"]) for n in STUDIES))
    out["numSize"] = tex(summaries["figure1"]["size"])
    return out


def numbers_tex(summaries: Mapping[str, dict]) -> str:
    lines = ["% generated by amsgrad_theory.paper from the reproduce summaries"]
    lines += [f"\\newcommand{{\\{k}}}{{{v}}}" for k, v in numbers(summaries).items()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# prose from the records: captions, with the records' plain-text maths set as maths
# ------------------------------------------------------------------------------------------

_LETTER = "A-Za-z" + "".join(_GREEK)
#: a subscripted name (x_t, R_T, v̂_{t,i}, η̂_t,i) or a Greek letter with a numeral (β1, β1,t),
#: either with a power (β2^t, β1^(t−1)), or a root of a name or numeral (√t, √2)
_MATH_TOKEN = re.compile(
    rf"(?<![{_LETTER}0-9_\\])(?P<base>[{_LETTER}])(?P<accent>[{''.join(_ACCENTS)}]?)"
    rf"(?:_(?P<sub>\{{[^{{}}]*\}}|[A-Za-z0-9]+(?:[−+][0-9]+)?(?:,[A-Za-z0-9]+)?)"
    rf"|(?<=[{''.join(_GREEK)}])(?P<num>\d+(?:,[a-z])?)(?![0-9A-Za-z.]))"
    rf"(?:\^(?P<sup>[A-Za-z0-9]+|\([A-Za-z0-9−+ ]+\)))?"
    rf"|√(?P<root>[A-Za-z0-9]+)")


def _math_text(text: str) -> str:
    """A short plain-text subscript or name (t, {t,i}, t−1) as maths."""
    out = "".join(_GREEK.get(ch, "") + " " if ch in _GREEK else ch for ch in text)
    return out.replace("−", "-").strip()


def _math_token(m: re.Match) -> str:
    sub = m.group("sub") or ""
    if any(ord(ch) > 127 and ch not in _GREEK and ch != "−" for ch in sub) or "^" in sub:
        return tex(m.group(0))           # a subscript with more maths in it: left as text
    if m.group("root"):
        return rf"$\sqrt{{{m.group('root')}}}$"
    base = _GREEK.get(m.group("base"), m.group("base"))
    if m.group("accent"):
        base = rf"\{_ACCENTS[m.group('accent')]}{{{base}}}"
    sub = m.group("sub") or m.group("num")
    if sub.startswith("{"):
        sub = sub[1:-1]
    sup = m.group("sup")
    power = f"^{{{_math_text(sup.strip('()'))}}}" if sup else ""
    return f"${base}_{{{_math_text(sub)}}}{power}$"


def prose(text: Any) -> str:
    r"""Plain text from a record or a sidecar as LaTeX, its subscripted names set as maths.

    ``"x_t ≥ 0.9 with β1 = 0.9, α_t = 0.5/√t"`` → ``$x_{t}$ $\geq$ 0.9 with $\beta_{1}$ =
    0.9, $\alpha_{t}$ = 0.5/$\sqrt{t}$``; everything else as :func:`tex` writes it.
    """
    text = str(text)
    out, pos = [], 0
    for m in _MATH_TOKEN.finditer(text):
        out.append(tex(text[pos:m.start()]))
        out.append(_math_token(m))
        pos = m.end()
    out.append(tex(text[pos:]))
    return _join_maths("".join(out))


def shorten(text: str, limit: int = 110) -> str:
    """``text`` cut at a word boundary before ``limit`` characters, with an ellipsis."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + " …"


#: how each check method establishes a record, as the caption says it
METHOD_WORDS = {"float": "floating-point runs", "certified": "certified in ball arithmetic",
                "sampled": "sampled (Hypothesis searches or sweeps)",
                "symbolic": "proved by sympy", "structural": "structural (code and state)"}


def sidecar(reproduce_dir: Path, study: str, stem: str) -> dict:
    """The sealed sidecar of figure ``stem`` of ``study`` (its records and caption)."""
    path = reproduce_dir / study / f"{stem}.json"
    if not path.is_file():
        raise InputError("reuse", str(reproduce_dir), f"no sidecar {study}/{stem}.json (run: "
                         f"amsgrad-theory reproduce all --out {reproduce_dir})")
    return json.loads(path.read_text(encoding="utf-8"))


def caption_text(entry: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    """What the figure shows, in plain text: the sidecar's ``caption`` (top level, or the
    figure's parameters), else the summary's, else the figure's title."""
    figure = (record.get("parameters") or {}).get("figure") or {}
    text = (record.get("caption") or figure.get("caption") or entry.get("caption")
            or record.get("title") or entry.get("title") or entry["stem"])
    # the sentences on the checks are generated from the records (figure_caption): a
    # caption that carries its own copy keeps what it says the figure shows
    kept = [part for part in re.split(r"(?<=\.)\s+(?=[A-Z])", str(text).strip())
            if not part.startswith(_CHECK_SENTENCES)]
    return " ".join(kept) or str(text)


#: how a caption's own sentences on its checks begin (replaced by the generated ones)
_CHECK_SENTENCES = ("Checked by", "Re-check", "Recheck", "Verify", "Sidecar", "Undecided")


def _quoted(records: list, verdict: str) -> str:
    """The claim a caption quotes for ``verdict``: the shortest (the most readable)."""
    return min((r["claim"] for r in records if r["verdict"] == verdict), key=len)


def figure_caption(study: str, entry: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    """The caption of a figure, generated from its sidecar: what it shows, how many records
    back it, how each was established, their verdicts (with the claims that do not pass)
    and the command that re-checks them."""
    records = record.get("records", [])
    verdicts: dict[str, int] = {}
    methods: dict[str, int] = {}
    for r in records:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
        methods[r["method"]] = methods.get(r["method"], 0) + 1
    title = prose(record.get("title") or entry.get("title") or entry["stem"])
    shows = prose(caption_text(entry, record)).rstrip(".")
    how = ", ".join(f"{n} {METHOD_WORDS.get(m, m)}" for m, n in
                    sorted(methods.items(), key=lambda kv: -kv[1]))
    counts = ", ".join(f"{verdicts[v]} {v}" for v in ("pass", "fail", "undecided")
                       if verdicts.get(v))
    text = (rf"\textbf{{{title}.}} {shows}. Checked by {len(records)} "
            f"record{'s' if len(records) != 1 else ''} ({how}): {counts}.")
    if study == "claims" and verdicts.get("fail"):
        text += (" A record here states the seed article's claim, so a failing one refutes "
                 "it")
        text += ", e.g.\\ ``" + prose(shorten(_quoted(records, "fail"))) + "''."
    elif verdicts.get("fail"):
        text += " Failing: ``" + prose(shorten(_quoted(records, "fail"))) + "''."
    if verdicts.get("undecided"):
        undecided = [r for r in records if r["verdict"] == "undecided"]
        text += (" Undecided (within the rounding-error bound, or out of reach): ``"
                 + prose(shorten(_quoted(records, "undecided"))) + "''"
                 + (f" and {len(undecided) - 1} more." if len(undecided) > 1 else "."))
    recheck = f"amsgrad-theory verify --sidecar {study}/{entry['stem']}.json"
    text += " Re-check: " + tt(recheck) + "."
    return text


#: the two-column page of main.tex, in inches (geometry: 7 in of text, 0.3 in between
#: columns): a figure up to a column wide sits in one column at 100 %, one up to the text
#: width across both, a wider one (drawn for screens, not for this page) is scaled down
COLUMN_WIDTH_IN = 3.35
TEXT_WIDTH_IN = 7.0


def pdf_size(path: Path) -> tuple[float, float] | None:
    """Width and height in inches of the first page of a PDF (its ``/MediaBox``)."""
    m = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]",
                  path.read_bytes())
    if not m:
        return None
    x0, y0, x1, y1 = (float(v) for v in m.groups())
    return (x1 - x0) / 72, (y1 - y0) / 72


def figure_tex(study: str, entry: Mapping[str, Any], record: Mapping[str, Any],
               size: tuple[float, float] | None) -> tuple[str, str | None]:
    """The float of one figure (``figure`` in a column or ``figure*`` across the page, at its
    natural size) and, when it is wider than the page and must be scaled, why."""
    stem = entry["stem"]
    width = size[0] if size else None
    note = None
    if width is not None and width <= COLUMN_WIDTH_IN + 0.01:
        env, graphic = "figure", rf"\includegraphics{{figures/{stem}.pdf}}"
    elif width is not None and width <= TEXT_WIDTH_IN + 0.01:
        env, graphic = "figure*", rf"\includegraphics{{figures/{stem}.pdf}}"
    else:
        env, graphic = "figure*", rf"\includegraphics[width=\textwidth]{{figures/{stem}.pdf}}"
        note = (f"{stem}.pdf is {width:.1f} in wide, wider than the page ({TEXT_WIDTH_IN} in): "
                f"scaled to the text width, its text shrinks (draw the figures with "
                f"style='paper')" if width else f"{stem}.pdf: no page size found; scaled to "
                f"the text width")
    body = (f"% generated by amsgrad_theory.paper from {study}/{stem}.json — do not edit\n"
            f"\\begin{{{env}}}[tbp]\n\\centering\n{graphic}\n"
            f"\\caption[{tex(stem)}]{{{figure_caption(study, entry, record)}}}\n"
            f"\\label{{fig:{stem}}}\n\\end{{{env}}}\n")
    return body, note


# ------------------------------------------------------------------------------------------
# title, author and PDF metadata
# ------------------------------------------------------------------------------------------

#: what paper/paper.toml may set, and the defaults when it does not
DEFAULT_CONFIG = {"title": "AMSGrad, checked: its bounds, the flawed proof step, and what "
                           "implementations do",
                  "author": "Anonymous", "subject": "", "keywords": []}


def load_config(source: Path, *, title: str | None = None,
                author: str | None = None) -> dict[str, Any]:
    """The paper's title, author, subject and keywords: ``source/paper.toml`` over
    :data:`DEFAULT_CONFIG`, then ``title``/``author`` (the command's flags) over both."""
    config: dict[str, Any] = dict(DEFAULT_CONFIG)
    path = source / "paper.toml"
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError("source", str(path), f"not valid TOML: {exc}") from None
        unknown = sorted(set(data) - set(DEFAULT_CONFIG))
        if unknown:
            raise InputError("source", str(path), "unknown keys " + ", ".join(unknown)
                             + " (known: " + ", ".join(DEFAULT_CONFIG) + ")")
        config.update(data)
    for name, value in (("title", title), ("author", author)):
        if value is not None:
            if not value.strip():
                raise InputError(name, value, "must not be empty")
            config[name] = value
    if isinstance(config["author"], list):
        config["author"] = " and ".join(config["author"])
    return config


def pdf_string(text: str) -> str:
    """Text for a PDF info field (hyperref): specials escaped, Unicode kept as it is."""
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def metadata_tex(config: Mapping[str, Any]) -> str:
    """``\\papertitle``, ``\\paperauthor`` and the PDF's title/author/subject/keywords."""
    authors = [a.strip() for a in str(config["author"]).split(" and ")]
    keywords = config.get("keywords") or []
    names = r" \and ".join(tex(a) for a in authors)
    return ("% generated by amsgrad_theory.paper from paper.toml and the command's flags\n"
            f"\\newcommand{{\\papertitle}}{{{tex(config['title'])}}}\n"
            f"\\newcommand{{\\paperauthor}}{{{names}}}\n"
            "\\hypersetup{\n"
            f"  pdftitle={{{pdf_string(config['title'])}}},\n"
            f"  pdfauthor={{{pdf_string(', '.join(authors))}}},\n"
            f"  pdfsubject={{{pdf_string(config.get('subject') or '')}}},\n"
            f"  pdfkeywords={{{pdf_string(', '.join(keywords))}}},\n"
            "  pdfcreator={amsgrad-theory paper}}\n")


# ------------------------------------------------------------------------------------------
# the build
# ------------------------------------------------------------------------------------------

def source_folder(source: str | Path | None = None) -> Path:
    """The folder holding ``main.tex``: ``source``, else ``paper/`` of this checkout."""
    path = Path(source) if source else Path(__file__).resolve().parents[1] / "paper"
    if not (path / "main.tex").is_file():
        raise InputError("source", str(path), "no main.tex there: the paper's source ships with "
                         "the repository (run from a checkout or pass --source DIR)")
    return path


def load_summaries(folder: str | Path) -> dict[str, dict]:
    """The summary.json of every study under ``folder`` (the output of ``reproduce all``)."""
    folder = Path(folder)
    out, missing = {}, []
    for name in STUDIES:
        path = folder / name / "summary.json"
        if not path.is_file():
            missing.append(name)
            continue
        out[name] = json.loads(path.read_text(encoding="utf-8"))
    if missing:
        raise InputError("reuse", str(folder), "missing the outputs of " + ", ".join(missing)
                         + " (run: amsgrad-theory reproduce all --out " + str(folder) + ")")
    return out


def generate(out: Path, summaries: Mapping[str, dict], reproduce_dir: Path,
             config: Mapping[str, Any] | None = None) -> tuple[list[Path], list[str]]:
    """Write ``generated/`` (metadata, equations, tables, numbers, one float per figure) and
    ``figures/`` under ``out``. Returns the files written and notes on scaled figures."""
    gen = out / "generated"
    figs = out / "figures"
    gen.mkdir(parents=True, exist_ok=True)
    figs.mkdir(parents=True, exist_ok=True)
    written = [write_text(gen / "metadata.tex", metadata_tex(config or DEFAULT_CONFIG)),
               write_text(gen / "equations.tex", equations()),
               write_text(gen / "numbers.tex", numbers_tex(summaries))]
    for name, fn in TABLES.items():
        written.append(write_text(gen / f"table-{name}.tex", fn(summaries)))
    notes = []
    for name in STUDIES:
        for entry in summaries[name]["figures"]:
            src = reproduce_dir / name / f"{entry['stem']}.pdf"
            if not src.is_file():
                raise InputError("reuse", str(reproduce_dir), f"no figure {name}/{src.name}")
            dst = figs / src.name
            shutil.copyfile(src, dst)
            written.append(dst)
            body, note = figure_tex(name, entry, sidecar(reproduce_dir, name, entry["stem"]),
                                    pdf_size(src))
            written.append(write_text(gen / f"figure-{entry['stem']}.tex", body))
            if note:
                notes.append(note)
    return written, notes


def run_studies(out: Path, size: str, quiet: bool) -> None:
    """``reproduce all`` into ``out``, its figures drawn for a paper where the installed
    reproduce package takes a style (a column or a page wide, text at the body size)."""
    if "style" in inspect.signature(run_study).parameters:
        run_study("all", out, size=size, quiet=quiet, style="paper")
    else:
        run_study("all", out, size=size, quiet=quiet)


#: the LaTeX warnings a clean build must not have: every LaTeX, package and class warning,
#: and an overfull box wider than OVERFULL_PT (a hair over the text edge is invisible)
OVERFULL_PT = 1.0
_WARNING = re.compile(r"^(?:LaTeX|Package [\w-]+|Class [\w-]+) Warning: .*?(?=\n\n|\n[^ (]|\Z)",
                      re.M | re.S)
_OVERFULL = re.compile(r"^Overfull \\[hv]box \((?P<pt>[\d.]+)pt too (?:wide|high)\).*$", re.M)


def log_warnings(log: str, bibtex_log: str = "") -> list[str]:
    """The warnings of a LaTeX log (and a BibTeX log), one line each."""
    out = [" ".join(m.group(0).split()) for m in _WARNING.finditer(log)]
    out += [m.group(0) for m in _OVERFULL.finditer(log) if float(m.group("pt")) > OVERFULL_PT]
    out += [line.strip() for line in bibtex_log.splitlines() if line.startswith("Warning--")]
    return out


def _latex(exe: str, root: Path) -> str:
    run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
                         cwd=root, capture_output=True, text=True, errors="replace",
                         timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"{exe} failed on {root / 'main.tex'}:\n{run.stdout[-3000:]}")
    return (root / "main.log").read_text(encoding="utf-8", errors="replace")


def compile_pdf(root: Path, exe: str) -> dict[str, Any]:
    """pdflatex, BibTeX when the text cites, then pdflatex until the cross-references settle
    (``main.aux`` unchanged and no "Rerun" request; at most 5 passes). Returns the passes,
    whether BibTeX ran and the last pass's warnings."""
    for stale in ("main.aux", "main.bbl", "main.blg", "main.out", "main.toc"):
        (root / stale).unlink(missing_ok=True)
    log = _latex(exe, root)
    passes, bibtex_log, bibtex = 1, "", None
    aux = root / "main.aux"
    if r"\citation" in aux.read_text(errors="replace"):
        bibtex = shutil.which("bibtex")
        if not bibtex:
            raise RuntimeError("the paper cites sources but bibtex is not installed (it comes "
                               "with " + APT_LINE.split()[2] + ")")
        run = subprocess.run([bibtex, "main"], cwd=root, capture_output=True, text=True,
                             errors="replace", timeout=120)
        bibtex_log = (root / "main.blg").read_text(errors="replace") if (
            root / "main.blg").exists() else run.stdout
        if run.returncode > 1:                    # 1: warnings only
            raise RuntimeError(f"bibtex failed on {root / 'main.aux'}:\n{run.stdout[-3000:]}")
    previous = aux.read_bytes()
    while passes < 5:
        log = _latex(exe, root)
        passes += 1
        current = aux.read_bytes()
        if current == previous and "Rerun to get" not in log and "may have changed" not in log:
            break
        previous = current
    return {"passes": passes, "bibtex": bibtex is not None,
            "latex_warnings": log_warnings(log, bibtex_log)}


def build(out: str | Path, *, size: str = "small", reuse: str | Path | None = None,
          source: str | Path | None = None, engine: str | None = "auto",
          quiet: bool = False, title: str | None = None, author: str | None = None) -> dict:
    """Regenerate the paper under ``out`` and build its PDF when a LaTeX engine is installed.

    ``reuse``: a folder holding ``reproduce all`` outputs (else they are produced under
    ``out/reproduce`` at ``size``, figures in the paper style). ``engine``: ``"auto"``
    (pdflatex on PATH), a command, or None (write the .tex only). ``title``/``author``: over
    ``paper.toml``'s. Returns what was done: paths, the engine, the PDF or the reason there
    is none, the passes and every warning of the last pass (``latex_warnings``) and the
    figures that had to be scaled (``figure_notes``).
    """
    src = source_folder(source)
    config = load_config(src, title=title, author=author)
    root = check_output_folder(out)
    if reuse is not None:
        reproduce_dir = Path(reuse)
        summaries = load_summaries(reproduce_dir)
    else:
        reproduce_dir = root / "reproduce"
        run_studies(reproduce_dir, size, quiet)
        summaries = load_summaries(reproduce_dir)
    written, notes = generate(root, summaries, reproduce_dir, config)
    for item in src.iterdir():
        if item.suffix in (".tex", ".bib", ".sty", ".cls", ".bst"):
            shutil.copyfile(item, root / item.name)
    result: dict[str, Any] = {"out": str(root), "tex": str(root / "main.tex"),
                              "generated": [str(p) for p in written],
                              "reproduce": str(reproduce_dir), "pdf": None,
                              "title": config["title"], "author": config["author"],
                              "figure_notes": notes}
    exe = shutil.which("pdflatex") if engine == "auto" else engine
    if not exe:
        result["engine"] = None
        result["missing"] = ("no LaTeX engine found (pdflatex): install one with `"
                             + APT_LINE + "`, then run `pdflatex main.tex`, `bibtex main` and "
                             "`pdflatex main.tex` twice in " + str(root))
        return result
    result["engine"] = exe
    result.update(compile_pdf(root, exe))
    result["pdf"] = str(root / "main.pdf")
    if not quiet:
        print(f"paper: {result['pdf']} ({result['passes']} LaTeX passes, "
              f"{len(result['latex_warnings'])} warnings)", file=sys.stderr)
    return result
