"""Writing files so that a failure never leaves a half-written result, with the user's umask.

:func:`atomic_write` writes to a temporary file next to the destination and renames it into
place once it is complete and flushed to disk: an interrupted or failed write (a full disk, a
killed process) leaves the destination as it was, and a reader never sees a partial file. The
temporary file is created with mode ``0o666`` less the process's umask, like any file ``open``
creates (``tempfile.mkstemp`` would make it ``0o600`` whatever the umask). Failures become
:class:`~sharedrep.errors.OutputError` (an ``OSError`` with the original ``errno``) naming the
destination.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import OutputError

__all__ = ["atomic_write", "output_error"]


def output_error(err: OSError, what: str, path: str | os.PathLike[str]) -> OutputError:
    """An :class:`OutputError` naming ``what`` and ``path`` with the cause of ``err``."""
    if isinstance(err, OutputError):
        return err
    cause = err.strerror or str(err) or type(err).__name__
    return OutputError(err.errno, f"cannot write {what} {path}: {cause}", str(path))


@contextmanager
def atomic_write(path: str | os.PathLike[str], what: str = "file") -> Iterator[IO[bytes]]:
    """Open a binary file that replaces ``path`` only once it is complete.

    Parameters
    ----------
    path : str or path-like
        Destination; its folder must exist.
    what : str
        What the file is, for messages (``"model file"``, ``"session file"``).

    Yields
    ------
    file object
        Opened for binary writing. On a normal exit it is flushed, synced to disk and renamed
        to ``path`` (replacing any file there); on an exception it is removed and ``path`` is
        left untouched.

    Raises
    ------
    OutputError
        The folder is missing or read-only, the disk is full, ``path`` is a folder, ...
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    if path.is_dir():
        raise OutputError(21, f"cannot write {what} {path}: it is a folder", str(path))
    try:
        # O_EXCL: never follows or reuses another file; 0o666 less the umask, as open() does
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as err:
        raise output_error(err, what, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise output_error(err, what, path) from err
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
