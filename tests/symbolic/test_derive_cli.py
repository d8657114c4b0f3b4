"""``amsgrad-theory derive``: listing, JSON, LaTeX validity (round trip through sympy's LaTeX
parser), errors."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from amsgrad_theory.cli import main
from amsgrad_theory.symbolic import symbols as S
from amsgrad_theory.symbolic.asymptotic import compare_orders
from amsgrad_theory.symbolic.bound import Bound
from amsgrad_theory.symbolic.properties import latex_roundtrip
from amsgrad_theory.symbolic.registry import get_derivation, registry


def test_list_prints_one_derivation_a_line(capsys):
    assert main(["derive", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == list(registry())
    assert len(lines) >= 30


@pytest.mark.parametrize("name", ["theorem4-derived", "corollary1-openreview", "lemma2",
                                  "constant-beta1", "rho", "lemma:abel",
                                  "counterexample:theorem1"])
def test_json_has_the_keys_and_a_parsable_order(name, capsys):
    assert main(["derive", name, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("name", "source", "assumptions", "latex", "sympy", "order"):
        assert key in data
    assert data["name"] == name and isinstance(data["assumptions"], list)
    item = get_derivation(name)
    if isinstance(item, Bound):
        assert S.parse(data["sympy"]) == item.rhs
        order = S.parse(data["order"])
        check = compare_orders(order, item.order())
        assert check.agree and check.value == 1


def test_latex_output(capsys):
    assert main(["derive", "theorem4-derived", "--latex"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(r"R_{T} \leq ")


def test_unknown_name_lists_the_valid_ones(capsys):
    assert main(["derive", "theorem99"]) == 2
    err = capsys.readouterr().err
    assert "theorem99" in err and "theorem4-derived" in err and "lemma:abel" in err
    assert main(["derive"]) == 2


def test_text_and_check_outputs(capsys):
    assert main(["derive", "corollary1-corrected-derived"]) == 0
    out = capsys.readouterr().out
    assert "worst-case order in T" in out and "assumptions:" in out
    assert main(["derive", "theorem4-openreview", "--check"]) == 0
    records = json.loads(capsys.readouterr().out)
    verdicts = {r["name"]: r["verdict"] for r in records}
    assert verdicts["scale:theorem4-openreview"] == "fail"
    assert verdicts["sublinear:theorem4-openreview:constant"] == "fail"
    assert verdicts["sublinear:theorem4-openreview:exp-decay"] == "pass"


@pytest.mark.parametrize("name", list(registry()))
def test_latex_round_trips_through_sympys_parser(name):
    pytest.importorskip("antlr4", reason="sympy's LaTeX parser needs antlr4-python3-runtime")
    item = get_derivation(name)
    statement = item.statement
    record = latex_roundtrip(statement, item.latex())
    assert record.verdict == "pass", record.details


def test_roundtrip_detects_a_wrong_latex():
    pytest.importorskip("antlr4", reason="sympy's LaTeX parser needs antlr4-python3-runtime")
    item = get_derivation("theorem4-derived")
    wrong = item.latex().replace(r"2 \cdot \alpha", r"3 \cdot \alpha")
    assert wrong != item.latex()
    assert latex_roundtrip(item.statement, wrong).verdict == "fail"
    # the parser's own trap: without \cdot, "\alpha \left(1 - \beta_{1}\right)" is a call
    plain = sp.latex(item.rhs, symbol_names=S.LATEX_NAMES)
    assert latex_roundtrip(item.rhs, plain).verdict == "fail"
