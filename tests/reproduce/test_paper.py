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
    result = paper.build(out, reuse=reuse_folder, quiet=True)
    pdf = Path(result["pdf"])
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 100_000
    assert result["latex_warnings"] == [], result["latex_warnings"]
    log = (out / "main.log").read_text(errors="replace")
    assert "undefined" not in log.lower(), "an undefined reference or macro"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                              text=True).stdout
        assert "Tran" in text and "Example 3.2" in text
    # a fresh, independent run of the Theorem 1 study gives the table the PDF was built from
    fresh = run_study("theorem1", tmp_path / "fresh", size="tiny", quiet=True)
    built = (out / "generated" / "table-theorem1.tex").read_text()
    assert paper.table_theorem1({"theorem1": fresh}) == built
    assert r"\input{generated/table-theorem1.tex}" in (out / "main.tex").read_text()
