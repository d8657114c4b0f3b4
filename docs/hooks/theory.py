"""A mkdocs hook (mkdocs.yml ``hooks:``): the theory pages, generated at build time from
:mod:`amsgrad_theory.symbolic`, so the site shows the very expressions that ``amsgrad-theory
derive`` prints and the checks evaluate — never a retyped formula.

Each derivation (bound, lemma, bias-correction fact, counterexample) becomes a section with its
statement as display math (``Derivation.latex()``, the LaTeX of ``derive NAME --latex``), its
source, status, assumptions, symbols and notes; each proof chain (:data:`CHAINS`) becomes a page
section per step, its inequality rendered from the same sympy objects ``check-proof``
evaluates. ``references.md`` is the bibliography the sources cite by key
(``paper/references.bib``), and each ``[key]`` of a source links to its entry. The pages are
added to the build as generated files (nothing is written in docs/).
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

BIBLIOGRAPHY = Path(__file__).resolve().parents[2] / "paper" / "references.bib"
REFERENCES = "references.md"

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


def text(value: str) -> str:
    """Prose for Markdown: its ``_``, ``*``, backslashes, backticks and ``<`` escaped (so that
    ``α_{t−1} … x_t`` is no emphasis), except inside ``$…$`` (math, for arithmatex)."""
    parts = re.split(r"(\$[^$]+\$)", value)
    for k in range(0, len(parts), 2):
        parts[k] = re.sub(r"([\\`*_])", r"\\\1", parts[k]).replace("<", "&lt;")
    return "".join(parts)


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


def bibliography(path: Path = BIBLIOGRAPHY) -> dict[str, dict[str, str]]:
    """The entries of a BibTeX file: key → fields (``type`` too), values as written."""
    text = path.read_text(encoding="utf-8")
    entries: dict[str, dict[str, str]] = {}
    for head in re.finditer(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,", text, re.M):
        fields = {"type": head[1].lower()}
        k = head.end()
        while True:
            field = re.compile(r"\s*(\w+)\s*=\s*").match(text, k)
            if field is None:
                break
            k = field.end()
            if text[k] == "{":
                depth, start = 0, k
                while True:
                    depth += {"{": 1, "}": -1}.get(text[k], 0)
                    k += 1
                    if depth == 0:
                        break
                value = text[start + 1:k - 1]
            elif text[k] == '"':
                end = text.index('"', k + 1)
                value, k = text[k + 1:end], end + 1
            else:
                word = re.compile(r"[^,}\s]+").match(text, k)
                value, k = word[0], word.end()
            fields[field[1].lower()] = value
            comma = re.compile(r"\s*,").match(text, k)
            if comma is None:
                break
            k = comma.end()
        entries[head[2]] = fields
    return entries


def plain(value: str) -> str:
    """A BibTeX value as Markdown text: braces dropped, LaTeX quotes, dashes and escapes
    resolved, ``$…$`` kept as math."""
    value = " ".join(value.split())
    for latex, text in (("``", "“"), ("''", "”"), ("---", "—"), ("--", "–"), ("\\&", "&"),
                        ("\\_", "_"), ("\\%", "%"), ("~", " ")):
        value = value.replace(latex, text)
    return value.replace("{", "").replace("}", "")


def references_page(entries: dict[str, dict[str, str]]) -> str:
    lines = ["# References", "",
             "Every source the toolkit cites, by the key its code, outputs and these pages "
             "use (`[key]`); the paper cites the same file, `paper/references.bib`.", ""]
    for key, f in entries.items():
        who = plain(f.get("author", f.get("key", ""))).replace(" and ", ", ")
        parts = [f"**{text(who)}** ({plain(f.get('year', 'n.d.'))}). "
                 f"*{text(plain(f.get('title', key)))}*."]
        venue = f.get("journal") or f.get("booktitle") or f.get("howpublished")
        if venue:
            parts.append(text(plain(venue)) + ".")
        if f.get("note"):
            parts.append(text(plain(f["note"])) + ".")
        links = [f"<{plain(f['url'])}>"] if "url" in f else []
        if "doi" in f:
            links.append(f"<https://doi.org/{plain(f['doi'])}>")
        if f.get("archiveprefix", "").lower() == "arxiv" and "eprint" in f:
            links.append(f"<https://arxiv.org/abs/{plain(f['eprint'])}>")
        lines += [f"### `{key}` {{#{anchor(key)}}}", "", " ".join(parts + links), ""]
    return "\n".join(lines)


def cite(text: str, keys: set[str], to: str) -> str:
    """``text`` with each ``[key]`` / ``[key1; key2]`` of a known key linked to ``to``."""
    def link(match: re.Match) -> str:
        cited = [k.strip() for k in match[1].split(";")]
        if not all(k in keys for k in cited):
            return match[0]
        return "[" + "; ".join(f"[{k}]({to}#{anchor(k)})" for k in cited) + "]"
    return re.sub(r"\[([^\[\]]+)\]", link, text)


def derivation_section(name: str, derivation, keys: set[str] = frozenset()) -> str:
    lines = [f"## `{name}` {{#{anchor(name)}}}", "", f"**{text(derivation.title)}**", "", "$$",
             derivation.latex(), "$$", "",
             f"- **Source:** {cite(text(derivation.source), keys, '../' + REFERENCES)}",
             f"- **Status:** {text(derivation.status)}"]
    if derivation.assumption_texts:
        lines.append("- **Assumptions:**")
        lines += [f"    - {text(a)}" for a in derivation.assumption_texts]
    legend = derivation.legend()
    if legend:
        lines.append("- **Symbols:**")
        lines += [f"    - {legend_math(item)}" for item in legend]
    notes = getattr(derivation, "notes", None)
    if notes:
        lines.append(f"- **Note:** {cite(text(notes), keys, '../' + REFERENCES)}")
    lines += [f"- **Regenerate:** `amsgrad-theory derive {name} --latex`; its checks: "
              f"`amsgrad-theory derive {name} --check`", ""]
    return "\n".join(lines)


def anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def derivation_pages(keys: set[str] = frozenset()) -> dict[str, str]:
    """The text of every generated derivation page (:data:`PAGES`)."""
    from amsgrad_theory.symbolic import derivation_names, get_derivation

    derivations = {name: get_derivation(name) for name in derivation_names()}
    pages = {}
    for uri, (title, intro, kinds) in PAGES.items():
        sections = [derivation_section(name, d, keys) for name, d in derivations.items()
                    if d.kind in kinds]
        pages[uri] = f"# {title}\n\n{intro}\n\n" + "\n".join(sections)
    return pages


def proofs_page(keys: set[str] = frozenset()) -> str:
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
            lines += [f"### {k}. `{step.name}`", "", text(step.statement), "", "$$", step.latex(),
                      "$$", ""]
            if step.source:
                lines.append(f"- **Source:** {cite(text(step.source), keys, '../' + REFERENCES)}")
            if step.requires:
                lines.append(f"- **Uses:** {text(step.requires)}")
            lines.append("- **Scope:** " + ("one inequality per step t" if step.scope ==
                                             "per-step" else "summed over the run"))
            if not step.valid:
                lines += ["", '!!! warning "Does not hold in general"', "    A published proof "
                          "uses this step; `check-proof` finds runs where it fails."]
            lines.append("")
    return "\n".join(lines)


def on_files(files, config):
    """Add the generated theory pages and the references to the build."""
    entries = bibliography()
    pages = derivation_pages(set(entries))
    pages[PROOFS] = proofs_page(set(entries))
    pages[REFERENCES] = references_page(entries)
    for uri, text in pages.items():
        files.append(File.generated(config, uri, content=text))
    return files
