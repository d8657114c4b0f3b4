"""simulate says what ran (issue 15.5): the α_t, β1,t and β2,t schedules as formulas, how
weight decay entered, every hyperparameter's value and which of them were given."""

from __future__ import annotations

import json

import pytest

from amsgrad_theory.cli import main


def simulate(capsys, *flags):
    code = main(["simulate", "-p", "reddi-online", "-T", "50", "-q", *flags])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.mark.parametrize("schedule, formula", [("constant", "α_t = α"),
                                               ("inv-sqrt", "α_t = α/√t")])
def test_the_alpha_schedule_that_ran_is_shown(schedule, formula, capsys):
    text = simulate(capsys, "-a", "amsgrad", "--schedule", schedule)
    data = json.loads(simulate(capsys, "-a", "amsgrad", "--schedule", schedule, "--json"))
    assert f"schedules: {formula};" in text
    assert data["schedule"] == schedule and data["schedules"]["alpha_t"] == formula


def test_the_schedules_differ_as_shown(capsys):
    """The two α schedules give different runs: the line names the one that ran."""
    runs = {s: json.loads(simulate(capsys, "-a", "amsgrad", "--schedule", s, "--json"))
            for s in ("constant", "inv-sqrt")}
    assert runs["constant"]["regret"] != runs["inv-sqrt"]["regret"]


def test_every_hyperparameter_and_where_it_came_from(capsys):
    text = simulate(capsys, "-a", "amsgrad", "--beta1-decay", "0.9", "--alpha", "0.05")
    line = next(line for line in text.splitlines() if line.startswith("hyperparameters:"))
    for key in ("alpha=0.05", "beta1=0.9", "beta2=0.999", "eps=0", "eps_root=0",
                "beta1_decay=0.9", "weight_decay=0"):
        assert key in line
    assert "(given: alpha, beta1_decay; the others amsgrad's defaults)" in line
    assert "β1,t = β1·λ^(t−1)" in text            # --beta1-decay sets the exponential decay
    data = json.loads(simulate(capsys, "-a", "amsgrad", "--json"))
    assert data["hyperparameters_given"] == [] and len(data["hyperparameters"]) == 7


def test_adamnc_shows_its_beta2_schedule_and_adamw_its_weight_decay(capsys):
    # AdamNC (Reddi et al. 2018): β2,t = 1 − 1/t
    assert "β2,t = 1 − 1/t" in simulate(capsys, "-a", "adamnc")
    text = simulate(capsys, "-a", "amsgrad-adamw-pytorch", "--weight-decay", "0.01")
    assert "weight decay: decoupled" in text
    text = simulate(capsys, "-a", "amsgrad-pytorch", "--weight-decay", "0.01")
    assert "weight decay: L2" in text
