"""Exception and warning types raised by sharedrep.

Every error about user data names the session (or file, or argument) it concerns, so that a
message read in a log of a 40-session fit says where to look.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "ModelFileError",
    "NotFittedError",
    "OutputError",
    "SharedRepWarning",
    "SourceError",
]


class DataError(ValueError):
    """Input data are malformed or inconsistent (shapes, names, non-finite values, ...)."""


class ModelFileError(DataError):
    """A model file is not a sharedrep model, is from a newer format, or is corrupted."""


class NotFittedError(ValueError, AttributeError):
    """A model was used before it was fitted (as scikit-learn's ``NotFittedError``).

    A subclass of ``ValueError`` and ``AttributeError``, so that ``hasattr(model, "coef_")``
    is False before fitting and code written for scikit-learn catches it.
    """


class OutputError(OSError):
    """A file or folder could not be written (full disk, read-only, a file in the way); names it.

    A subclass of ``OSError`` with the original ``errno``; nothing is left half-written: the
    destination keeps its previous content.
    """

    def __str__(self) -> str:
        # the message names the file and the cause already; no "[Errno 28] ...: 'path'" around it
        return self.strerror if isinstance(self.strerror, str) else super().__str__()


class SharedRepWarning(UserWarning):
    """Something in the data was handled in a documented, non-default way (see the message)."""


class SourceError(DataError):
    """A lazily read data source (file, store, dataset) could not be read; names it."""
