"""The ``sharedrep`` command line and the README's two commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sharedrep as sr
from sharedrep.cli import EXIT_OK, EXIT_USAGE, build_parser, main
from sharedrep.config import KEYS, read_config

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("demo", "simulate", "fit", "report", "info")


def test_demo_runs_and_writes_report_and_tables(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--sessions", "3"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Principal angles to the true shared representation" in out
    assert "held-out R²" in out
    loadings = pd.read_csv(tmp_path / "tables" / "loadings.csv")
    assert {"feature", "lag", "component", "loadings"} <= set(loadings.columns)
    r2 = pd.read_csv(tmp_path / "tables" / "r2_per_neuron.csv")
    assert r2["r2_heldout"].between(-1, 1).all()
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    summary = pd.read_csv(tmp_path / "tables" / "cv_summary.csv", index_col=[0, 1])
    best = summary[summary["chosen"]].iloc[0]
    shown = sr.plot.fmt_value(best["r2_heldout"])
    assert shown in page and shown in out


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_on_every_command(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: sharedrep")
    assert "exit codes" in text and "2    user mistake" in text
    if command is None:
        assert all(c in text for c in COMMANDS)
    if command == "fit":  # every configuration key is documented in --help
        assert all(f"  {k} " in text for k in KEYS)


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert main(["demo", "--sessions", "2"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[-1]
        == "sharedrep demo: error: --sessions must be at least 3 (two to fit, one new), got 2"
    )


def test_readme_commands_match_ci():
    readme = (ROOT / "README.md").read_text().splitlines()
    block = readme[readme.index("```bash") + 1 : readme.index("```bash") + 3]
    assert "sharedrep demo" in block[0]
    assert "pytest" in block[1]
    ci = (ROOT / ".ci" / "run").read_text()
    # CI runs the README's test command (quiet pip is the only difference)
    assert block[1].replace("pip install -e", "pip install -q -e") in ci


# -- simulate, fit, report ----------------------------------------------------------------------
SMALL = ["--sessions", "3", "--samples", "700", "--neurons", "10", "--features", "3"]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    argv = ["simulate", str(folder), *SMALL, "--conditions", "naive,expert", "--seed", "2"]
    assert main(argv) == EXIT_OK
    return folder


def test_simulate_writes_loadable_sessions_and_truth(simulated):
    cohort = sr.load_cohort(simulated)
    assert cohort.names == ("session0", "session1", "session2")
    assert [s.condition for s in cohort] == ["naive", "expert", "naive"]
    assert all(s.n_samples == 700 and s.n_neurons == 10 for s in cohort)
    # the files hold exactly the simulated sessions
    direct, truth = sr.simulate.cohort(
        n_sessions=3,
        n_samples=700,
        n_neurons=10,
        n_features=3,
        conditions=["naive", "expert"],
        seed=2,
    )
    for a, b in zip(cohort, direct, strict=True):
        np.testing.assert_array_equal(np.asarray(a.behavior), np.asarray(b.behavior))
        np.testing.assert_array_equal(np.asarray(a.neural), np.asarray(b.neural))
        np.testing.assert_array_equal(a.segments, b.segments)
        assert a.rate == b.rate
    saved = json.loads((simulated / "truth.json").read_text())
    np.testing.assert_allclose(np.array(saved["W"]), truth.W)
    assert saved["lags"] == truth.lags.tolist()
    assert read_config(simulated / "fit.toml").folder == simulated.resolve()


def test_simulate_refuses_to_overwrite(simulated, capsys):
    assert main(["simulate", str(simulated), *SMALL]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err


def _config(where: Path, **extra: str | None) -> Path:
    lines = {
        "folder": '"."',
        "lags": "{min = -3, max = 3}",
        "ranks": "[1, 2, 3, 4]",
        "alphas": "[1.0, 100.0]",
        "folds": "3",
        "null_size": "39",
        "bootstrap": "10",
        "permutations": "39",
        "output": '"results"',
        **extra,
    }
    path = where / "test.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in lines.items() if v is not None))
    return path


@pytest.fixture(scope="module")
def fitted(simulated):
    assert main(["fit", "--quiet", str(_config(simulated))]) == EXIT_OK
    return simulated / "results"


def test_fit_end_to_end(simulated, fitted):
    for name in ("model.npz", "index.html", "config.toml", "tables/cv_summary.csv"):
        assert (fitted / name).is_file(), name
    model = sr.load(fitted / "model.npz")
    summary = pd.read_csv(fitted / "tables" / "cv_summary.csv", index_col=[0, 1])
    assert summary.shape[0] == 8  # 4 ranks x 2 alphas
    d, alpha = summary.index[summary["chosen"].to_numpy()][0]
    assert model.coef_.shape[1] == d and model.alpha == alpha
    # the saved model is the chosen model refitted on all the data
    cohort = sr.load_cohort(simulated)
    ref = sr.ShaReD(int(d), alpha=float(alpha), lags=range(-3, 4)).fit(cohort)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-6)
    # held-out R² table agrees with a cross-validation run directly
    cv = sr.cross_validate(cohort, [1, 2, 3, 4], [1.0, 100.0], folds=3, lags=range(-3, 4))
    np.testing.assert_allclose(
        summary["r2_heldout"].to_numpy(), cv.summary["r2"].to_numpy(), atol=1e-6
    )
    enc = pd.read_csv(fitted / "tables" / "encoding_neurons.csv")
    assert len(enc) == 30
    assert set(enc.columns) >= {"session", "neuron", "r2_crossfit", "r2_in_sample", "p", "q"}
    conditions = pd.read_csv(fitted / "tables" / "conditions.csv")
    assert {"naive", "expert", "p_value"} <= set(conditions.columns)


def test_fit_quiet_prints_only_where_outputs_are(simulated, capsys):
    cfg = _config(simulated, ranks="[2]", alphas="[1.0]", null_size="0", bootstrap="0")
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.strip().startswith("Wrote the model") and len(out.strip().splitlines()) == 1
    assert err == ""


def test_fit_variables_and_rescale(simulated, tmp_path, capsys):
    cfg = _config(
        simulated,
        variables='["x2", "x0"]',
        rescale="{session1 = 100.0}",
        ranks="[2]",
        alphas="[1.0]",
        output=f'"{tmp_path / "sub"}"',
        null_size="0",
        bootstrap="0",
    )
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    # the unit mismatch this creates is reported as a one-line warning naming the session,
    # once, with the rescale that undoes it in the configuration's terms
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "spread is more than 10x off" in ln]
    assert len(lines) == 1 and lines[0].startswith("sharedrep fit: warning: session 'session1'")
    assert f"rescale = {{session1 = 0.01}} in {cfg}" in lines[0]
    model = sr.load(tmp_path / "sub" / "model.npz")
    assert model.feature_names_ == ("x2", "x0")
    # the same fit by hand: variables selected, session1's behavior multiplied by 100
    sessions = []
    for s in sr.load_cohort(simulated):
        x = np.asarray(s.behavior)[:, [2, 0]] * (100.0 if s.name == "session1" else 1.0)
        sessions.append(
            sr.Session(
                x, s.neural, s.segments, name=s.name, feature_names=["x2", "x0"], rate=s.rate
            )
        )
    with pytest.warns(sr.SharedRepWarning, match="session 'session1': its behavior's spread"):
        ref = sr.ShaReD(2, alpha=1.0, lags=range(-3, 4)).fit(sessions)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-6)


def test_report_command_on_a_saved_model(simulated, fitted, tmp_path, capsys):
    out = tmp_path / "rep"
    argv = ["report", str(fitted / "model.npz"), str(simulated), "--out", str(out)]
    argv += ["--null-size", "19", "--bootstrap", "10", "--permutations", "19"]
    assert main(argv) == EXIT_OK
    stdout, stderr = capsys.readouterr()
    # stderr is not a terminal here: no progress bars, only the steps' timings on stdout
    assert "it/s" not in stderr and "%|" not in stderr and "step" not in stderr
    assert "  encoding map:" in stdout and stdout.strip().endswith("index.html")
    page = (out / "index.html").read_text(encoding="utf-8")
    model, cohort = sr.load(fitted / "model.npz"), sr.load_cohort(simulated)
    assert "in-sample R²" in page
    for value in model.score(cohort).session:  # the sessions table
        assert f"<td>{sr.plot.fmt_value(value)}</td>" in page
    # how the rank was chosen comes from the model file, in the report and on stdout
    prov = model.cv_provenance_
    assert "chosen by CV (1se) when fitted" in page and "set by the user" not in page
    assert f"Chosen by {prov['folds']}-fold cross-validation (1se) when the model" in stdout
    assert "Encoding map" in page


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"rank": "[1, 2]"}, "unknown key 'rank' (did you mean 'ranks'?)"),
        ({"ranks": "[-1, 2]"}, "key 'ranks': expected a non-empty list of integers >= 0"),
        ({"ranks": "[2, 2]"}, "key 'ranks': duplicate values"),
        ({"alphas": '"big"'}, "key 'alphas'"),
        ({"lags": "{min = 3, max = -3}"}, "key 'lags': min (3) is larger than max (-3)"),
        ({"folds": "1"}, "key 'folds': expected an integer >= 2"),
        ({"null_size": "5"}, "key 'null_size'"),
        ({"rule": '"best"'}, "key 'rule': expected one of ['1se', 'max']"),
        ({"folder": '"nowhere"'}, "key 'folder': no folder at"),
        ({"files": '["session0.npz"]'}, "give exactly one of 'folder'"),
        ({"folder": None, "files": '["missing.npz"]'}, "key 'files': no file at"),
        ({"variables": '["x0", "speed"]'}, "lacks behavioral variables ['speed']"),
        ({"conditions": '{mouse9 = "naive"}'}, "key 'conditions': no session named ['mouse9']"),
        ({"zscore": '"yes"'}, "key 'zscore': expected true or false"),
        ({"rescale": "{session0 = -1.0}"}, "key 'rescale': expected a table of session"),
        ({"rescale": "{mouse9 = 2.0}"}, "key 'rescale': no session named ['mouse9']"),
        ({"nwb": "{bin = 0.05}"}, "key 'nwb': unknown options ['bin']"),
        ({"conditions": "{session0 = 1}"}, "key 'conditions': expected a table"),
        ({"ranks": "[1, 2"}, "not valid TOML"),
    ],
)
def test_bad_config_exit_2_with_one_line(simulated, capsys, extra, message):
    cfg = _config(simulated, **extra)
    assert main(["fit", str(cfg)]) == EXIT_USAGE
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"sharedrep fit: error: {cfg}")
    assert message in lines[0]


def test_report_with_the_fit_configuration(simulated, tmp_path, capsys):
    """--config prepares the data as the fit did (here: variables and a unit rescaling)."""
    cfg = _config(
        simulated,
        variables='["x1", "x0"]',
        rescale="{session2 = 10.0}",
        ranks="[2]",
        alphas="[1.0]",
        null_size="0",
        bootstrap="0",
        output=f'"{tmp_path / "fit"}"',
    )
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    model_file = str(tmp_path / "fit" / "model.npz")
    argv = ["report", model_file, "--config", str(cfg), "--out", str(tmp_path / "rep"), "-q"]
    assert main([*argv, "--null-size", "0", "--bootstrap", "0"]) == EXIT_OK
    model = sr.load(model_file)
    sessions = []
    for s in sr.load_cohort(simulated):
        x = np.asarray(s.behavior)[:, [1, 0]] * (10.0 if s.name == "session2" else 1.0)
        sessions.append(
            sr.Session(
                x, s.neural, s.segments, name=s.name, feature_names=["x1", "x0"], rate=s.rate
            )
        )
    expected = model.score(sessions).session
    table = pd.read_csv(tmp_path / "rep" / "tables" / "sessions.csv", index_col=0)
    np.testing.assert_allclose(table["r2_in_sample"], expected.to_numpy())
    # without --config nor files: a one-line usage error
    assert main(["report", model_file]) == EXIT_USAGE
    assert "--config" in capsys.readouterr().err


def test_missing_files_exit_2(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "none.toml")]) == EXIT_USAGE
    assert main(["report", str(tmp_path / "none.npz"), str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"sharedrep fit: error: {tmp_path / 'none.toml'}: no such configuration file",
        f"sharedrep report: error: no model file at {tmp_path / 'none.npz'}",
    ]


def test_console_script_exit_code_and_stderr(tmp_path):
    """The installed entry point returns the exit code to the shell (what scripts see)."""
    res = subprocess.run(
        [sys.executable, "-m", "sharedrep.cli", "fit", str(tmp_path / "x.toml")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == EXIT_USAGE
    assert res.stdout == "" and res.stderr.count("\n") == 1


def test_info_lists_versions(capsys):
    assert main(["info"]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"sharedrep {sr.__version__}" in out
    assert f"numpy {np.__version__}" in out and "matplotlib" in out


def test_fit_single_session(tmp_path):
    """One session: no bootstrap over sessions, the encoding map cross-fits over folds."""
    folder = tmp_path / "one"
    argv = ["simulate", str(folder), "--sessions", "1", "--samples", "900", "--neurons", "8"]
    assert main([*argv, "-q"]) == EXIT_OK
    cfg = _config(folder, ranks="[1, 2, 3]", alphas="[1.0]")
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    enc = pd.read_csv(folder / "results" / "tables" / "encoding_neurons.csv")
    assert len(enc) == 8
    page = (folder / "results" / "index.html").read_text(encoding="utf-8")
    assert "No confidence bands" in page


def test_parser_lists_every_command():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert tuple(sub.choices) == COMMANDS
