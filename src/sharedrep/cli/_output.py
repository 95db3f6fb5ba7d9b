"""Output folders of the commands: staged, put into place when complete, locked.

A command that writes a folder of results (``fit``, ``report``, ``demo``) writes everything into
a staging folder inside it, ``<out>/.sharedrep-staging-<id>``, and moves the finished outputs
(``index.html``, ``model.npz``, ``config.toml``, ``tables/``, ``figures/``) into place only
once all are written. Hence

* an interrupted or failed run leaves the previous results as they were: never the tables of
  one fit next to the model of another, never a half-written file;
* before any analysis starts, the command has checked that it can write there: the output is
  not a file, the folder exists or can be made, a file can be written and synced in it (a
  read-only folder fails then, not after an hour of computing);
* a lock, ``<out>/.sharedrep.lock`` (an ``flock``, which the system releases if the process
  dies), refuses a second run into the same folder while one is running;
* nothing else in the folder is touched (a data folder can hold its results), and an output of
  the same name that sharedrep did not write (a ``tables/`` folder holding other files, say) is
  never replaced: the command refuses to start. The files a run wrote are recorded in
  ``<out>/.sharedrep-output`` (JSON).

The outputs are put into place by renames inside the folder (one file system): the previous
ones are first moved aside into ``.sharedrep-previous-<id>``, then a journal file marks the
commit, then the new ones are moved in. Whatever point a killed run reached, the next run (under
the lock) finds either the previous results (put back) or the new ones (completed).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._files import output_error
from ..errors import OutputError

__all__ = ["MARKER", "OUTPUTS", "check_writable", "output_folder"]

#: record of the files the last run wrote into an output folder (JSON)
MARKER = ".sharedrep-output"
#: what the commands write into an output folder, and what each holds
OUTPUTS = {
    "index.html": "file",
    "model.npz": "file",
    "config.toml": "file",
    "tables": ".csv",
    "figures": ".png",
}
_LOCK = ".sharedrep.lock"
_STAGING, _PREVIOUS, _JOURNAL = ".sharedrep-staging-", ".sharedrep-previous-", ".sharedrep-commit-"


@contextmanager
def output_folder(out: str | os.PathLike[str], command: str) -> Iterator[Path]:
    """A staging folder whose outputs are put into ``out`` when the block completes.

    Parameters
    ----------
    out : str or path-like
        The output folder (created if needed).
    command : str
        The command writing it (recorded, and named in messages).

    Yields
    ------
    pathlib.Path
        The staging folder: write every output there, under the names of ``OUTPUTS``.

    Raises
    ------
    OutputError
        ``out`` is a file; it holds an output of the same name that sharedrep did not write;
        it cannot be created or written; another run holds its lock; moving the outputs into
        place failed (the previous results are then kept).
    """
    out = Path(os.path.abspath(out))
    if out.exists() and not out.is_dir():
        raise OutputError(
            errno.ENOTDIR,
            f"the output folder {out} is a file; choose another output folder",
            str(out),
        )
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(err, "the output folder", out) from None
    staging = None
    try:
        with _lock(out, command):
            _recover(out)
            recorded = _check_outputs(out)
            staging = _staging(out)
            yield staging
            _record(out, staging, recorded, command)
            _commit(out, staging)
            staging = None
    finally:
        if staging is not None:  # failed or interrupted: the previous results stay
            shutil.rmtree(staging, ignore_errors=True)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # nothing was written: leave no empty folder behind


def check_writable(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` if needed and check that a file can be written and synced in it.

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputError
        Naming the folder and the cause (it is a file, read-only, the disk is full, ...).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(
            errno.ENOTDIR, f"cannot write to {folder}: it is a file, not a folder", str(folder)
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(err, "the folder", folder) from None
    _probe(folder, folder)
    return folder


# -- what is in the folder ----------------------------------------------------------------------
def _check_outputs(out: Path) -> list[str]:
    """The files the previous run recorded; refuse outputs of our names that are not ours."""
    recorded: list[str] = []
    if (out / MARKER).is_file():
        try:
            recorded = list(json.loads((out / MARKER).read_text())["files"])
        except (OSError, ValueError, KeyError, TypeError):
            recorded = []
    known = set(recorded)
    foreign = []
    for name, holds in OUTPUTS.items():
        entry = out / name
        if not entry.exists() and not entry.is_symlink():
            continue
        if holds == "file":
            ok = entry.is_file() and not entry.is_symlink()
            bad = [] if ok else [name]
        elif not entry.is_dir() or entry.is_symlink():
            bad = [name]
        else:
            bad = [
                p.relative_to(out).as_posix()
                for p in entry.rglob("*")
                if not p.is_file()
                or (known and p.relative_to(out).as_posix() not in known)
                or (not known and (p.suffix != holds or p.parent != entry))
            ]
        foreign += bad
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise OutputError(
            errno.EEXIST,
            f"the output folder {out} holds {shown}, which sharedrep did not write but would "
            "replace with its own outputs of the same names; choose another output folder (or "
            "move them)",
            str(out),
        )
    return recorded


def _record(out: Path, staging: Path, recorded: list[str], command: str) -> None:
    """Write the record of the outputs: those staged, and those of earlier runs that stay."""
    written = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()}
    replaced = {p.name for p in staging.iterdir()}
    kept = {f for f in recorded if Path(f).parts[0] not in replaced and (out / f).is_file()}
    (staging / MARKER).write_text(
        json.dumps({"command": command, "files": sorted(written | kept)}, indent=1) + "\n"
    )


# -- the lock -----------------------------------------------------------------------------------
@contextmanager
def _lock(out: Path, command: str) -> Iterator[None]:
    """Hold ``<out>/.sharedrep.lock`` (released by the system if the process dies)."""
    path = out / _LOCK
    try:
        import fcntl
    except ImportError:  # not POSIX: a lock file created exclusively, removed at the end
        fcntl = None
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | (0 if fcntl else os.O_EXCL), 0o666)
        except FileExistsError:
            raise _busy(out, path) from None
        except OSError as err:
            raise output_error(err, "to the output folder", out) from None
        if fcntl is None:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _busy(out, path) from None
        try:  # the file locked must still be the one at the path (not one just removed)
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} sharedrep {command}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)  # before unlocking: a run waiting then makes its own
        os.close(fd)


def _busy(out: Path, path: Path) -> OutputError:
    try:
        holder = " ".join(path.read_text().split()[:3])
    except OSError:
        holder = ""
    return OutputError(
        errno.EBUSY,
        f"another run ({holder or 'unknown process'}) is writing the output folder {out}; "
        f"wait for it to finish or choose another output folder (lock: {path})",
        str(out),
    )


# -- staging and commit -------------------------------------------------------------------------
def _staging(out: Path) -> Path:
    staging = out / f"{_STAGING}{secrets.token_hex(4)}"
    try:
        os.mkdir(staging, 0o777)  # the user's umask applies, as to any folder
    except OSError as err:
        raise output_error(err, "to the output folder", out) from None
    try:
        _probe(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _probe(folder: Path, named: Path) -> None:
    """Write, sync and remove a small file in ``folder`` (read-only or full: an error now)."""
    probe = folder / f".probe-{secrets.token_hex(4)}"
    try:
        with open(probe, "wb") as f:
            f.write(b"sharedrep checks that it can write here\n" * 64)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        raise output_error(err, "to", named) from None
    finally:
        probe.unlink(missing_ok=True)


def _commit(out: Path, staging: Path) -> None:
    """Move the staged outputs into ``out``, the ones they replace aside first (see module)."""
    token = staging.name[len(_STAGING) :]
    previous, journal = out / f"{_PREVIOUS}{token}", out / f"{_JOURNAL}{token}"
    names = [p.name for p in staging.iterdir()]
    try:
        os.mkdir(previous, 0o777)
        for name in names:  # phase 1: the outputs replaced go aside
            if (out / name).exists() or (out / name).is_symlink():
                os.rename(out / name, previous / name)
        journal.touch()  # from here on, a killed run is completed by the next one
    except OSError as err:
        _undo(out, previous)
        raise output_error(err, "the outputs into", out) from None
    try:
        _finish(out, staging, previous, journal)
    except OSError as err:
        raise output_error(err, "the outputs into", out) from None


def _finish(out: Path, staging: Path, previous: Path, journal: Path) -> None:
    """Phase 2: the staged outputs move in; then the working folders go."""
    for entry in list(staging.iterdir()):
        os.rename(entry, out / entry.name)
    staging.rmdir()
    shutil.rmtree(previous, ignore_errors=True)
    journal.unlink(missing_ok=True)


def _undo(out: Path, previous: Path) -> None:
    """Put back the outputs moved aside (a commit stopped before its journal was written)."""
    if previous.is_dir():
        for entry in list(previous.iterdir()):
            if not (out / entry.name).exists():
                os.rename(entry, out / entry.name)
        shutil.rmtree(previous, ignore_errors=True)


def _recover(out: Path) -> None:
    """After a killed run: complete its commit, or put its previous outputs back, or clean up."""
    for journal in out.glob(f"{_JOURNAL}*"):
        token = journal.name[len(_JOURNAL) :]
        staging, previous = out / f"{_STAGING}{token}", out / f"{_PREVIOUS}{token}"
        if staging.is_dir():
            _finish(out, staging, previous, journal)
        else:
            shutil.rmtree(previous, ignore_errors=True)
            journal.unlink(missing_ok=True)
    for previous in out.glob(f"{_PREVIOUS}*"):  # no journal: the commit never started phase 2
        _undo(out, previous)
    for staging in out.glob(f"{_STAGING}*"):  # killed while computing
        shutil.rmtree(staging, ignore_errors=True)
