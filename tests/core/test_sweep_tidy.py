"""The sweep CSV is tidy (issue 15, item 6): ``pandas.read_csv`` opens it and it pivots with
no preprocessing — one numeric column per grid axis and per scalar result, the last iterate one
column per coordinate — and a CSV of the older layout is refused on resume, never mixed."""

from __future__ import annotations

import csv
import json

import pytest

from amsgrad_theory import simulate
from amsgrad_theory.cli import main
from amsgrad_theory.engine.sweep import COLUMNS, FORMAT, _digest, grid, header, run_sweep, run_task

GRID = ["sweep", "-a", "adam", "-a", "amsgrad", "-p", "reddi-theorem2:C=3",
        "--grid", "beta1=[0,0.5,0.9]", "--grid", "beta2=[0.9,0.99]", "--steps", "60",
        "--quiet"]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_read_csv_pivots_regret_over_beta1_and_beta2(tmp_path, capsys, pd):
    path = tmp_path / "s.csv"
    assert run([*GRID, "--out", str(path)], capsys)[0] == 0
    df = pd.read_csv(path)
    for name in ("beta1", "beta2", "regret", "average_regret", "final_x_0", "steps"):
        assert pd.api.types.is_numeric_dtype(df[name]), name
    table = df.pivot_table(index=["algorithm", "beta1"], columns="beta2", values="regret")
    assert table.shape == (6, 2) and not table.isna().any().any()
    # each cell is the regret of the run of its coordinates, simulated alone
    for algorithm, beta1, beta2 in (("adam", 0.9, 0.99), ("amsgrad", 0.0, 0.9)):
        alone = simulate(algorithm, "reddi-theorem2:C=3", steps=60,
                         hyperparameters={"beta1": str(beta1), "beta2": str(beta2)})
        assert table.loc[(algorithm, beta1), beta2] == float(alone.regret)
        assert list(alone.final_x) == [df.loc[(df.algorithm == algorithm) & (df.beta1 == beta1)
                                              & (df.beta2 == beta2), "final_x_0"].item()]


def test_vectors_one_column_per_coordinate_and_seed_axes(tmp_path, capsys, pd):
    path = tmp_path / "s.csv"
    argv = ["sweep", "-a", "amsgrad", "-p", "random-linear", "--grid", "d=[1,3]",
            "--grid", "seed=[4,7]", "--steps", "30", "--quiet", "--out", str(path)]
    assert run(argv, capsys)[0] == 0
    df = pd.read_csv(path)
    assert [c for c in df.columns if c.startswith("final_x_")] == \
        ["final_x_0", "final_x_1", "final_x_2"]
    assert list(df["seed"]) == [4, 7, 4, 7] and "seed" not in df.columns[8:11]
    for _, row in df.iterrows():
        coordinates = json.loads(row["final_x"])
        assert len(coordinates) == row["d"]
        padded = coordinates + [None] * (3 - len(coordinates))
        for k, value in enumerate(padded):
            cell = row[f"final_x_{k}"]
            assert pd.isna(cell) if value is None else cell == value
    long = df.melt(id_vars=["d", "seed"], value_vars=["final_x_0", "final_x_1", "final_x_2"],
                   var_name="coordinate", value_name="x").dropna()
    assert len(long) == 2 * 1 + 2 * 3


def test_an_error_row_has_empty_numbers(tmp_path, capsys, pd):
    path = tmp_path / "s.csv"
    argv = ["sweep", "-a", "amsgrad", "-p", "reddi-online", "--grid", "C=[3,1e200]",
            "--steps", "20", "--quiet", "--out", str(path)]
    assert run(argv, capsys)[0] == 1
    df = pd.read_csv(path)
    assert list(df["C"]) == [3, 1e200] and df["error"].isna().tolist() == [True, False]
    assert df.loc[1, ["regret", "final_x_0"]].isna().all()


def test_the_columns_of_the_older_layout_are_kept(tmp_path, capsys, pd):
    path = tmp_path / "s.csv"
    assert run([*GRID, "--out", str(path)], capsys)[0] == 0
    with path.open(newline="") as fh:
        header = next(csv.reader(fh))
    assert [c for c in header if c in COLUMNS] == list(COLUMNS) and header[-1] == "digest"
    df = pd.read_csv(path)
    for _, row in df.iterrows():
        assert json.loads(row["parameters"]) == {"beta1": str(row["beta1"]).removesuffix(".0"),
                                                 "beta2": str(row["beta2"])}


def older(path):
    """``path``'s rows in the layout of format 2: COLUMNS alone (digests made whole)."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows:
            texts = [row[c] for c in COLUMNS[:-1]]
            writer.writerow(texts + [_digest(texts)])


@pytest.mark.parametrize("progress", ["kept", "format 2", "deleted"])
def test_an_older_csv_is_refused_on_resume_naming_its_format(tmp_path, capsys, progress, pd):
    path = tmp_path / "s.csv"
    assert run([*GRID, "--out", str(path)], capsys)[0] == 0
    older(path)
    state = tmp_path / "s.csv.progress.json"
    if progress == "format 2":
        manifest = json.loads(state.read_text())
        state.write_text(json.dumps({**manifest, "format": 2}))
    elif progress == "deleted":
        state.unlink()
    before = path.read_bytes()
    code, out, err = run([*GRID, "--out", str(path), "--resume"], capsys)
    assert code == 2 and "resume=" in err and "format 2" in err and f"format {FORMAT}" in err
    assert "Traceback" not in err and path.read_bytes() == before
    assert run([*GRID, "--out", str(path)], capsys)[0] == 0       # without --resume: anew
    assert "beta1" in pd.read_csv(path).columns


def test_a_task_alone_writes_the_rows_of_its_sweep(tmp_path):
    # run_task without the sweep's header (as experiments/benchmarks/cluster.py calls it)
    # takes the header of its own configurations: here the whole sweep, so the same rows
    configs = grid(["amsgrad"], "random-linear", {"d": ["1", "2"]}, [0, 1])
    swept = run_sweep(configs, steps=20, csv_path=tmp_path / "s.csv")
    points = list(enumerate(configs))              # d = 1, 1, 2, 2: the sweep's chunks 0, 1
    rows, _ = run_task([(0, points[:2]), (1, points[2:])], steps=20, arithmetic="float64")
    assert [list(r.values()) for r in swept.rows] == [rows[i] for i in range(len(configs))]
    assert list(swept.rows[0]) == list(header(configs, 2))
