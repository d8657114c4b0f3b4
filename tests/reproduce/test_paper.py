"""``amsgrad-theory paper``: the generated parts, the .tex tree without LaTeX, and the PDF with it.

The PDF test (marker ``latex``) is skipped where no LaTeX engine is installed (CI); there the
tree test still checks that every ``\\input``, figure and macro main.tex uses is generated.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from amsgrad_theory import paper
from amsgrad_theory.cli import main
from amsgrad_theory.errors import InputError

ENGINE = shutil.which("pdflatex")


@pytest.fixture(scope="module")
def reuse_folder(tiny_run, tmp_path_factory) -> Path:
    """A ``reproduce all``-shaped folder holding every study's tiny outputs."""
    root = tmp_path_factory.mktemp("reproduce-all-tiny")
    for name in paper.STUDIES:
        folder, _ = tiny_run(name)
        (root / name).symlink_to(folder, target_is_directory=True)
    return root


def test_tex_escapes_specials_and_symbols_and_refuses_unknown_ones():
    assert paper.tex("x_1 & 5% {a}") == r"x\_1 \& 5\% \{a\}"
    assert paper.tex("β2 ≤ 0.9") == r"$\beta$2 $\leq$ 0.9"
    assert paper.tex("v̂ never decreases") == r"$\hat{v}$ never decreases"
    with pytest.raises(ValueError, match="U\\+4E2D"):
        paper.tex("中")


def test_numbers_render_as_latex():
    assert paper.num(3000) == r"3\,000"
    assert paper.num(1.5e-7, 3) == r"$1.5\times 10^{-7}$"
    assert paper.num(None) == "--"
    assert paper.num(0.123456, 3) == "0.123"


def test_macro_names_are_letters_and_unique():
    from amsgrad_theory.symbolic.registry import registry

    names = [paper.macro_name(n) for n in registry()]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[A-Za-z]+", n) for n in names)
    assert paper.macro_name("theorem4-derived") == "eqTheoremFourDerived"


def test_tex_tree_is_complete_without_an_engine(reuse_folder, tmp_path):
    out = tmp_path / "paper"
    result = paper.build(out, reuse=reuse_folder, engine=None, quiet=True)
    assert result["pdf"] is None and "apt-get install" in result["missing"]
    main_tex = (out / "main.tex").read_text()
    for name in re.findall(r"\\input\{([^}]+)\}", main_tex):
        assert (out / name).is_file(), name
    for name in re.findall(r"\\includegraphics(?:\[[^]]*\])?\{([^}]+)\}", main_tex):
        assert (out / name).is_file(), name
    defined = set()
    for f in (out / "generated").glob("*.tex"):
        defined |= set(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", f.read_text()))
    used = set(re.findall(r"\\((?:num|eq)[A-Z][A-Za-z]*)", main_tex))
    assert used and used <= defined, used - defined
    # nothing numeric is left undefined in the generated numbers
    numbers = (out / "generated" / "numbers.tex").read_text()
    assert "{}" not in numbers


def test_every_citation_of_the_paper_is_in_the_bibliography():
    main_tex = (paper.source_folder() / "main.tex").read_text(encoding="utf-8")
    bib = (paper.source_folder() / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,\s]+),", bib, re.M))
    cited = {k.strip() for group in re.findall(r"\\cite[tp]?(?:\[[^]]*\])?\{([^}]+)\}", main_tex)
             for k in group.split(",")}
    assert {"reddi2018", "reddi2017openreview", "reddi2019arxiv", "kingma2015",
            "tran2019", "pytorch-2.13", "keras-3.15", "optax-0.2.8"} <= cited
    assert cited <= keys, cited - keys
    assert r"\bibliography{references}" in main_tex and r"\bibliographystyle{" in main_tex


def test_prose_sets_the_records_plain_text_maths_as_maths():
    assert paper.prose("x_t ≥ 0.9") == r"$x_{t}$ $\geq$ 0.9"
    assert paper.prose("β1 = 0.9, β1,t") == r"$\beta_{1}$ = 0.9, $\beta_{1,t}$"
    assert paper.prose("α_t = 0.5/√t") == r"$\alpha_{t}$ = 0.5/$\sqrt{t}$"
    assert paper.prose("η̂_t−1,i") == r"$\hat{\eta}_{t-1,i}$"
    assert paper.prose("1 − β2^t, β1^(t−1)") == r"1 - $\beta_{2}^{t}$, $\beta_{1}^{t-1}$"
    assert paper.prose("max_ratio of figure1-online") == r"max\_ratio of figure1-online"


def test_a_caption_says_what_the_figure_shows_and_how_it_was_checked():
    entry = {"stem": "bound", "title": "Regret against the bounds"}
    record = {"title": "Regret against the bounds",
              "parameters": {"figure": {"caption": "AMSGrad with β1 = 0.9, T = 3000."}},
              "records": [{"claim": "R_T ≤ theorem4-derived", "method": "float",
                           "verdict": "pass"},
                          {"claim": "R_T ≤ theorem4-iclr", "method": "certified",
                           "verdict": "pass"},
                          {"claim": "E_T ≤ lemma2 at every checkpoint", "method": "float",
                           "verdict": "undecided"}]}
    text = paper.figure_caption("bound", entry, record)
    assert text.startswith(r"\textbf{Regret against the bounds.} AMSGrad with $\beta_{1}$ = 0.9")
    assert ("Checked by 3 records (2 floating-point runs, 1 certified in ball arithmetic): "
            "2 pass, 1 undecided.") in text
    assert r"``$E_{T}$ $\leq$ lemma2 at every checkpoint''" in text
    assert text.endswith(r"Re-check: \texttt{amsgrad-theory verify -{}-sidecar "
                         r"bound/bound.json}.")
    # a top-level caption (the sidecar's own field) wins over the figure parameters'
    record["caption"] = "The sidecar's caption."
    assert "The sidecar's caption. Checked by 3" in paper.figure_caption("bound", entry, record)


@pytest.mark.parametrize("width, env, scaled", [
    (3.3, "figure", False), (6.8, "figure*", False), (10.5, "figure*", True)])
def test_figures_are_placed_at_their_natural_size(width, env, scaled):
    entry = {"stem": "s", "title": "t"}
    body, note = paper.figure_tex("theorem1", entry, {"records": []}, (width, 2.0))
    assert body.count(rf"\begin{{{env}}}") == 1
    assert (r"[width=\textwidth]" in body) == scaled
    assert "width=" not in body or scaled
    assert (note is not None) == scaled


def test_pdf_size_reads_the_media_box(tmp_path):
    pdf = tmp_path / "f.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Page /MediaBox [ 0 0 237.6 171.072 ] >>")
    assert paper.pdf_size(pdf) == pytest.approx((3.3, 2.376))


def test_title_and_author_from_the_config_then_the_flags(tmp_path):
    (tmp_path / "main.tex").write_text("x")
    config = paper.load_config(tmp_path)
    assert config["author"] == "Anonymous" and config["title"]
    assert paper.load_config(paper.source_folder())["author"] != "amsgrad-theory"
    (tmp_path / "paper.toml").write_text('title = "A & B"\nauthor = "X. Y and Z. W"\n')
    config = paper.load_config(tmp_path)
    assert (config["title"], config["author"]) == ("A & B", "X. Y and Z. W")
    meta = paper.metadata_tex(config)
    assert r"\newcommand{\papertitle}{A \& B}" in meta
    assert r"\newcommand{\paperauthor}{X. Y \and Z. W}" in meta
    assert "pdftitle={A \\& B}" in meta and "pdfauthor={X. Y, Z. W}" in meta
    config = paper.load_config(tmp_path, title="Other", author="Me")
    assert (config["title"], config["author"]) == ("Other", "Me")
    (tmp_path / "paper.toml").write_text('titel = "typo"\n')
    with pytest.raises(InputError, match="titel"):
        paper.load_config(tmp_path)
    with pytest.raises(InputError, match="author"):
        paper.load_config(paper.source_folder(), author=" ")


def test_equations_are_in_the_papers_notation():
    text = paper.equations()
    assert r"\cdot" not in text
    assert r"\beta_{1,t}" in text and r"D_{t}" in text and r"\mu_{j}" in text
    assert r"\left(t \right)" not in text


def test_log_warnings_keeps_what_a_clean_build_must_not_have():
    log = ("LaTeX Warning: Reference `fig:x' on page 2 undefined on input line 5.\n\n"
           "Package natbib Warning: Citation `k' on page 1 undefined on input line 9.\n\n"
           "Overfull \\hbox (0.5pt too wide) in paragraph at lines 1--2\n"
           "Overfull \\hbox (12.0pt too wide) in paragraph at lines 3--4\n"
           "LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right.\n\n")
    found = paper.log_warnings(log, "Warning--empty year in k\n")
    assert len(found) == 5, found
    assert not any("0.5pt" in w for w in found)


def test_cli_refuses_a_reuse_folder_without_the_studies(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["paper", "--out", str(tmp_path / "o"), "--reuse", str(tmp_path / "empty"),
                 "--no-pdf", "--quiet"])
    assert code == 2
    assert "figure1" in capsys.readouterr().err


def test_cli_refuses_an_unwritable_out_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["paper", "--out", str(blocker / "sub"), "--no-pdf"]) == 2


@pytest.mark.latex
@pytest.mark.skipif(ENGINE is None, reason="no LaTeX engine (" + paper.APT_LINE + ")")
def test_pdf_builds_and_a_table_regenerates_from_a_fresh_run(reuse_folder, tmp_path):
    from amsgrad_theory.reproduce import run_study

    out = tmp_path / "paper"
    result = paper.build(out, reuse=reuse_folder, quiet=True, author="A. Reviewer")
    pdf = Path(result["pdf"])
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 100_000
    assert result["bibtex"] and result["passes"] >= 3
    assert result["latex_warnings"] == [], result["latex_warnings"]
    log = (out / "main.log").read_text(errors="replace")
    assert "undefined" not in log.lower(), "an undefined reference, citation or macro"
    assert "may have changed" not in log and "Rerun to get" not in log
    overfull = [float(pt) for pt in re.findall(r"Overfull \\hbox \(([\d.]+)pt", log)]
    assert all(pt <= paper.OVERFULL_PT for pt in overfull), overfull
    bbl = (out / "main.bbl").read_text()
    assert r"\bibitem" in bbl and "{tran2019}" in bbl and "{reddi2019arxiv}" in bbl
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        assert re.search(r"^Author:\s+A\. Reviewer$", info, re.M), info
        assert re.search(r"^Title:\s+AMSGrad, Checked", info, re.M), info
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                              text=True).stdout
        assert "Tran" in text and "Example 3.2" in text
        assert "References" in text and "Related work" in text and "Conclusion" in text
    # a fresh, independent run of the Theorem 1 study gives the table the PDF was built from
    fresh = run_study("theorem1", tmp_path / "fresh", size="tiny", quiet=True)
    built = (out / "generated" / "table-theorem1.tex").read_text()
    assert paper.table_theorem1({"theorem1": fresh}) == built
    assert r"\input{generated/table-theorem1.tex}" in (out / "main.tex").read_text()
