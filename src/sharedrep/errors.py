"""Exception and warning types raised by sharedrep.

Every error about user data names the session (or file, or argument) it concerns, so that a
message read in a log of a 40-session fit says where to look.
"""

from __future__ import annotations

__all__ = ["DataError", "ModelFileError", "SharedRepWarning", "SourceError"]


class DataError(ValueError):
    """Input data are malformed or inconsistent (shapes, names, non-finite values, ...)."""


class ModelFileError(DataError):
    """A model file is not a sharedrep model, is from a newer format, or is corrupted."""


class SharedRepWarning(UserWarning):
    """Something in the data was handled in a documented, non-default way (see the message)."""


class SourceError(DataError):
    """A lazily read data source (file, store, dataset) could not be read; names it."""
