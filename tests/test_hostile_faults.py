"""Hostile conditions, family "faults": output folders that cannot be written, full disks,
interrupted and concurrent runs of the command line.

Promises checked here: the command checks its output before the analysis starts, an I/O
failure is exit 2 with one line naming the file and the cause, an interrupted or failed run
leaves the previous results exactly as they were, two runs never write one folder at once, and
files the command did not write are never touched.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import sharedrep as sr
from sharedrep.cli import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, _output, main
from sharedrep.cli._output import MARKER, output_folder

CONFIG = """folder = "{folder}"
lags = {{min = -1, max = 1}}
ranks = [1]
alphas = [1.0]
folds = 2
null_size = 0
bootstrap = {bootstrap}
output = "{output}"
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-cli") / "data"
    argv = ["simulate", str(folder), "--sessions", "3", "--samples", "300", "--neurons", "5"]
    assert main([*argv, "--features", "2", "-q"]) == EXIT_OK
    return folder


def config(where: Path, data: Path, output: Path, bootstrap: int = 0) -> Path:
    path = where / "fit.toml"
    path.write_text(CONFIG.format(folder=data, output=output, bootstrap=bootstrap))
    return path


@pytest.fixture(scope="module")
def previous(data, tmp_path_factory) -> Path:
    """The results of one complete run, copied by the tests that need earlier results."""
    where = tmp_path_factory.mktemp("previous")
    out = where / "results"
    assert main(["fit", "-q", str(config(where, data, out))]) == EXIT_OK
    return out


def with_previous(previous: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "results"
    shutil.copytree(previous, out)
    return out, snapshot(out)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture()
def no_analysis(monkeypatch):
    """Make any analysis an internal error (exit 1): exit 2 then proves it never started."""

    def boom(*args, **kwargs):
        raise RuntimeError("the analysis started")

    monkeypatch.setattr(sr.ShaReDCV, "fit", boom)


# -- outputs checked before the analysis --------------------------------------------------------
def test_an_output_that_is_a_file_is_refused_before_the_analysis(
    data, tmp_path, capsys, no_analysis
):
    out = tmp_path / "results"
    out.write_text("not a folder")
    assert main(["fit", str(config(tmp_path, data, out))]) == EXIT_USAGE
    line = one_line(capsys)
    assert (
        line
        == f"sharedrep fit: error: the output folder {out} is a file; choose another output folder"
    )
    assert out.read_text() == "not a folder"


def test_an_output_inside_a_file_is_refused_before_the_analysis(
    data, tmp_path, capsys, no_analysis
):
    (tmp_path / "blocker").write_text("x")
    out = tmp_path / "blocker" / "results"
    assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_USAGE
    assert f"cannot write the output folder {out}: Not a directory" in one_line(capsys)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes read-only folders")
def test_a_read_only_output_is_refused_before_the_analysis(data, tmp_path, capsys, no_analysis):
    out = tmp_path / "results"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_USAGE
    finally:
        out.chmod(0o755)
    assert "Permission denied" in one_line(capsys)


def test_a_read_only_file_system_is_refused_before_the_analysis(
    data, tmp_path, capsys, monkeypatch, no_analysis
):
    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):
        if ".sharedrep-staging-" in str(path):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(_output.os, "mkdir", read_only)
    out = tmp_path / "results"
    assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_USAGE
    assert one_line(capsys).endswith(
        f"cannot write to the output folder {out}: Read-only file system"
    )
    assert not out.exists()  # nothing left behind, not even an empty folder


def test_a_full_disk_is_found_before_the_analysis(data, tmp_path, capsys, monkeypatch, no_analysis):
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_output.os, "fsync", full)
    out = tmp_path / "results"
    try:
        code = main(["fit", "-q", str(config(tmp_path, data, out))])
    finally:
        monkeypatch.setattr(_output.os, "fsync", real_fsync)
    assert code == EXIT_USAGE
    assert one_line(capsys).endswith(f"cannot write to {out}: No space left on device")


def test_report_and_demo_check_their_output_too(tmp_path, capsys, no_analysis, previous):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    argv = ["report", str(previous / "model.npz"), str(previous.parent), "--out", str(blocker)]
    assert main(argv) == EXIT_USAGE
    assert "the output folder" in one_line(capsys)
    assert main(["demo", "--out", str(blocker)]) == EXIT_USAGE
    assert f"sharedrep demo: error: the output folder {blocker} is a file" in one_line(capsys)
    assert main(["simulate", str(blocker), "-q"]) == EXIT_USAGE
    assert f"cannot write to {blocker}: it is a file, not a folder" in one_line(capsys)


# -- failures after the analysis: the previous results stay --------------------------------------
def test_a_full_disk_while_saving_the_model_keeps_the_previous_results(
    data, previous, tmp_path, capsys, monkeypatch
):
    out, before = with_previous(previous, tmp_path)

    def full(f, **kw):
        f.write(b"PK\x03\x04")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sr.persist.np, "savez_compressed", full)
    assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_USAGE
    line = one_line(capsys)
    assert line.startswith("sharedrep fit: error: cannot write model file ")
    assert line.endswith("model.npz: No space left on device")
    assert snapshot(out) == before  # byte for byte
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [MARKER]


def test_an_interrupted_rerun_keeps_the_previous_results(
    data, previous, tmp_path, capsys, monkeypatch
):
    out, before = with_previous(previous, tmp_path)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sharedrep.reporting.report", interrupt)
    assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_INTERRUPTED
    assert one_line(capsys) == "sharedrep fit: interrupted"
    assert snapshot(out) == before
    assert not list(out.glob(".sharedrep-staging-*")) and not (out / ".sharedrep.lock").exists()


def test_an_internal_error_keeps_the_previous_results(
    data, previous, tmp_path, capsys, monkeypatch
):
    out, before = with_previous(previous, tmp_path)

    def bug(self, *args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(sr.ShaReD, "save", bug)
    assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_FAILURE
    assert "internal error (ZeroDivisionError: a bug)" in capsys.readouterr().err
    assert snapshot(out) == before


def test_a_rerun_replaces_every_output_no_mix_of_two_fits(data, previous, tmp_path):
    out, before = with_previous(previous, tmp_path)  # a run without bootstrap bands
    assert main(["fit", "-q", str(config(tmp_path, data, out, bootstrap=10))]) == EXIT_OK
    fresh = tmp_path / "fresh"
    assert main(["fit", "-q", str(config(tmp_path, data, fresh, bootstrap=10))]) == EXIT_OK
    assert sorted(snapshot(out)) == sorted(snapshot(fresh))  # the same files as a clean run
    assert snapshot(out)["model.npz"] != before["model.npz"]
    np.testing.assert_allclose(sr.load(out / "model.npz").coef_, sr.load(fresh / "model.npz").coef_)


# -- concurrent runs ----------------------------------------------------------------------------
def test_a_second_run_into_a_folder_being_written_is_refused(data, tmp_path, capsys, no_analysis):
    out = tmp_path / "results"
    out.mkdir()
    with _output._lock(out, "fit"):
        assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_USAGE
        line = one_line(capsys)
    assert f"another run ({os.getpid()} sharedrep fit) is writing the output folder {out}" in line
    assert not (out / ".sharedrep.lock").exists()  # released


def test_the_lock_is_released_after_a_run(data, tmp_path):
    out = tmp_path / "results"
    for _ in range(2):
        assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_OK
    assert not (out / ".sharedrep.lock").exists()


# -- a killed run: the next one completes or undoes its commit ----------------------------------
def _killed_commit(out: Path, phase: int) -> dict[str, bytes]:
    """Leave ``out`` as a run killed in phase 1 or 2 of its commit leaves it; returns the new
    outputs that run had staged."""
    staging, previous = out / ".sharedrep-staging-dead", out / ".sharedrep-previous-dead"
    staging.mkdir()
    (staging / "index.html").write_text("new report")
    (staging / "tables").mkdir()
    (staging / "tables" / "cv_summary.csv").write_text("new table")
    kept = [f for f in snapshot(out) if not f.startswith(("index.html", "tables/", "."))]
    files = ["index.html", "tables/cv_summary.csv", *kept]
    (staging / MARKER).write_text(json.dumps({"command": "fit", "files": files}))
    staged = snapshot(staging)
    previous.mkdir()
    os.rename(out / "index.html", previous / "index.html")  # phase 1 had begun
    if phase == 2:
        os.rename(out / "tables", previous / "tables")
        os.rename(out / MARKER, previous / MARKER)
        (out / ".sharedrep-commit-dead").touch()
        os.rename(staging / "index.html", out / "index.html")  # phase 2 had begun
    return staged


def test_a_commit_killed_in_its_second_phase_is_completed(previous, tmp_path):
    out, before = with_previous(previous, tmp_path)
    staged = _killed_commit(out, phase=2)
    with output_folder(out, "fit") as staging:
        assert not list(out.glob(".sharedrep-[scp]*-dead*"))  # recovered under the lock
        (staging / "model.npz").write_bytes(before["model.npz"])
    now = snapshot(out)
    assert now["index.html"] == staged["index.html"] == b"new report"
    assert now["tables/cv_summary.csv"] == b"new table"
    assert "tables/cv_neurons.csv" not in now  # tables replaced as a whole, not mixed


def test_a_commit_killed_in_its_first_phase_is_undone(previous, tmp_path):
    out, before = with_previous(previous, tmp_path)
    _killed_commit(out, phase=1)
    with output_folder(out, "fit"):
        pass
    now = snapshot(out)
    del now[MARKER], before[MARKER]
    assert now == before  # the previous results, all of them


# -- files the command did not write ------------------------------------------------------------
def test_a_foreign_file_among_the_tables_is_never_replaced(
    previous, data, tmp_path, capsys, no_analysis
):
    out, _ = with_previous(previous, tmp_path)
    (out / "tables" / "my_notes.txt").write_text("mine")
    assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_USAGE
    line = one_line(capsys)
    assert (
        f"the output folder {out} holds tables/my_notes.txt, which sharedrep did not write" in line
    )
    assert (out / "tables" / "my_notes.txt").read_text() == "mine"


def test_an_older_output_folder_without_a_record_is_recognised(previous, data, tmp_path):
    out, _ = with_previous(previous, tmp_path)
    (out / MARKER).unlink()  # as written before the record existed
    assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_OK
    assert (out / MARKER).is_file()


def test_results_in_the_data_folder_leave_the_data_untouched(data, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(data, folder)
    before = snapshot(folder)
    cfg = config(tmp_path, folder, folder)
    for _ in range(2):  # the second run: the first one's model.npz is not a session
        assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    now = snapshot(folder)
    assert {k: now[k] for k in before} == before
    record = (folder / MARKER).read_text()
    assert '"model.npz"' in record and "session0.npz" not in record


def test_outputs_are_created_with_the_users_umask(data, tmp_path):
    out = tmp_path / "results"
    old = os.umask(0o027)
    try:
        assert main(["fit", "-q", str(config(tmp_path, data, out))]) == EXIT_OK
    finally:
        os.umask(old)
    assert os.stat(out / "model.npz").st_mode & 0o777 == 0o640
    assert os.stat(out / "index.html").st_mode & 0o777 == 0o640
    assert os.stat(out / "tables").st_mode & 0o777 == 0o750
