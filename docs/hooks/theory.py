"""A mkdocs hook (mkdocs.yml ``hooks:``): the theory pages, generated at build time from
:mod:`amsgrad_theory.symbolic`, so the site shows the very expressions that ``amsgrad-theory
derive`` prints and the checks evaluate — never a retyped formula.

Each derivation (bound, lemma, bias-correction fact, counterexample) becomes a section with its
statement as display math (``Derivation.latex()``, the LaTeX of ``derive NAME --latex``), its
source, status, assumptions, symbols and notes; each proof chain (:data:`CHAINS`) becomes a page
section per step, its inequality rendered from the same sympy objects ``check-proof``
evaluates. The pages are added to the build as generated files (nothing is written in docs/).
"""

from __future__ import annotations

import re

from mkdocs.structure.files import File

#: generated page → (title, introduction, the derivation kinds it lists)
PAGES = {
    "theory/bounds.md": (
        "Regret bounds",
        "Every regret bound of the literature the toolkit knows, as printed and as derived "
        "here, with the assumptions under which it is stated. `amsgrad-theory derive NAME` "
        "prints one (`--latex`, `--json` with its worst-case order in T, `--check` with the "
        "records that establish or refute it).",
        ("bound",)),
    "theory/lemmas.md": (
        "Lemmas",
        "The elementary lemmas the proofs use, each checked by sympy (`derive NAME --check`).",
        ("lemma",)),
    "theory/bias-correction.md": (
        "Bias correction",
        "Unrolled exponential moving averages and their expectations (Kingma & Ba 2015, §3), "
        "and the bias-correction factor ρ(t) behind PyTorch's AMSGrad step.",
        ("bias-correction",)),
    "theory/counterexamples.md": (
        "Counterexamples",
        "The counterexamples of Reddi et al. (2018): what Adam's regret does on them, as "
        "sympy derives it. `amsgrad-theory reproduce theorem1` runs the first one.",
        ("counterexample",)),
}
PROOFS = "theory/proofs.md"

# a legend's prose words (two letters or more, no LaTeX), kept as \text{…} inside its math
_PROSE = re.compile(r"^\(?[A-Za-z][A-Za-z'’\-]+[.,;:)]*$|^&$")


def legend_math(item: str) -> str:
    """A legend line (``\\alpha: the step-size constant, \\alpha_{t} = …``) as one inline
    formula: its runs of prose words set as ``\\text{…}``."""
    out: list[str] = []
    prose: list[str] = []

    def flush() -> None:
        if prose:
            text = " ".join(prose).replace("&", r"\&")
            out.append(rf"\text{{ {text} }}")
            prose.clear()

    for token in item.split():
        if _PROSE.match(token):
            prose.append(token)
        else:
            flush()
            out.append(token)
    flush()
    return "$" + " ".join(out) + "$"


def derivation_section(name: str, derivation) -> str:
    lines = [f"## `{name}` {{#{anchor(name)}}}", "", f"**{derivation.title}**", "", "$$",
             derivation.latex(), "$$", "",
             f"- **Source:** {derivation.source}",
             f"- **Status:** {derivation.status}"]
    if derivation.assumption_texts:
        lines.append("- **Assumptions:**")
        lines += [f"    - {a}" for a in derivation.assumption_texts]
    legend = derivation.legend()
    if legend:
        lines.append("- **Symbols:**")
        lines += [f"    - {legend_math(item)}" for item in legend]
    notes = getattr(derivation, "notes", None)
    if notes:
        lines.append(f"- **Note:** {notes}")
    lines += [f"- **Regenerate:** `amsgrad-theory derive {name} --latex`; its checks: "
              f"`amsgrad-theory derive {name} --check`", ""]
    return "\n".join(lines)


def anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def derivation_pages() -> dict[str, str]:
    """The text of every generated derivation page (:data:`PAGES`)."""
    from amsgrad_theory.symbolic import derivation_names, get_derivation

    derivations = {name: get_derivation(name) for name in derivation_names()}
    pages = {}
    for uri, (title, intro, kinds) in PAGES.items():
        sections = [derivation_section(name, d) for name, d in derivations.items()
                    if d.kind in kinds]
        pages[uri] = f"# {title}\n\n{intro}\n\n" + "\n".join(sections)
    return pages


def proofs_page() -> str:
    """Each proof chain of :data:`amsgrad_theory.symbolic.CHAINS`, step by step."""
    from amsgrad_theory.symbolic import CHAINS, proof_steps

    lines = ["# Proofs step by step", "",
             "Each regret proof is a chain of named inequalities, every one a sympy relation "
             "between quantities of a run (iterates, gradients, moments). `amsgrad-theory "
             "check-proof` evaluates every step on a trajectory and names the first that fails "
             "(`--chain NAME`, `--example tran-phong-3.2`). A step marked *does not hold in "
             "general* is one a published proof uses that runs refute.", ""]
    for chain in CHAINS:
        lines += [f"## Chain `{chain}` {{#{anchor(chain)}}}", "",
                  f"Evaluate it on a run: `amsgrad-theory check-proof --chain {chain}`.", ""]
        for k, step in enumerate(proof_steps(chain), 1):
            lines += [f"### {k}. `{step.name}`", "", step.statement, "", "$$", step.latex(),
                      "$$", ""]
            if step.source:
                lines.append(f"- **Source:** {step.source}")
            if step.requires:
                lines.append(f"- **Uses:** {step.requires}")
            lines.append("- **Scope:** " + ("one inequality per step t" if step.scope ==
                                             "per-step" else "summed over the run"))
            if not step.valid:
                lines += ["", '!!! warning "Does not hold in general"', "    A published proof "
                          "uses this step; `check-proof` finds runs where it fails."]
            lines.append("")
    return "\n".join(lines)


def on_files(files, config):
    """Add the generated theory pages to the build."""
    pages = derivation_pages()
    pages[PROOFS] = proofs_page()
    for uri, text in pages.items():
        files.append(File.generated(config, uri, content=text))
    return files
