"""Reading sessions from files and from pynapple objects, one module per source.

* :mod:`~sharedrep.io.nwb`: NWB files (:func:`read_nwb`, ``Session.from_nwb``).
* :mod:`~sharedrep.io.pynapple`: pynapple objects (:func:`from_pynapple`).
* :mod:`~sharedrep.io.npz`: the project's npz layout (:func:`read_npz`, :func:`write_npz`).
* :mod:`~sharedrep.io.folder`: a folder of session files (:func:`load_cohort`).
* :mod:`~sharedrep.io.trials`: data already cut into trials (:func:`from_trials`).
* :mod:`~sharedrep.io.datasets`: public example recordings fetched by pinned URL and SHA-256
  (``sr.datasets``; imported on use, it needs pooch and scipy).
* :mod:`~sharedrep.io._timebase`: what they share: resampling behavior onto the neural time
  base and turning trials into segments.

Errors about a file (missing module, unknown series name, no overlap in time, mismatched
rates, an unreadable file) are :class:`~sharedrep.errors.DataError` whose message starts with
the file's path and names the missing or inconsistent part.
"""

from .folder import load_cohort
from .npz import read_npz, write_npz
from .nwb import read_nwb
from .pynapple import from_pynapple
from .trials import from_trials

__all__ = ["from_pynapple", "from_trials", "load_cohort", "read_npz", "read_nwb", "write_npz"]
