"""Simulated cohorts with known ground truth (for tests, documentation, benchmarks and the demo).

:func:`cohort` draws sessions that share a low-dimensional behavioral representation ``W``
(temporal filters over behavioral variables and lags) read out by each session's own neurons:
``y_s(t) = mu_s + V_s' W' phi_s(t) + noise``. Sessions differ in length, trial structure, neuron
count and behavior: nothing is aligned across sessions. Its ``design="events"`` and drifts
reproduce trial-cut, stimulus-locked imaging.

:func:`lever_task` simulates the experiment ShaReD was made for: mice pushing a lever after an
auditory cue, imaged at 30 Hz, with thalamic axons and M1 neurons in every mouse, naive and
expert sessions (or days 1..N), an optogenetic tag on M1 neurons, and everything true returned
in a :class:`LeverTruth`.

Modules: ``_cohort`` (the generic model), ``_lever`` and ``_lever_truth`` (the lever task and
its truth), ``_common`` (counts and the slow drifts both use, :func:`smooth_drift`).
"""

from __future__ import annotations

from ..metrics import principal_angles
from ._cohort import Truth, cohort
from ._common import smooth_drift
from ._lever import CONDITIONS, LEVER_COMPONENTS, LEVER_FEATURES, calcium_kernel, lever_task
from ._lever_truth import UNIT_KINDS, LeverTruth

__all__ = [
    "CONDITIONS",
    "LEVER_COMPONENTS",
    "LEVER_FEATURES",
    "UNIT_KINDS",
    "LeverTruth",
    "Truth",
    "calcium_kernel",
    "cohort",
    "lever_task",
    "principal_angles",
    "smooth_drift",
]
