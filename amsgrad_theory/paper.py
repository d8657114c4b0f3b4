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

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .algorithms import VARIANTS
from .errors import InputError
from .plots import write_text
from .reproduce import check_output_folder, run_study
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


def tex(text: Any) -> str:
    """Plain text (numbers, study strings with Greek letters and ≤) as LaTeX text.

    A character with no translation raises: the paper must not silently lose a symbol.
    """
    out = []
    text = str(text)
    chars = list(text)
    for k, ch in enumerate(chars):
        if ch == "\u0302":                 # a combining circumflex: handled with its base
            continue
        if k + 1 < len(chars) and chars[k + 1] == "\u0302" and ch.isalpha() and ch.isascii():
            out.append(r"$\hat{" + ch + "}$")
        elif ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        else:
            raise ValueError(f"no LaTeX for {ch!r} (U+{ord(ch):04X}) in {text!r}: add it to "
                             f"amsgrad_theory.paper._UNICODE")
    return "".join(out).replace("$$", "")


def tt(text: Any) -> str:
    """Plain text (a name, a command) in typewriter type."""
    return r"\texttt{" + tex(text) + "}"


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
            label: str, size: str = r"\small") -> str:
    """A booktabs table: ``columns`` = [(header, alignment)], ``rows`` already LaTeX."""
    spec = "".join(a for _, a in columns)
    head = " & ".join(h for h, _ in columns)
    body = "\n".join(" & ".join(r) + r" \\" for r in rows)
    return (f"% generated by amsgrad_theory.paper — do not edit\n"
            f"\\begin{{table}}[htbp]\n\\centering\n{size}\n"
            f"\\caption{{{caption}}}\\label{{{label}}}\n"
            f"\\begin{{tabular}}{{{spec}}}\n\\toprule\n{head} \\\\\n\\midrule\n{body}\n"
            f"\\bottomrule\n\\end{{tabular}}\n\\end{{table}}\n")


# ------------------------------------------------------------------------------------------
# generated content: equations, tables, numbers
# ------------------------------------------------------------------------------------------

def equations() -> str:
    """One macro per derivation: ``\\eqNAME`` (the statement), ``\\titleNAME`` (its title)."""
    lines = ["% generated by amsgrad_theory.paper from amsgrad_theory.symbolic.registry"]
    seen: dict[str, str] = {}
    for name, item in registry().items():
        macro = macro_name(name)
        if macro in seen:
            raise ValueError(f"macro {macro} for both {seen[macro]} and {name}")
        seen[macro] = name
        lines.append(f"\\newcommand{{\\{macro}}}{{{item.latex()}}}")
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
                   size=r"\footnotesize")


def table_theorem1(summaries: Mapping[str, dict]) -> str:
    s = summaries["theorem1"]
    rows = [[num(r["C"]), num(r["bound"]), num(r["adam_average_regret_T"]), num(r["adam_x_T"]),
             num(r["amsgrad_average_regret_T"]), num(r["amsgrad_x_T"])] for r in s["results"]]
    T = s["parameters"]["steps"]
    return tabular([("$C$", "r"), ("$(2C-4)/3$", "r"), ("Adam $R_T/T$", "r"),
                    ("Adam $x_T$", "r"), ("AMSGrad $R_T/T$", "r"), ("AMSGrad $x_T$", "r")], rows,
                   f"Theorem 1 family: $\\beta_1 = 0$, $\\beta_2 = 1/(1+C^2)$, "
                   f"$\\alpha_t = {tex(s['parameters']['alpha'])}/\\sqrt{{t}}$, $T = {num(T)}$.",
                   "tab:theorem1")


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
                   "($> 1$: violated).", "tab:bounds")


def table_tran_phong(summaries: Mapping[str, dict]) -> str:
    s = summaries["tran-phong"]
    def show(value):          # a per-step link: its value at t = T
        return num(value[-1] if isinstance(value, list) else value, 6)

    rows = [[tt(st["name"]), "yes" if st["valid"] else "no", show(st["lhs"]), show(st["rhs"]),
             "holds" if st["holds"] else r"\textbf{fails}"] for st in s["example"]["steps"]]
    return tabular([("link", "l"), ("valid in general", "l"), ("lhs", "r"), ("rhs", "r"),
                    ("on Example 3.2", "l")], rows,
                   "Each link of the proof of Theorem 4 evaluated on Tran \\& Phong's Example "
                   "3.2 ($T = 2$; per-step links at $t = T$).", "tab:tranphong")


def table_frameworks(summaries: Mapping[str, dict]) -> str:
    s = summaries["frameworks"]
    rows = []
    for r in s["results"]["effective_steps"]:
        rows.append([tex(r["sequence"]), tt(r["variant"]),
                     num(r["eta_hat_growth"]), num(r["eta_hat_first_increase"]),
                     num(r["eta_growth"]), num(r["eta_first_increase"])])
    return tabular([("gradients", "l"), ("variant", "l"), (r"$\max \hat\eta_t/\min \hat\eta$",
                                                         "r"),
                    (r"first $\hat\eta$ rise", "r"), (r"$\max \eta_t/\min \eta$", "r"),
                    (r"first $\eta$ rise", "r")], rows,
                   "Effective steps of each implementation on the same gradients: growth 1 "
                   "means the step never increases.", "tab:frameworks", size=r"\footnotesize")


def table_claims(summaries: Mapping[str, dict]) -> str:
    s = summaries["claims"]
    rows = [[r"\parbox[t]{0.34\linewidth}{\raggedright " + tex(r["claim"]) + "}",
             r"\parbox[t]{0.56\linewidth}{\raggedright " + tex(r["verdict"]) + "}"]
            for r in s["results"]]
    return tabular([("the seed article's claim", "l"), ("verdict here", "l")], rows,
                   "The seed article's claims, each with the evidence in the claims study's "
                   "sidecar.", "tab:claims", size=r"\footnotesize")


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
                   "\\texttt{amsgrad-theory verify --sidecar}. A record of a claims figure states "
                   "the seed article's claim: there, fail means the claim is refuted.",
                   "tab:figures")


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
    shrunk = next((s for s in tp["searches"] if s["link"] == "theorem4.paper-replacement"), {})
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


def generate(out: Path, summaries: Mapping[str, dict], reproduce_dir: Path) -> list[Path]:
    """Write ``generated/`` (equations, tables, numbers) and ``figures/`` under ``out``."""
    gen = out / "generated"
    figs = out / "figures"
    gen.mkdir(parents=True, exist_ok=True)
    figs.mkdir(parents=True, exist_ok=True)
    written = [write_text(gen / "equations.tex", equations()),
               write_text(gen / "numbers.tex", numbers_tex(summaries))]
    for name, fn in TABLES.items():
        written.append(write_text(gen / f"table-{name}.tex", fn(summaries)))
    for name in STUDIES:
        for f in summaries[name]["figures"]:
            src = reproduce_dir / name / f"{f['stem']}.pdf"
            if src.is_file():
                dst = figs / src.name
                shutil.copyfile(src, dst)
                written.append(dst)
    return written


def build(out: str | Path, *, size: str = "small", reuse: str | Path | None = None,
          source: str | Path | None = None, engine: str | None = "auto",
          quiet: bool = False) -> dict:
    """Regenerate the paper under ``out`` and build its PDF when a LaTeX engine is installed.

    ``reuse``: a folder holding ``reproduce all`` outputs (else they are produced under
    ``out/reproduce`` at ``size``). ``engine``: ``"auto"`` (pdflatex on PATH), a command, or
    None (write the .tex only). Returns what was done: paths, the engine, the PDF or the
    reason there is none.
    """
    src = source_folder(source)
    root = check_output_folder(out)
    if reuse is not None:
        reproduce_dir = Path(reuse)
        summaries = load_summaries(reproduce_dir)
    else:
        reproduce_dir = root / "reproduce"
        run_study("all", reproduce_dir, size=size, quiet=quiet)
        summaries = load_summaries(reproduce_dir)
    written = generate(root, summaries, reproduce_dir)
    for item in src.iterdir():
        if item.suffix in (".tex", ".bib", ".sty", ".cls"):
            shutil.copyfile(item, root / item.name)
    result: dict[str, Any] = {"out": str(root), "tex": str(root / "main.tex"),
                              "generated": [str(p) for p in written],
                              "reproduce": str(reproduce_dir), "pdf": None}
    exe = shutil.which("pdflatex") if engine == "auto" else engine
    if not exe:
        result["engine"] = None
        result["missing"] = ("no LaTeX engine found (pdflatex): install one with `"
                             + APT_LINE + "`, then run `pdflatex main.tex` twice in " + str(root))
        return result
    result["engine"] = exe
    aux = root / "main.aux"
    aux.unlink(missing_ok=True)
    previous = None
    passes = 0
    while passes < 4:
        passes += 1
        # until main.aux stops changing (breqn's active ^ and _ make LaTeX's own "Label(s) may
        # have changed" test report math in captions as changed on every pass)
        run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
                             cwd=root, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            tail = run.stdout[-3000:]
            raise RuntimeError(f"{exe} failed on {root / 'main.tex'}:\n{tail}")
        current = aux.read_bytes() if aux.exists() else b""
        if current == previous:
            break
        previous = current
    result["passes"] = passes
    result["pdf"] = str(root / "main.pdf")
    warnings = [w for w in re.findall(r"LaTeX Warning: .*", run.stdout)
                if "Label(s) may have changed" not in w]
    result["latex_warnings"] = warnings
    if not quiet:
        print(f"paper: {result['pdf']}", file=sys.stderr)
    return result
