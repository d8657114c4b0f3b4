"""Every study's CSV opens with ``pandas.read_csv`` and pivots as it is (issue 15, item 6).

No preprocessing: each parameter and each plotted quantity is its own column, numeric where it
is a number (never a JSON string or a list in a cell), one row per plotted point; a pivot of
each figure's CSV gives back a number the study's records or summary state.
"""

from __future__ import annotations

import json

import pytest

STUDIES = ("figure1", "theorem1", "tran-phong", "frameworks", "bound", "phase", "claims")


def _tidy(frame, pd) -> None:
    """No cell holds a list or a JSON object; a column is numeric unless it holds words."""
    for name in frame.columns:
        column = frame[name].dropna()
        if column.dtype == object:
            text = column.astype(str)
            assert not text.str.match(r"^\s*[\[{]").any(), (name, text.iloc[0])
            numeric = pd.to_numeric(text, errors="coerce")
            assert numeric.isna().all(), f"column {name} mixes numbers and text"


@pytest.mark.parametrize("name", STUDIES)
def test_every_csv_reads_with_pandas_and_is_tidy(tiny_run, name, pd):
    folder, _ = tiny_run(name)
    paths = sorted(folder.glob("*.csv"))
    assert paths
    for path in paths:
        frame = pd.read_csv(path)
        assert len(frame) > 0, path.name
        _tidy(frame, pd)


def test_figure1_pivots_to_the_recorded_last_iterate(tiny_run, pd):
    folder, _ = tiny_run("figure1")
    frame = pd.read_csv(folder / "figure1-online.csv")
    records = json.loads((folder / "figure1-online.json").read_text())["records"]
    last = [r for r in records if r["name"] == "checkpoint_window"
            and r["details"]["statistic"] == "last"]
    assert last
    for record in last:
        series = record["details"]["series"]
        wide = frame.pivot_table(index="t", columns=["algorithm", "schedule", "alpha"],
                                 values=series)
        run = record["details"]["recipe"]["run"]
        column = (run["algorithm"], run["schedule"], float(run["hyperparameters"]["alpha"]))
        assert wide[column].dropna().iloc[-1] == record["details"]["value"]
    stochastic = pd.read_csv(folder / "figure1-stochastic.csv")
    by_seed = stochastic.pivot_table(index="t", columns=["algorithm", "alpha", "seed"],
                                     values="expected_average_regret")
    assert by_seed.notna().all().all()


def test_theorem1_pivots_by_c_and_algorithm(tiny_run, pd):
    folder, summary = tiny_run("theorem1")
    frame = pd.read_csv(folder / "theorem1.csv")
    final = frame.pivot_table(index="C", columns="algorithm", values="average_regret",
                              aggfunc="last")
    for row in summary["results"]:
        assert final.loc[row["C"], "adam"] == pytest.approx(row["adam_average_regret_T"])
    assert frame["beta2"].to_numpy() == pytest.approx((1 / (1 + frame["C"] ** 2)).to_numpy())


def test_tran_phong_pivots_along_t_and_its_search_table_is_booktabs(tiny_run, pd):
    folder, summary = tiny_run("tran-phong")
    frame = pd.read_csv(folder / "tran-phong.csv")
    along = frame[frame["part"] == "replacement-along-T"].pivot(index="T", columns="link",
                                                                 values="lhs")
    expected = {a["T"]: a["lhs"] for a in summary["replacement_along_T"]}
    assert along["theorem4.paper-replacement"].to_dict() == pytest.approx(expected)
    searches = pd.read_csv(folder / "tran-phong-searches.csv")
    assert searches["cases"].dtype.kind == "i"
    assert set(searches["link"]) == {s["link"] for s in summary["searches"]}
    tex = (folder / "tran-phong-searches.tex").read_text()
    assert tex.startswith("\\begin{tabular}") and "\\toprule" in tex and "\\bottomrule" in tex
    assert tex.count("\\\\\n") == len(searches) + 1          # the header and one row each


def test_frameworks_bound_phase_claims_pivot(tiny_run, pd):
    folder, _ = tiny_run("frameworks")
    frame = pd.read_csv(folder / "frameworks-effective-step.csv")
    eta = frame.pivot_table(index=["sequence", "t"], columns="variant", values="eta_hat_over_lr")
    assert {"amsgrad", "amsgrad-pytorch"} <= set(eta.columns)

    folder, _ = tiny_run("bound")
    frame = pd.read_csv(folder / "bound.csv")
    wide = frame.pivot(index=["run", "t"], columns="series", values="value")
    assert wide["regret"].notna().any()

    folder, summary = tiny_run("phase")
    frame = pd.read_csv(folder / "phase.csv")
    cstar = frame.pivot_table(index=["family", "algorithm", "beta1"], columns="beta2",
                              values="C", aggfunc="max")
    assert cstar.shape[1] == len(summary["parameters"]["beta2s"])

    folder, _ = tiny_run("claims")
    frame = pd.read_csv(folder / "claims-convergence.csv")
    ratios = frame[frame["quantity"] == "regret_ratio"].pivot_table(
        index="sparsity", columns=["family", "beta2"], values="value", aggfunc="mean")
    assert ratios.notna().all().all()
