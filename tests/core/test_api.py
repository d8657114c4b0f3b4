"""The notebook API of a run: its display, its properties, R_t at the checkpoints as the command
line's JSON has them, ``schedule=`` as ``--schedule``, and tidy data frames."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from amsgrad_theory import InputError, Result, get_problem, simulate
from amsgrad_theory.cli import main
from amsgrad_theory.engine.simulate import SINGLE_INSTANCE

PROBLEM = "reddi-online:C=3"
HYPER = {"beta1": "0", "beta2": "0.1"}
CLI = ["simulate", "--algorithm", "amsgrad", "--problem", PROBLEM, "--steps", "500",
       "--x0", "1", "--beta1", "0", "--beta2", "0.1", "--json", "--quiet"]


@pytest.fixture(scope="module")
def single() -> Result:
    return simulate("amsgrad", PROBLEM, steps=500, x0=1, hyperparameters=HYPER)


@pytest.fixture(scope="module")
def batch() -> Result:
    problem = get_problem(PROBLEM, instances=[{"C": "3"}, {"C": "5"}, {"C": "10"}])
    return simulate("adam", problem, steps=60, x0=1, trace=True,
                    hyperparameters=[{"beta1": "0", "beta2": f"1/{1 + C * C}"}
                                     for C in (3, 5, 10)])


def cli_json(argv: list[str], capsys) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


# ---- display --------------------------------------------------------------------------------

def test_repr_summarises_the_run(single):
    text = repr(single)
    regret = float(single.regret)
    for piece in ("amsgrad", PROBLEM, "float64", single.engine, "T = 500", "B: 1", "d: 1",
                  f"R_T = {regret:.10g}", f"R_T/T = {regret / 500:.6g}",
                  f"[{float(single.final_x[0]):.8g}]", "notes: none"):
        assert piece in text, piece


def test_repr_of_a_batch_gives_the_range_of_the_average_regret(batch):
    text = repr(batch)
    average = batch.table()["average_regret"]
    assert "B: 3" in text and f"from {average.min():.6g} to {average.max():.6g}" in text
    assert "final x" not in text


def test_html_repr_is_an_escaped_table(single):
    page = single._repr_html_()
    assert page.startswith("<table>") and page.endswith("</table>")
    assert "<th style='text-align:left'>regret</th>" in page
    single.notes.append("a <note> & more")
    try:
        assert "a &lt;note&gt; &amp; more" in single._repr_html_()
        assert "a <note> & more" in repr(single)
    finally:
        single.notes.pop()


# ---- properties -----------------------------------------------------------------------------

def test_instance_values_are_documented_properties_listed_by_dir(single):
    names = dir(single)
    for name in (*SINGLE_INSTANCE, "B", "d", "average_regret"):
        attribute = getattr(Result, name)
        assert isinstance(attribute, property) and attribute.__doc__, name
        assert name in names, name
    inst = single.instances[0]
    assert single.regret == inst.regret and single.final_x == inst.final_x
    assert single.checkpoints is inst.checkpoints
    assert single.effective_step_nonincreasing is inst.effective_step.nonincreasing
    assert single.first_increase_step == inst.effective_step.first_increase_step
    assert single.average_regret == inst.regret / 500
    assert (single.B, single.d) == (1, 1)


def test_getattr_still_reaches_the_instance(single):
    # names that were never properties keep working through __getattr__, as before
    assert single.regret_at_checkpoints is single.instances[0].regret_at_checkpoints
    with pytest.raises(AttributeError):
        _ = single.no_such_attribute


def test_a_batch_refuses_single_instance_values_and_hides_them_from_dir(batch):
    assert batch.B == 3
    for name in ("regret", "final_x", "average_regret", "effective_step_nonincreasing"):
        assert name not in dir(batch)
        assert not hasattr(batch, name)
        with pytest.raises(AttributeError, match=r"B = 3 instances.*instances\[b\]"):
            getattr(batch, name)


# ---- checkpoints and schedule, against the command line -------------------------------------

def test_regret_checkpoints_equal_the_cli_json(single, capsys):
    summary = cli_json(CLI, capsys)
    assert single.regret_checkpoints() == summary["checkpoints"]
    assert single.regret_checkpoints()["regret"][-1] == summary["regret"]


def test_regret_checkpoints_of_each_instance_of_a_batch(batch):
    for b, inst in enumerate(batch.instances):
        got = batch.regret_checkpoints(b)
        assert got["t"] == inst.checkpoints["t"]
        assert got["regret"] == [float(r) for r in inst.checkpoint_regret]


def test_regret_checkpoints_are_none_without_a_comparator():
    run = simulate("amsgrad", "gradient-sequence:g=[1,0],set=none", steps=5)
    assert run.regret is None and run.average_regret is None
    assert run.regret_checkpoints() == {"t": [1, 2, 3, 4, 5], "regret": None}
    assert "none (no comparator)" in repr(run)


@pytest.mark.parametrize("schedule", ["constant", "inv-sqrt"])
def test_schedule_equals_the_cli_flag_bit_for_bit(schedule, capsys):
    summary = cli_json(CLI + ["--schedule", schedule], capsys)
    run = simulate("amsgrad", PROBLEM, steps=500, x0=1, hyperparameters=HYPER,
                   schedule=schedule)
    assert summary["schedule"] == run.variant.alpha_schedule == schedule
    assert [float(x) for x in run.final_x] == summary["final_x"]
    assert float(run.regret) == summary["regret"]
    assert run.regret_checkpoints() == summary["checkpoints"]


def test_schedule_changes_the_run_and_is_validated(single):
    constant = simulate("amsgrad", PROBLEM, steps=500, x0=1, hyperparameters=HYPER,
                        schedule="constant")
    assert single.variant.alpha_schedule == "inv-sqrt"
    assert float(constant.regret) != float(single.regret)
    with pytest.raises(InputError, match="schedule"):
        simulate("amsgrad", PROBLEM, steps=5, schedule="sqrt")


# ---- data frames ----------------------------------------------------------------------------

def test_to_dataframe_names_pip_install_pandas_when_it_is_absent(single, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        single.to_dataframe()


def test_to_dataframe_refuses_an_unknown_kind_and_a_missing_trace(single):
    pytest.importorskip("pandas")
    with pytest.raises(InputError, match="kind"):
        single.to_dataframe("rows")
    with pytest.raises(InputError, match="trace=True"):
        single.to_dataframe("trace")


def test_checkpoints_frame_pivots_by_instance_parameter(batch):
    pytest.importorskip("pandas")
    frame = batch.to_dataframe("checkpoints")
    regret = frame.pivot(index="t", columns="C", values="regret")
    assert list(regret.columns) == [3.0, 5.0, 10.0]
    for b, C in enumerate((3.0, 5.0, 10.0)):
        assert list(regret.index) == batch.instances[b].checkpoints["t"]
        assert regret[C].tolist() == batch.regret_checkpoints(b)["regret"]
    average = frame.pivot(index="t", columns="C", values="average_regret")
    assert np.allclose(average.to_numpy() * np.asarray(average.index)[:, None],
                       regret.to_numpy(), rtol=1e-15)
    assert set(frame["beta2"]) == {1 / 10, 1 / 26, 1 / 101}


def test_instances_frame_has_one_row_per_instance(batch):
    pytest.importorskip("pandas")
    frame = batch.to_dataframe("instances").set_index("instance")
    table = batch.table()
    assert list(frame.index) == [0, 1, 2] and list(frame["C"]) == [3.0, 5.0, 10.0]
    assert frame["regret"].tolist() == table["regret"].tolist()
    assert frame["final_x_0"].tolist() == table["final_x"][:, 0].tolist()
    assert frame["effective_step_increases"].tolist() == \
        table["effective_step_increases"].tolist()


def test_trace_frame_is_one_row_per_step_instance_and_coordinate(batch):
    pytest.importorskip("pandas")
    frame = batch.to_dataframe("trace")
    assert len(frame) == 60 * 3 * 1
    x = frame.pivot(index="t", columns="instance", values="x")
    assert np.array_equal(x.to_numpy(), batch.trace["x"][:, :, 0])
    loss = frame.pivot(index="t", columns="instance", values="loss")
    assert np.array_equal(loss.to_numpy(), batch.trace["loss"])


def test_trace_frame_in_an_exact_arithmetic_is_float():
    pytest.importorskip("pandas")
    run = simulate("amsgrad", "random-quadratic:d=2,seed=0", steps=4, arithmetic="mpmath:30",
                   trace=True)
    frame = run.to_dataframe("trace")
    assert len(frame) == 4 * 2 and frame["x"].dtype == np.float64
    assert frame.query("t == 4 and coordinate == 1")["vhat"].item() == \
        float(run.trace["vhat"][3, 0, 1])
