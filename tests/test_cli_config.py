"""The TOML configuration reaches the Python API's options, and errors speak its language."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

import sharedrep as sr
from sharedrep.cli import EXIT_OK, EXIT_USAGE, main
from sharedrep.config import is_model_file, read_config

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fit.toml"

BASE = {
    "folder": '"."',
    "lags": "{min = -2, max = 2}",
    "ranks": "[1, 2]",
    "alphas": "[1.0]",
    "folds": "3",
    "null_size": "0",
    "bootstrap": "0",
    "output": '"results"',
}


def _config(where, name="fit.toml", **extra) -> object:
    lines = {**BASE, **extra}
    path = where / name
    path.write_text("".join(f"{k} = {v}\n" for k, v in lines.items() if v is not None))
    return path


@pytest.fixture()
def sessions(tmp_path):
    folder = tmp_path / "data"
    argv = ["simulate", str(folder), "--sessions", "3", "--samples", "600", "--neurons", "8"]
    assert main([*argv, "--features", "2", "-q"]) == EXIT_OK
    return folder


def _error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_nan_policy_is_a_key_and_the_error_says_so(sessions, capsys):
    path = sessions / "session1.npz"
    data = dict(np.load(path))
    data["neural"][10:13, 0] = np.nan
    np.savez(path, **data)
    cfg = _config(sessions)
    assert main(["fit", "-q", str(cfg)]) == EXIT_USAGE
    err = _error(capsys)
    assert "session 'session1'" in err and "3 neural samples contain NaN or inf" in err
    assert f'set nan_policy = "omit" in {cfg}' in err  # not Python's nan_policy='omit'
    assert "nan_policy='omit'" not in err
    cfg = _config(sessions, nan_policy='"omit"')
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    assert "omitting 3 of 600 samples" in capsys.readouterr().err
    model = sr.load(sessions / "results" / "model.npz")
    assert model.session_fits_["session1"].n_samples < model.session_fits_["session0"].n_samples
    cfg = _config(sessions, nan_policy='"drop"')
    assert main(["fit", "-q", str(cfg)]) == EXIT_USAGE
    assert "key 'nan_policy': expected one of ['raise', 'omit']" in _error(capsys)


def test_n_restarts_reaches_the_model(sessions):
    cfg = _config(sessions, n_restarts="2")
    assert read_config(cfg).model_params()["n_restarts"] == 2
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    model = sr.load(sessions / "results" / "model.npz")
    assert model.n_restarts == 2
    cohort = sr.load_cohort(sessions)
    ref = sr.ShaReD(model.n_components, alpha=1.0, lags=range(-2, 3), n_restarts=2).fit(cohort)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"backend": '"gpu"'}, "key 'backend': expected one of ['serial', 'dask']"),
        (
            {"backend": '"serial"', "cluster": '"tcp://host:8786"'},
            "key 'backend': 'serial' with a 'cluster'",
        ),
        ({"cluster": "{workers = 2}"}, "key 'cluster': unknown local-cluster options ['workers']"),
        ({"cluster": "3"}, "key 'cluster': expected a scheduler address or a table"),
        ({"n_restarts": "-1"}, "key 'n_restarts': expected an integer >= 0"),
        ({"folder": None, "dataset": '"mnist"'}, "key 'dataset': unknown dataset 'mnist'"),
        (
            {"folder": None, "dataset": '{name = "reaching", mice = ["a"]}'},
            "key 'dataset': unknown options ['mice'] for 'reaching'",
        ),
        ({"dataset": '"reaching"'}, "give exactly one of 'folder'"),
    ],
)
def test_bad_new_keys_exit_2_naming_the_key(sessions, capsys, extra, message):
    cfg = _config(sessions, **extra)
    assert main(["fit", str(cfg)]) == EXIT_USAGE
    err = _error(capsys)
    assert err.startswith(f"sharedrep fit: error: {cfg}") and message in err


def test_backend_dask_on_a_local_cluster_gives_the_serial_result(sessions):
    pytest.importorskip("distributed")
    cluster = "{n_workers = 1, threads_per_worker = 1, processes = false}"
    cfg = _config(sessions, cluster=cluster, output='"on-cluster"')
    assert read_config(cfg).backend == "dask"
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    assert main(["fit", "-q", str(_config(sessions, name="serial.toml"))]) == EXIT_OK
    a = sr.load(sessions / "on-cluster" / "model.npz")
    b = sr.load(sessions / "results" / "model.npz")
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-9)
    assert sr.backend._active is None  # the cluster is closed after the command


def test_fit_on_a_folder_points_at_its_configuration(sessions, tmp_path, capsys):
    assert main(["fit", str(sessions)]) == EXIT_USAGE
    err = _error(capsys)
    assert f"{sessions} is a folder" in err and f"did you mean {sessions / 'fit.toml'}?" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["fit", str(empty)]) == EXIT_USAGE
    assert f'e.g. {empty / "fit.toml"} with the line folder = "."' in _error(capsys)


def test_output_in_the_data_folder_is_never_read_back(sessions, capsys):
    cfg = _config(sessions, output='"."')
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    assert is_model_file(sessions / "model.npz")
    assert not is_model_file(sessions / "session0.npz")
    first = sr.load(sessions / "model.npz")
    assert main(["fit", str(cfg)]) == EXIT_OK  # the second run: model.npz is not a session
    out = capsys.readouterr().out
    assert f"Not a session (a sharedrep model file, left out): {sessions / 'model.npz'}" in out
    second = sr.load(sessions / "model.npz")
    assert list(second.session_fits_) == ["session0", "session1", "session2"]
    np.testing.assert_allclose(second.coef_, first.coef_)
    # named as a session file: an error
    cfg = _config(sessions, name="bad.toml", folder=None, files='["model.npz"]')
    assert main(["fit", str(cfg)]) == EXIT_USAGE
    assert "model.npz is a sharedrep model file, not a session" in _error(capsys)
    # the report command on the data folder leaves it out too
    argv = ["report", str(sessions / "model.npz"), str(sessions), "--out", str(sessions / "r")]
    assert main([*argv, "--null-size", "0", "--bootstrap", "0"]) == EXIT_OK


def test_report_lists_the_inputs_with_their_checksums(sessions):
    cfg = _config(sessions)
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    page = (sessions / "results" / "index.html").read_text(encoding="utf-8")
    for f in (cfg, *sorted(sessions.glob("session*.npz"))):
        assert hashlib.sha256(f.read_bytes()).hexdigest() in page, f


def test_nwb_bin_size_advice_names_the_toml_table(tmp_path, capsys):
    pytest.importorskip("pynwb")
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    folder = tmp_path / "nwb"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(2):
        nwb = NWBFile(
            session_description="s",
            identifier=f"id{k}",
            session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        )
        beh = nwb.create_processing_module("behavior", "behavior")
        beh.add(TimeSeries(name="speed", data=rng.normal(size=2000), unit="m/s", rate=100.0))
        for _ in range(4):
            nwb.add_unit(spike_times=np.sort(rng.uniform(0, 20, size=200)))
        with NWBHDF5IO(str(folder / f"s{k}.nwb"), "w") as io:
            io.write(nwb)
    cfg = _config(folder, lags="{min = -1, max = 1}", ranks="[1]")
    assert main(["fit", "-q", str(cfg)]) == EXIT_USAGE
    err = _error(capsys)
    assert "needs bin_size (seconds): set nwb = {bin_size = 0.05} in" in err and str(cfg) in err
    cfg = _config(folder, lags="{min = -1, max = 1}", ranks="[1]", nwb="{bin_size = 0.05}")
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK


@pytest.mark.usefixtures("raw_data")  # skips when ../shared/data/raw is absent
def test_the_reaching_example_runs_from_the_dataset_key(tmp_path, capsys):
    """examples/fit.toml as shipped, with a small grid; files served from ../shared/data/raw."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = re.sub(r"^ranks = .*$", "ranks = [1, 2]", text, flags=re.M)
    text = re.sub(r"^alphas = .*$", "alphas = [1000.0]", text, flags=re.M)
    text = re.sub(r"^null_size = .*$", "null_size = 0", text, flags=re.M)
    cfg = tmp_path / "fit.toml"
    cfg.write_text(text, encoding="utf-8")
    assert main(["fit", str(cfg)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Dataset 'reaching'" in out
    model = sr.load(tmp_path / "reaching-results" / "model.npz")
    assert list(model.session_fits_) == ["m1_stevenson2011", "s1_area2"]
    page = (tmp_path / "reaching-results" / "index.html").read_text(encoding="utf-8")
    reg = sr.datasets.registry()
    for key in ("spykesml/m1_stevenson_2011.mat", "spykesml/s1_data.mat"):
        assert reg.loc[key, "sha256"] in page  # the original files, checked and listed


def test_unit_advice_is_written_from_the_librarys_own_messages(small_cohort):
    """The rescale hint is parsed from the warnings the library emits (so they stay in step)."""
    import warnings

    from sharedrep.cli import _cli_terms

    cohort, truth = small_cohort

    def scaled(s, f):
        return sr.Session(np.asarray(s.behavior) * f, s.neural, s.segments, name=s.name)

    def message(sessions):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            sr.ShaReD(1, lags=truth.lags).fit(sessions)
        (w,) = [str(r.message) for r in rec if "Are the units" in str(r.message)]
        return w

    one = message([cohort[0], scaled(cohort[1], 100.0), cohort[2], cohort[3]])
    assert _cli_terms(one, "fit.toml").endswith(
        "If not, rescale = {session1 = 0.01} in fit.toml brings them in line."
    )
    two = message([scaled(cohort[0], 0.01), cohort[1]])
    assert "rescale = {session0 = 100} or {session1 = 0.01} in fit.toml" in _cli_terms(
        two, "fit.toml"
    )


# -- trial-based keys (issue 10) ---------------------------------------------------------------
@pytest.fixture()
def event_sessions(tmp_path):
    """Trial-cut event sessions with a running-speed variable in the behavior."""
    cohort, _ = sr.simulate.cohort(
        n_sessions=3, n_samples=900, n_neurons=10, n_features=2, design="events",
        lags=range(0, 6), trial_length=(25, 35), seed=4,
    )  # fmt: skip
    folder = tmp_path / "events"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for s in cohort:
        X = np.column_stack([np.asarray(s.behavior), rng.normal(size=s.n_samples)])
        sr.Session(
            X, s.neural, s.segments, name=s.name, feature_names=["ev0", "ev1", "running"],
            rate=s.rate,
        ).to_npz(folder / f"{s.name}.npz")  # fmt: skip
    return folder


def test_trial_keys_reach_the_model_and_its_folds(event_sessions):
    cfg = read_config(
        _config(
            event_sessions,
            lags="{min = 0, max = 5}",
            edges="{'ev*' = 'zero'}",
            split='"interleaved"',
            drift="3",
            covariates="['running']",
        )
    )
    assert cfg.edges == {"ev*": "zero"} and cfg.split == "interleaved"
    assert cfg.model_params()["drift"] == 3 and cfg.covariates == ("running",)
    assert main(["fit", "-q", str(event_sessions / "fit.toml")]) == EXIT_OK
    model = sr.load(event_sessions / "results" / "model.npz")
    assert model.edges == {"ev*": "zero"} and model.drift == 3
    assert model.expansion_.zero_edges == (True, True)  # running left the behavior
    assert model.feature_names_ == ("ev0", "ev1")
    fit = next(iter(model.session_fits_.values()))
    assert fit.nuisance_names == ("running", "drift1", "drift2", "drift3")
    assert model.cv_provenance_["fold_scheme"].startswith("interleaved segments")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"edges": '"pad"'}, "key 'edges': expected one of ['drop', 'zero']"),
        ({"edges": "{x = 'pad'}"}, "key 'edges': each variable's rule must be one of"),
        ({"split": '"random"'}, "key 'split': expected one of ['auto', 'interleaved', 'blocks']"),
        ({"drift": "-1"}, "key 'drift': expected an integer >= 0"),
        ({"covariates": '"running"'}, "key 'covariates': expected a list of variable names"),
        (
            {"covariates": "['running']", "variables": "['running']"},
            "key 'covariates': ['running'] are also in 'variables'",
        ),
    ],
)
def test_bad_trial_keys_exit_2_with_one_line(event_sessions, capsys, extra, message):
    assert main(["fit", "-q", str(_config(event_sessions, **extra))]) == EXIT_USAGE
    assert message in _error(capsys)


@pytest.mark.slow
def test_the_v1_example_runs_on_trial_cut_recordings(tmp_path, raw_data, capsys):
    """examples/v1_gratings.toml as written (smaller null and bootstrap), served locally."""
    text = (EXAMPLE.parent / "v1_gratings.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^bootstrap = \d+", "bootstrap = 20", text)
    text = re.sub(r"(?m)^permutations = \d+", "permutations = 100", text)
    cfg = tmp_path / "v1.toml"
    cfg.write_text(text, encoding="utf-8")
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    model = sr.load(tmp_path / "v1-results" / "model.npz")
    assert model.expansion_.zero_edges == (True,) * 8 and model.n_components >= 2
    assert model.cv_provenance_["r2_heldout"] > 0
    page = (tmp_path / "v1-results" / "index.html").read_text(encoding="utf-8")
    assert "interleaved segments" in page and "running_speed, pupil_z" in page
