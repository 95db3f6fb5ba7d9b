"""The lever-push task: a simulator of the experiment ShaReD was made for.

Public through :mod:`sharedrep.simulate` (``sr.simulate.lever_task``, ``LeverTruth``,
``calcium_kernel``); it has its own module because it simulates one experiment in detail
(behavior, two populations, an optogenetic tag, learning over days), a concept of its own
next to the generic :func:`sharedrep.simulate.cohort`.

The effects the study asked about are parameters, and each has a null:

* **enrichment**: M1 neurons tagged as thalamus-driven (``neuron_info["thalamus_driven"]``)
  encode the push more often than untagged ones by ``tag_enrichment`` (a difference of
  probabilities, growing with learning); ``tag_enrichment=0`` is the null;
* **lead**: thalamic axons' push response leads M1's by about ``thalamic_lead`` seconds
  (growing with expertise); ``thalamic_lead=0`` is the null;
* **days**: ``days=N`` records every mouse on days 1..N and everything changes gradually along
  ``learning_curve`` (default linear); a constant curve is the null of no trend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

from ..data import Cohort, Session
from ..features import TemporalExpansion
from ._common import add_drifts, check_drifts, draw
from ._lever_truth import MOVEMENT_FEATURES, OTHER_FRACTION, UNIT_KINDS, LeverTruth

__all__ = ["MOVEMENT_FEATURES", "UNIT_KINDS", "LeverTruth", "calcium_kernel", "lever_task"]

LEVER_FEATURES = ("cue", "lever_pos", "lever_vel", "lick", "body")
LEVER_COMPONENTS = ("cue", "push_early", "push_late", "lick")
CONDITIONS = ("naive", "expert")

#: behavior of each condition: mean cue-to-push latency (s) and trial-to-trial variability (sd
#: of log-latency, relative sd of amplitude and of log-duration); experts are faster and more
#: stereotyped, naive mice also push spontaneously between cues and miss some rewards. Days
#: between the two interpolate linearly along the learning curve.
_BEHAVIOR = {
    "naive": {"latency": 0.8, "sd_latency": 0.45, "sd_amp": 0.35, "sd_dur": 0.35,
              "p_spont": 0.5, "p_reward": 0.7},
    "expert": {"latency": 0.4, "sd_latency": 0.15, "sd_amp": 0.1, "sd_dur": 0.1,
               "p_spont": 0.1, "p_reward": 0.95},
}  # fmt: skip

#: fraction of units of each kind encoding the push (naive, expert); cue and lick: each unit
#: with probability OTHER_FRACTION
_PUSH_FRACTION = {"thalamic_axon": (0.2, 0.55), "m1": (0.3, 0.4)}
#: weight of an M1 push encoder's readout on ``push_early`` (the rest on ``push_late``)
_M1_EARLY_WEIGHT = 0.2
#: ``push_early`` is ``push_late`` shifted earlier by this many samples at 30 Hz (0.1 s)
_PUSH_SEPARATION = 3
#: sd of each unit's own offset of that weight
_EARLY_WEIGHT_SD = 0.1


def calcium_kernel(rate: float, tau_rise: float = 0.05, tau_decay: float = 0.25,
                   length: float = 0.4) -> np.ndarray:  # fmt: skip
    """Difference-of-exponentials calcium kernel, peak 1, truncated at ``length`` seconds.

    Parameters
    ----------
    rate : float
        Sampling rate (Hz).
    tau_rise, tau_decay : float
        Rise and decay time constants (s); the defaults are in the range of GCaMP6f.
    length : float
        Duration (s); the simulated data use the truncated kernel, so the truth is exact.

    Returns
    -------
    ndarray, shape (k,)
        Response at lags ``0 .. k-1`` samples (0 at lag 0: the response is causal).
    """
    j = np.arange(max(round(length * rate), 2)) / rate
    k = np.exp(-j / tau_decay) - np.exp(-j / tau_rise)
    return k / k.max()


def _lever_filters(rng: np.random.Generator, drive_lags: np.ndarray, rate: float) -> np.ndarray:
    """Drive filters (p, L, d) of the four shared components, in samples of ``rate``.

    cue: a sensory response 30-130 ms after the tone; push_late: activity around the movement
    (velocity leading by ~33 ms, position); push_early: the same filter 100 ms earlier, so that
    a unit's mixture of the two sets how much its push response leads the movement; lick:
    around each lick. Small random loadings on the other events (cue, lick) keep the filters
    from being axis-aligned.
    """
    p, L, d = len(LEVER_FEATURES), drive_lags.size, len(LEVER_COMPONENTS)
    f = {name: i for i, name in enumerate(LEVER_FEATURES)}
    lag = drive_lags.astype(float)
    s = rate / 30.0  # lags are specified at 30 Hz

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((lag - centre * s) / (width * s)) ** 2)

    G = np.zeros((p, L, d))
    G[f["cue"], :, 0] = bump(2, 1)
    for k, centre in ((1, -1 - _PUSH_SEPARATION), (2, -1)):
        G[f["lever_vel"], :, k] = bump(centre, 1.5)
        G[f["lever_pos"], :, k] = 0.5 * bump(centre + 1, 2)
    G[f["lick"], :, 3] = bump(0, 1)
    # small random loadings on the other events keep the filters from being axis-aligned; none
    # on the movement, so that only the push components make a movement-related response
    # (the timing that compare_populations measures)
    events = [f["cue"], f["lick"]]
    for k in range(d):
        others = [i for i in events if not G[i, :, k].any()]
        G[others, :, k] += 0.1 * rng.normal(size=(len(others), 1)) * bump(0, 2)
    return G


def _behavior_at(progress: float) -> dict[str, float]:
    """Behavioral parameters at a learning progress (0 naive .. 1 expert), interpolated."""
    a, b = _BEHAVIOR["naive"], _BEHAVIOR["expert"]
    return {k: (1 - progress) * a[k] + progress * b[k] for k in a}


def _lever_session(
    rng: np.random.Generator,
    rate: float,
    beh: Mapping[str, float],
    mouse: Mapping[str, float],
    n_trials: int | tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Behavior ``(T, 5)``, trial labels ``(T,)`` and the trial table of one session."""
    parts, infos, start = [], [], 0
    for _ in range(draw(rng, n_trials)):
        x, info = _lever_trial(rng, rate, beh, mouse)
        info["start"], info["cue"] = start, start + info["cue"]
        parts.append(x)
        infos.append(info)
        start += x.shape[0]
    x4 = np.concatenate(parts)
    T = x4.shape[0]
    segments = np.repeat(np.arange(len(parts)), [q.shape[0] for q in parts])
    body_noise = gaussian_filter1d(rng.normal(size=T), 0.15 * rate) * np.sqrt(rate)
    body = mouse["body_coupling"] * x4[:, 3] + 0.5 * body_noise
    velocity = np.gradient(x4[:, 1]) * rate
    X = np.column_stack([x4[:, 0], x4[:, 1], velocity, x4[:, 2], body])
    cols = ["start", "cue", "latency_s", "amplitude", "duration_s", "peak_speed", "rewarded"]
    return X, segments, pd.DataFrame(infos)[cols]


def _lever_trial(
    rng: np.random.Generator, rate: float, beh: Mapping[str, float], mouse: Mapping[str, float]
) -> tuple[np.ndarray, dict[str, float]]:
    """Behavior of one trial (T, 4): cue, lever position, lick and a body-movement drive."""
    s = rate
    pre = round(rng.uniform(0.8, 1.2) * s)
    latency = mouse["latency"] * beh["latency"] * np.exp(rng.normal(0, beh["sd_latency"]))
    latency = float(np.clip(latency, 0.15, 2.5))
    amp = mouse["amplitude"] * max(0.2, 1 + beh["sd_amp"] * rng.normal())
    dur = float(np.clip(mouse["duration"] * np.exp(beh["sd_dur"] * rng.normal()), 0.1, 0.8))
    rise, hold = max(round(dur * s), 2), round(0.2 * s)
    fall = max(round(1.5 * dur * s), 2)
    post = round(rng.uniform(1.5, 2.0) * s)
    onset = pre + round(latency * s)
    T = onset + rise + hold + fall + post
    x = np.zeros((T, 4))  # cue, lever_pos, lick, body drive
    x[pre, 0] = 1.0
    push = np.concatenate(
        [
            0.5 * (1 - np.cos(np.linspace(0, np.pi, rise))),
            np.ones(hold),
            0.5 * (1 + np.cos(np.linspace(0, np.pi, fall))),
        ]
    )
    x[onset : onset + push.size, 1] += amp * push
    if rng.random() < beh["p_spont"]:  # a spontaneous small push away from the cue
        w = max(round(0.3 * s), 2)
        at = int(rng.integers(0, max(pre - w, 1)))
        x[at : at + w, 1] += 0.3 * amp * np.sin(np.linspace(0, np.pi, w))
    rewarded = bool(rng.random() < beh["p_reward"])
    if rewarded:  # a lick bout at ~7 Hz after the reward at the top of the push
        start = onset + rise + round(rng.uniform(0.1, 0.3) * s)
        n_licks = int(rng.integers(5, 12))
        times = start + np.cumsum(rng.integers(int(0.12 * s), int(0.18 * s) + 2, size=n_licks))
        x[times[times < T], 2] = 1.0
    spont = rng.random(T) < 0.3 / s  # spontaneous licks at 0.3 Hz
    x[spont, 2] = 1.0
    x[:, 3] = np.abs(np.gradient(x[:, 1])) * s  # body moves with the lever (plus noise below)
    velocity = np.gradient(x[:, 1]) * s
    info = {
        "cue": float(pre),
        "latency_s": latency,
        "amplitude": amp,
        "duration_s": rise / s,
        "peak_speed": float(np.abs(velocity).max()),
        "rewarded": rewarded,
    }
    return x, info


def _pair(value: float | Sequence[float], name: str) -> tuple[float, float]:
    """A parameter given at (naive, expert), or one value for both."""
    if np.ndim(value) == 0:
        return float(value), float(value)  # type: ignore[arg-type]
    pair = tuple(float(v) for v in value)  # type: ignore[union-attr]
    if len(pair) != 2:
        raise ValueError(f"{name} must be one number or a (naive, expert) pair, got {value!r}")
    return pair  # type: ignore[return-value]


def _at(pair: tuple[float, float], progress: float) -> float:
    return (1 - progress) * pair[0] + progress * pair[1]


@dataclass(frozen=True)
class _Design:
    """The effects of one simulation, as functions of the learning progress."""

    tag_fraction: float
    tag_enrichment: tuple[float, float]
    thalamic_lead: tuple[float, float]
    separation_s: float

    def push_probability(self, progress: float) -> dict[str, float]:
        """P(push encoder) of axons, tagged and untagged M1 units; M1's mean is kept fixed."""
        f_m1 = _at(_PUSH_FRACTION["m1"], progress)
        e = _at(self.tag_enrichment, progress)
        return {
            "thalamic_axon": _at(_PUSH_FRACTION["thalamic_axon"], progress),
            "m1_tagged": f_m1 + (1 - self.tag_fraction) * e,
            "m1_untagged": f_m1 - self.tag_fraction * e,
        }

    def early_weight(self, kind: str, progress: float) -> float:
        """Mean weight of a push encoder's readout on ``push_early``."""
        if kind == "m1":
            return _M1_EARLY_WEIGHT
        return _M1_EARLY_WEIGHT + _at(self.thalamic_lead, progress) / self.separation_s

    def check(self) -> None:
        if not 0 < self.tag_fraction < 1:
            raise ValueError(f"tag_fraction must be in (0, 1), got {self.tag_fraction}")
        for progress in (0.0, 1.0):
            for group, prob in self.push_probability(progress).items():
                if not 0 <= prob <= 1:
                    raise ValueError(
                        f"tag_enrichment={self.tag_enrichment} gives P(push | {group}) = "
                        f"{prob:.3g} at progress {progress:g}; it must be a probability"
                    )
            w = self.early_weight("thalamic_axon", progress)
            if not 0 <= w <= 1:
                top = (1 - _M1_EARLY_WEIGHT) * self.separation_s
                low = -_M1_EARLY_WEIGHT * self.separation_s
                raise ValueError(
                    f"thalamic_lead={self.thalamic_lead} is out of range: the simulated lead "
                    f"must lie in [{low:.3g}, {top:.3g}] s"
                )


def _schedule(
    conditions: Sequence[str], days: int | None, learning_curve: Sequence[float] | None
) -> list[tuple[str, str | None, int | None, float]]:
    """``(suffix, condition, day, progress)`` of each session of a mouse, in order."""
    if days is None:
        if learning_curve is not None:
            raise ValueError("learning_curve applies to days=N only")
        bad = [c for c in conditions if c not in CONDITIONS]
        if bad or not conditions:
            raise ValueError(
                f"conditions must be a non-empty subset of {CONDITIONS}, got {conditions}"
            )
        return [(c, c, None, float(CONDITIONS.index(c))) for c in conditions]
    if tuple(conditions) != CONDITIONS:
        raise ValueError("give either conditions or days, not both")
    if not (isinstance(days, int | np.integer) and days >= 2):
        raise ValueError(f"days must be an integer >= 2, got {days!r}")
    curve = (
        np.linspace(0.0, 1.0, int(days))
        if learning_curve is None
        else np.asarray(learning_curve, float)
    )
    if curve.shape != (days,) or not np.all((curve >= 0) & (curve <= 1)):
        raise ValueError(
            f"learning_curve must hold {days} values in [0, 1] (one per day), got {learning_curve}"
        )
    return [(f"day{d:02d}", None, d, float(curve[d - 1])) for d in range(1, int(days) + 1)]


def lever_task(
    n_mice: int = 4,
    *,
    conditions: Sequence[str] = CONDITIONS,
    days: int | None = None,
    learning_curve: Sequence[float] | None = None,
    n_trials: int | tuple[int, int] = (30, 45),
    n_axons: int | tuple[int, int] = (10, 60),
    n_m1: int | tuple[int, int] = (50, 300),
    tag_fraction: float = 0.3,
    tag_enrichment: float | tuple[float, float] = (0.1, 0.4),
    thalamic_lead: float | tuple[float, float] = (0.01, 0.07),
    snr: float = 0.3,
    snr_spread: float = 0.5,
    indicator: str = "calcium",
    rate: float = 30.0,
    drive_lags: Sequence[int] | range = range(-7, 4),
    tau_decay: float = 0.25,
    body_fraction: float = 0.1,
    body_snr: float = 0.25,
    baseline_drift: float = 0.0,
    gain_drift: float = 0.0,
    seed: int | None = 0,
) -> tuple[Cohort, LeverTruth]:
    """Simulate a lever-push experiment: mice learning over sessions, two kinds of units.

    Each trial has an auditory cue, a lever push whose latency, amplitude and duration (hence
    speed) vary from trial to trial and between mice, a lick bout after the reward, spontaneous
    licks and pushes, and a nuisance ``body`` movement that follows the lever loosely. Behavior
    is sampled at ``rate``. Each mouse has its own thalamic axons and M1 neurons (numbers drawn
    per mouse, the same units in all its sessions); each unit reads out a shared representation
    of four components (``cue``, ``push_early``, ``push_late``, ``lick``) with its own weights,
    some units also follow the body movement privately, and activity is passed through a
    calcium kernel with Gaussian noise (or drawn as Poisson spike counts).

    Learning (from ``"naive"`` to ``"expert"``, or over ``days``): pushes become faster and more
    stereotyped; more thalamic axons encode the push (recruited on top of the earlier ones);
    M1 neurons tagged as thalamus-driven (a fraction ``tag_fraction``, fixed per neuron) encode
    the push more often than untagged ones by ``tag_enrichment``; and the axons' push response
    leads M1's by about ``thalamic_lead`` seconds. The push response of a unit is a mixture of
    ``push_early`` and ``push_late`` (the same filter 100 ms apart); M1 encoders weigh
    ``push_early`` 0.2 on average, axons ``0.2 + lead / 0.1 s``, each unit with its own offset
    (sd 0.1), so the mean response of the axons peaks about ``lead`` earlier.

    Parameters
    ----------
    n_mice : int
        Number of mice; each has one session per condition (or per day).
    conditions : sequence of {"naive", "expert"}
        Conditions recorded for every mouse (learning progress 0 and 1).
    days : int, optional
        Record every mouse on days ``1..days`` instead of conditions (sessions
        ``"mouse{i}-day{dd}"`` with ``metadata["day"]``, no condition); everything changes
        gradually along ``learning_curve``.
    learning_curve : sequence of float, optional
        Learning progress (0 naive .. 1 expert) on each day; default linear from 0 to 1. A
        constant curve is the null of no change over days.
    n_trials : int or (low, high)
        Trials per session (each trial is a segment of 3.5 to 6 s).
    n_axons, n_m1 : int or (low, high)
        Units of each kind per mouse (drawn once per mouse).
    tag_fraction : float
        Fraction of M1 neurons tagged as thalamus-driven (``neuron_info["thalamus_driven"]``;
        missing for axons, which are not tagged).
    tag_enrichment : float or (naive, expert)
        P(push | tagged) - P(push | untagged) among M1 neurons, the mean push fraction of M1
        kept as it is; 0: the null of no enrichment. Interpolated along the learning progress.
    thalamic_lead : float or (naive, expert)
        Lead (s) of the axons' push drive over M1's; 0: the null of no lead. Between -0.02 and
        0.08 s. The realised lead of the simulated responses, by the definition of
        :func:`sharedrep.compare_populations`, is ``truth.population_timing()``.
    snr : float
        Median signal-to-noise variance ratio of encoding units.
    snr_spread : float
        Standard deviation of the natural log of the units' SNR (log-normal across units).
    indicator : {"calcium", "spikes"}
        ``"calcium"``: ``ΔF/F = kernel * drive + Gaussian noise``, linear, so the shared
        model holds exactly with the effective filters ``truth.W``. ``"spikes"``: Poisson
        counts per bin with an exponential link (a misspecified, realistic alternative);
        ``truth.W`` is then the drive filter.
    rate : float
        Imaging rate (Hz).
    drive_lags : sequence of int
        Lags (samples) of the drive filters; negative: the unit leads behavior.
    tau_decay : float
        Decay time constant of the calcium kernel (s); see :func:`calcium_kernel`.
    body_fraction : float
        Fraction of units driven privately by the nuisance body movement (each with its own
        random filter, so this is not a shared component).
    body_snr : float
        Variance of a unit's private body signal relative to its shared signal's.
    baseline_drift : float
        Standard deviation of a slow random baseline added to each unit over the recording,
        in units of the unit's noise sd (calcium; for spikes, added to the log rate); 0: none.
    gain_drift : float
        Standard deviation of the log of a slow random gain multiplying each unit's signal
        over the recording (the gain is ``exp(gain_drift * z(t))``, ``z`` smooth with unit
        sd); 0: none. Both drifts wander a few times per session and are returned in
        ``truth.drift``; they make ``truth.W`` exact only on average.
    seed : int, optional

    Returns
    -------
    cohort : Cohort
        Sessions ``"mouse{i}-{condition}"`` (or ``"mouse{i}-day{dd}"``) with
        ``subject="mouse{i}"``, ``condition``, segments = trials, ``rate``, behavior features
        ``cue, lever_pos, lever_vel, lick, body``, and ``neuron_info`` with columns
        ``population`` (``"thalamic_axon"`` / ``"m1"``) and ``thalamus_driven``.
    truth : LeverTruth

    Raises
    ------
    ValueError
        Unknown condition or indicator, a non-positive count, effects out of range, or both
        conditions and days.

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.lever_task(n_mice=2, n_trials=10, seed=1)
    >>> cohort.names
    ('mouse0-naive', 'mouse0-expert', 'mouse1-naive', 'mouse1-expert')
    >>> truth.component_names
    ('cue', 'push_early', 'push_late', 'lick')
    >>> list(cohort[0].neuron_info.columns)
    ['population', 'thalamus_driven']
    """
    schedule = _schedule(conditions, days, learning_curve)
    if indicator not in ("calcium", "spikes"):
        raise ValueError(f"indicator must be 'calcium' or 'spikes', got {indicator!r}")
    if n_mice < 1:
        raise ValueError(f"n_mice must be at least 1, got {n_mice}")
    if not (snr > 0 and snr_spread >= 0 and rate > 0 and 0 <= body_fraction <= 1 and body_snr >= 0):
        raise ValueError(
            f"need snr > 0, rate > 0 and 0 <= body_fraction <= 1; got snr={snr}, "
            f"rate={rate}, body_fraction={body_fraction}"
        )
    check_drifts(baseline_drift, gain_drift)
    design = _Design(
        float(tag_fraction),
        _pair(tag_enrichment, "tag_enrichment"),
        _pair(thalamic_lead, "thalamic_lead"),
        _PUSH_SEPARATION / 30.0,
    )
    design.check()
    rng = np.random.default_rng(seed)
    dl = TemporalExpansion(drive_lags).lags
    p, d = len(LEVER_FEATURES), len(LEVER_COMPONENTS)
    G = _lever_filters(rng, dl, rate)
    if indicator == "calcium":
        kernel = calcium_kernel(rate, tau_decay=tau_decay, length=1.6 * tau_decay)
        lags = np.arange(dl[0], dl[-1] + kernel.size)
        # effective filter: W[m] = sum_j kernel[j] G[m - j] (the kernel acts after the drive)
        W3 = np.zeros((p, lags.size, d))
        for j, kj in enumerate(kernel):
            W3[:, j : j + dl.size, :] += kj * G
    else:
        kernel, lags, W3 = np.ones(1), dl, G
    # behavior first: the filters are defined per pooled standard deviation of each feature,
    # so that "one unit of weight" means the same for an impulse train and for a velocity
    behaviors = {}
    for m in range(n_mice):
        mouse = {
            "latency": float(np.exp(rng.normal(0, 0.2))),
            "amplitude": float(np.exp(rng.normal(0, 0.2))),
            "duration": float(rng.uniform(0.2, 0.35)),
            "body_coupling": float(rng.uniform(0.3, 0.8)),
        }
        for suffix, _, _, progress in schedule:
            behaviors[f"mouse{m}-{suffix}"] = _lever_session(
                rng, rate, _behavior_at(progress), mouse, n_trials
            )
    pooled = np.concatenate([b[0] for b in behaviors.values()])
    feature_sd = pooled.std(axis=0)
    G = G / feature_sd[:, None, None]
    W3 = W3 / feature_sd[:, None, None]
    W = W3.reshape(p * lags.size, d)
    sim = _Simulation(
        rng, design, indicator, lags, dl, kernel, W, G.reshape(p * dl.size, d), rate,
        snr, snr_spread, body_fraction, body_snr, baseline_drift, gain_drift,
    )  # fmt: skip
    sessions: list[Session] = []
    for m in range(n_mice):
        units = sim.mouse_units(f"mouse{m}", n_axons, n_m1)
        for suffix, cond, day, progress in schedule:
            name = f"mouse{m}-{suffix}"
            sessions.append(sim.session(name, units, behaviors[name], cond, day, progress))
    f = sim.fields
    truth = LeverTruth(
        W=W,
        readouts=f["readouts"],
        noise_sd=f["noise"],
        lags=lags,
        n_components=d,
        feature_names=LEVER_FEATURES,
        snr=snr,
        component_names=LEVER_COMPONENTS,
        drive_filters=G.reshape(p * dl.size, d),
        drive_lags=dl,
        kernel=kernel,
        indicator=indicator,
        encodes=f["encodes"],
        unit_kind=f["kind"],
        body_units=f["body"],
        push_lead=f["lead"],
        subjects=f["subject"],
        conditions=f["condition"],
        trials=f["trials"],
        neuron_info=f["neuron_info"],
        day=f["day"],
        progress=f["progress"],
        tag_enrichment=f["tag_enrichment"],
        thalamic_lead=f["thalamic_lead"],
        push_probability=f["push_probability"],
        activity_sd=f["activity_sd"],
        feature_sd=feature_sd,
        drift=f["drift"],
        rate=float(rate),
    )
    return Cohort(sessions), truth


class _Simulation:
    """Units of each mouse and the neural activity of each session of one ``lever_task``."""

    def __init__(
        self, rng: np.random.Generator, design: _Design, indicator: str, lags: np.ndarray,
        drive_lags: np.ndarray, kernel: np.ndarray, W: np.ndarray, G: np.ndarray, rate: float,
        snr: float, snr_spread: float, body_fraction: float, body_snr: float,
        baseline_drift: float, gain_drift: float,
    ) -> None:  # fmt: skip
        self.rng, self.design, self.indicator = rng, design, indicator
        self.expansion = TemporalExpansion(lags)
        self.drive_expansion = TemporalExpansion(drive_lags)
        self.kernel, self.W, self.G, self.rate = kernel, W, G, rate
        self.snr, self.snr_spread = snr, snr_spread
        self.body_fraction, self.body_snr = body_fraction, body_snr
        self.baseline_drift, self.gain_drift = baseline_drift, gain_drift
        keys = ("readouts", "noise", "encodes", "kind", "body", "lead", "subject", "condition",
                "trials", "neuron_info", "day", "progress", "tag_enrichment", "thalamic_lead",
                "push_probability", "activity_sd", "drift")  # fmt: skip
        self.fields: dict[str, dict[str, Any]] = {k: {} for k in keys}

    def mouse_units(
        self, subject: str, n_axons: int | tuple[int, int], n_m1: int | tuple[int, int]
    ) -> dict[str, Any]:
        """Properties of a mouse's units, kept across its sessions."""
        rng, dl = self.rng, self.drive_expansion.lags
        na, nm = draw(rng, n_axons), draw(rng, n_m1)
        if na < 0 or nm < 0 or na + nm == 0:
            raise ValueError(f"mouse {subject}: needs at least one unit, got {na} + {nm}")
        n = na + nm
        kind = np.array(["thalamic_axon"] * na + ["m1"] * nm)
        tagged = np.zeros(n, dtype=bool)
        tagged[na:] = rng.random(nm) < self.design.tag_fraction
        body_filter = rng.normal(size=(dl.size, n)) * np.exp(
            -0.5 * ((dl[:, None] - rng.uniform(dl[0], dl[-1], size=n)) / 2.0) ** 2
        )
        if self.indicator == "calcium":  # the body filters seen through the kernel
            L = self.expansion.lags.size
            body_filter = np.stack([np.convolve(b, self.kernel)[:L] for b in body_filter.T], 1)
        info = pd.DataFrame(
            {
                "population": kind,
                "thalamus_driven": pd.array(
                    [
                        None if k == "thalamic_axon" else bool(t)
                        for k, t in zip(kind, tagged, strict=True)
                    ],
                    dtype="boolean",
                ),
            }
        )
        return {
            "subject": subject,
            "kind": kind,
            "tagged": tagged,
            "info": info,
            "names": [f"TH{i:03d}" for i in range(na)] + [f"M1-{i:03d}" for i in range(nm)],
            # a unit encodes the push when recruit < P(push | its group, progress)
            "recruit": rng.random(n),
            "other": rng.random((2, n)) < OTHER_FRACTION,  # cue, lick
            "gain": rng.normal(size=(len(LEVER_COMPONENTS), n)),
            "early_offset": rng.normal(0, _EARLY_WEIGHT_SD, size=n),
            "snr": self.snr * np.exp(rng.normal(0, self.snr_spread, size=n)),
            "body": rng.random(n) < self.body_fraction,
            "body_filter": body_filter,
            "baseline": rng.uniform(0.05, 0.3, size=n),  # spikes per bin (spikes mode)
        }

    def _readout(
        self, units: Mapping[str, Any], progress: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
        """Readouts ``V`` (d, n), what is encoded (d, n), early weights (n,), P(push)."""
        kind, tagged = units["kind"], units["tagged"]
        probs = self.design.push_probability(progress)
        group = np.where(
            kind == "thalamic_axon", "thalamic_axon", np.where(tagged, "m1_tagged", "m1_untagged")
        )
        push = units["recruit"] < np.array([probs[g] for g in group])
        early = np.array([self.design.early_weight(k, progress) for k in kind])
        early = np.clip(early + units["early_offset"], 0.0, 1.0)
        enc = np.vstack([units["other"][0], push, push, units["other"][1]])
        gain = units["gain"]
        V = gain * enc
        V[1] = np.where(push, gain[1] * early, 0.0)
        V[2] = np.where(push, gain[2] * (1 - early), 0.0)
        return V, enc, np.where(push, early, np.nan), probs

    def session(
        self,
        name: str,
        units: Mapping[str, Any],
        behavior: tuple[np.ndarray, np.ndarray, pd.DataFrame],
        condition: str | None,
        day: int | None,
        progress: float,
    ) -> Session:
        X, segments, infos = behavior
        T, n = X.shape[0], units["kind"].size
        V, enc, early, probs = self._readout(units, progress)
        # the design of the continuous recording, at rest (zero) before and after it: calcium
        # through the effective filters (kernel included), spikes through the drive's
        expansion, filters = (
            (self.expansion, self.W)
            if self.indicator == "calcium"
            else (self.drive_expansion, self.G)
        )
        t_rows = np.arange(T)
        z = expansion.rows_of(X, t_rows) @ filters
        body_sig = expansion.rows_of(X[:, [4]], t_rows) @ units["body_filter"]
        shared = z @ V
        # each unit's shared signal has variance unit_snr (noise sd 1, ΔF/F units); the private
        # body signal is weaker (body_snr of it), so it is a nuisance, not a competitor of the
        # shared components
        sd_sh, sd_b = shared.std(axis=0), body_sig.std(axis=0)
        unit_snr, body = units["snr"], units["body"]
        s_sh = np.where(sd_sh > 0, np.sqrt(unit_snr) / np.where(sd_sh > 0, sd_sh, 1), 0.0)
        s_b = np.where(body, np.sqrt(self.body_snr * unit_snr) / np.where(sd_b > 0, sd_b, 1), 0.0)
        sig = shared * s_sh + body_sig * s_b
        sig, drift = add_drifts(self.rng, sig, self.gain_drift, self.baseline_drift)
        if self.indicator == "calcium":
            noise_sd = np.ones(n)
            Y = 0.1 + sig + self.rng.normal(size=(T, n))
        else:
            noise_sd = np.full(n, np.nan)
            Y = self.rng.poisson(units["baseline"] * np.exp(np.clip(sig, -5, 5))).astype(float)
        metadata: dict[str, Any] = {"indicator": self.indicator}
        if day is not None:
            metadata["day"] = int(day)
        session = Session(
            X,
            Y,
            segments,
            name=name,
            subject=units["subject"],
            condition=condition,
            feature_names=LEVER_FEATURES,
            neuron_names=units["names"],
            rate=self.rate,
            metadata=metadata,
            neuron_info=units["info"].copy(),
        )
        self._record(name, units, session, V * s_sh[None, :], noise_sd, enc, early, infos)
        f = self.fields
        f["condition"][name], f["day"][name], f["progress"][name] = condition, day, progress
        f["tag_enrichment"][name] = _at(self.design.tag_enrichment, progress)
        f["thalamic_lead"][name] = _at(self.design.thalamic_lead, progress)
        f["push_probability"][name] = probs
        f["activity_sd"][name] = Y.std(axis=0)
        if drift:
            f["drift"][name] = drift
        return session

    def _record(
        self,
        name: str,
        units: Mapping[str, Any],
        session: Session,
        readout: np.ndarray,
        noise_sd: np.ndarray,
        enc: np.ndarray,
        early: np.ndarray,
        infos: pd.DataFrame,
    ) -> None:
        f = self.fields
        f["readouts"][name], f["noise"][name], f["encodes"][name] = readout, noise_sd, enc
        f["kind"][name], f["body"][name] = units["kind"].copy(), units["body"].copy()
        f["lead"][name], f["subject"][name] = early, units["subject"]
        f["trials"][name], f["neuron_info"][name] = infos, session.neuron_info
