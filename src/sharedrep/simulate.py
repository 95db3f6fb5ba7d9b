"""Simulated cohorts with known ground truth (for tests, documentation, benchmarks and the demo).

:func:`cohort` draws sessions that share a low-dimensional behavioral representation ``W``
(temporal filters over behavioral variables and lags) read out by each session's own neurons:
``y_s(t) = mu_s + V_s' W' phi_s(t) + noise``. Sessions differ in length, trial structure, neuron
count and behavior: nothing is aligned across sessions.

:func:`lever_task` simulates the experiment ShaReD was made for: mice pushing a lever after an
auditory cue, imaged at 30 Hz, with thalamic axons and M1 neurons in every mouse, naive and
expert sessions, and everything true returned in a :class:`LeverTruth`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.linalg as sla
from scipy.ndimage import gaussian_filter1d

from .data import Cohort, Session
from .features import TemporalExpansion

__all__ = ["LeverTruth", "Truth", "cohort", "lever_task", "principal_angles"]


def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles between ``span(A)`` and ``span(B)`` in degrees, largest first.

    Parameters
    ----------
    A : ndarray, shape (q, d1)
    B : ndarray, shape (q, d2)

    Returns
    -------
    ndarray, shape (min(d1, d2),)
    """
    return np.degrees(sla.subspace_angles(A, B))


@dataclass(frozen=True)
class Truth:
    """Ground truth of a simulated cohort.

    Attributes
    ----------
    W : ndarray, shape (p * L, d)
        True shared filters in behavior units, rows ordered (feature, lag) like the design.
    readouts : dict of str to ndarray, shape (d, n_s)
    noise_sd : dict of str to ndarray, shape (n_s,)
    lags : ndarray of int
    n_components : int
    feature_names : tuple of str
    snr : float
        Signal-to-noise variance ratio of every neuron.
    drift : dict of str to ndarray, shape (T_s, n_s)
        Each session's simulated baseline drift (zeros without one).
    """

    W: np.ndarray
    readouts: dict[str, np.ndarray]
    noise_sd: dict[str, np.ndarray]
    lags: np.ndarray
    n_components: int
    feature_names: tuple[str, ...]
    snr: float
    drift: dict[str, np.ndarray] = field(default_factory=dict, repr=False, kw_only=True)

    def angles(self, model, metric: str = "coef") -> np.ndarray:
        """Principal angles (degrees) between a fitted model's ``W`` and the true one.

        Parameters
        ----------
        model : ShaReD
            Fitted with the true lags and no basis.
        metric : {"coef", "design"}
            ``"coef"``: angles between the filter coefficients (behavior scaled by the pooled
            std, as the model sees it). ``"design"``: angles between the latent time courses
            the filters produce (coefficients weighted by the pooled design covariance); this
            is what the data identify when behavior is smooth.
        """
        scale = model.expansion_.column_scale(model.behavior_scale_)
        fitted, true = model.coef_, scale[:, None] * self.W
        if metric == "design":
            root = np.linalg.cholesky(model.design_covariance_ + 1e-12 * np.eye(len(scale)))
            fitted, true = root.T @ fitted, root.T @ true
        elif metric != "coef":
            raise ValueError(f"metric must be 'coef' or 'design', got {metric!r}")
        return principal_angles(fitted, true)

    def max_angle(self, model, metric: str = "coef") -> float:
        """Largest principal angle (degrees) between fitted and true ``W``."""
        return float(self.angles(model, metric).max())


def _draw(rng: np.random.Generator, value: int | tuple[int, int]) -> int:
    if isinstance(value, tuple):
        return int(rng.integers(value[0], value[1] + 1))
    return int(value)


def _true_filters(rng: np.random.Generator, p: int, lags: np.ndarray, d: int) -> np.ndarray:
    """Smooth filters: a Gaussian bump over lags per feature and component, random weights."""
    L = lags.size
    W = np.zeros((p, L, d))
    width = max(L / 6, 1.0)
    for k in range(d):
        centres = rng.uniform(lags[0], lags[-1], size=p)
        amps = rng.normal(size=p)
        W[:, :, k] = amps[:, None] * np.exp(
            -0.5 * ((lags[None, :] - centres[:, None]) / width) ** 2
        )
    return W.reshape(p * L, d)


def cohort(
    n_sessions: int = 5,
    *,
    n_samples: int | tuple[int, int] = (2500, 3500),
    n_neurons: int | tuple[int, int] = (20, 60),
    n_features: int = 4,
    n_components: int = 3,
    lags: Sequence[int] | range = range(-3, 4),
    snr: float = 0.25,
    trial_length: tuple[int, int] = (40, 100),
    smoothness: float = 0.0,
    design: str = "continuous",
    baseline_drift: float = 0.0,
    gain_drift: float = 0.0,
    conditions: Sequence[str] | None = None,
    rate: float | None = 30.0,
    seed: int | None = 0,
) -> tuple[Cohort, Truth]:
    """Simulate a cohort that shares one behavioral representation.

    Two designs reproduce the two kinds of real recordings: ``"continuous"`` behavior (pose,
    kinematics) cut into trials only for cross-validation, and ``"events"``, trial-cut data in
    which each trial holds one event (a stimulus of one of ``n_features`` kinds at the trial's
    first sample) and activity is the event's response within the trial, as in
    stimulus-locked imaging: the response starts at the trial start, so lag windows reach
    before it (see ``ShaReD(edges="zero")``). Slow per-neuron drifts of the baseline and of the
    gain over the recording (``baseline_drift``, ``gain_drift``) reproduce what makes
    contiguous-block cross-validation misjudge real data.

    Parameters
    ----------
    n_sessions : int
        Number of sessions (one subject each).
    n_samples, n_neurons : int or (low, high)
        Per session; a pair draws uniformly in ``[low, high]`` for each session.
    n_features : int
        Behavioral variables ``p`` (smooth Gaussian processes, different in every session).
    n_components : int
        True dimension ``d`` of the shared representation.
    lags : sequence of int
        Lags (samples) of the true filters.
    snr : float
        Variance of each neuron's behavioral signal over its noise variance. ``0``: neurons
        are pure unit-variance noise, independent of behavior (a null cohort).
    trial_length : (low, high)
        Segments are trials of random length in this range (samples).
    smoothness : float
        Gaussian smoothing width of the behavior (samples). The default 0 draws independent
        samples: a well-conditioned design in which ``W`` is identifiable coefficient by
        coefficient. Smooth behavior makes neighbouring lags collinear; predictions stay as
        good, but ``W`` is then determined only along directions the behavior explores (compare
        with ``Truth.angles(model, metric="design")``, or use ``n_basis``).
    design : {"continuous", "events"}
        See above. With ``"events"``, ``lags`` should be non-negative (responses follow the
        event); ``truth.W`` holds the response kernels, which ``ShaReD(lags=truth.lags,
        edges="zero")`` estimates exactly.
    baseline_drift : float
        Standard deviation of a smooth random baseline per neuron over the recording (a sum of
        slow cosines, periods of a quarter of the recording and longer), in units of the
        neuron's noise standard deviation. ``truth.drift[name]`` holds it, shape (T, n).
    gain_drift : float
        Standard deviation of a smooth multiplicative change of each neuron's behavioral signal
        over the recording (gain ``1 + g(t)``).
    conditions : sequence of str, optional
        Condition labels assigned to sessions in turn (e.g. ``["naive", "expert"]``).
    rate : float, optional
        Sampling rate in Hz recorded in the sessions.
    seed : int, optional

    Returns
    -------
    cohort : Cohort
    truth : Truth

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=500, seed=3)
    >>> [s.n_samples for s in cohort], truth.W.shape
    ([500, 500], (28, 3))
    """
    if not (np.isfinite(snr) and snr >= 0):
        raise ValueError(f"snr must be a non-negative number, got {snr!r}")
    if design not in ("continuous", "events"):
        raise ValueError(f"design must be 'continuous' or 'events', got {design!r}")
    if not (baseline_drift >= 0 and gain_drift >= 0):
        raise ValueError(
            f"baseline_drift and gain_drift must be >= 0, got {baseline_drift}, {gain_drift}"
        )
    rng = np.random.default_rng(seed)
    expansion = TemporalExpansion(lags)
    lag_arr = expansion.lags
    p, d = n_features, n_components
    names = tuple(f"x{j}" for j in range(p))
    W = _true_filters(rng, p, lag_arr, d)
    margin = expansion.span
    sessions, readouts, noise, drifts = [], {}, {}, {}
    for i in range(n_sessions):
        name = f"session{i}"
        T, n = _draw(rng, n_samples), _draw(rng, n_neurons)
        bounds = np.cumsum(rng.integers(trial_length[0], trial_length[1] + 1, size=T))
        segments = np.searchsorted(bounds, np.arange(T), side="right")
        if design == "continuous":
            raw = rng.normal(size=(T + 2 * margin, p))
            if smoothness > 0:
                raw = gaussian_filter1d(raw, smoothness, axis=0)
            raw = (raw - raw.mean(0)) / raw.std(0)
            # the design of the continuous signal, so that every kept sample carries signal
            full = expansion.design_rows(raw, np.arange(margin, margin + T))
            x = raw[margin : margin + T]
        else:  # one event per trial, at its first sample; nothing outside the trial
            x = np.zeros((T, p))
            starts = np.flatnonzero(np.r_[True, segments[1:] != segments[:-1]])
            x[starts, rng.integers(0, p, size=starts.size)] = 1.0
            events = TemporalExpansion(lag_arr, None, [True] * p)
            full = events.rows_of(x, np.arange(T), segments)
        z = full @ W
        V = rng.normal(size=(d, n)) / np.sqrt(d)
        signal = z @ V
        if snr > 0:
            sd = np.sqrt(signal.var(0) / snr)
        else:  # snr=0: pure-noise neurons (no behavioral signal), for null calibration
            signal = np.zeros_like(signal)
            sd = np.ones(n)
        if gain_drift > 0:
            signal = signal * (1.0 + gain_drift * _slow(rng, T, n))
        drift = baseline_drift * sd * _slow(rng, T, n) if baseline_drift > 0 else np.zeros((T, n))
        y = 2.0 + signal + drift + rng.normal(size=(T, n)) * sd
        cond = None if conditions is None else conditions[i % len(conditions)]
        trial_time = None
        if design == "events":  # seconds (or samples) since the trial's event
            first = np.flatnonzero(np.r_[True, segments[1:] != segments[:-1]])
            since = np.arange(T) - np.repeat(first, np.diff(np.r_[first, T]))
            trial_time = since / rate if rate else since.astype(float)
        sessions.append(
            Session(
                x,
                y,
                segments,
                name=name,
                subject=f"mouse{i}",
                condition=cond,
                feature_names=names,
                rate=rate,
                trial_time=trial_time,
            )
        )
        readouts[name], noise[name], drifts[name] = V, sd, drift
    truth = Truth(W, readouts, noise, lag_arr, d, names, snr, drift=drifts)
    return Cohort(sessions), truth


def _slow(rng: np.random.Generator, T: int, n: int, n_waves: int = 4) -> np.ndarray:
    """Smooth random functions of time, one per column, unit standard deviation (T, n):
    cosines of periods from the whole recording down to a quarter of it, random phases."""
    t = np.arange(T)[:, None, None] / T
    freq = np.arange(1, n_waves + 1)[None, None, :] / 2  # half-cycles over the recording
    phase = rng.uniform(0, 2 * np.pi, size=(1, n, n_waves))
    amp = rng.normal(size=(1, n, n_waves)) / freq
    out = (amp * np.cos(2 * np.pi * freq * t + phase)).sum(axis=2)
    out -= out.mean(axis=0)
    return out / np.where(out.std(axis=0) > 0, out.std(axis=0), 1.0)


# -- the lever-push task --------------------------------------------------------------------------
LEVER_FEATURES = ("cue", "lever_pos", "lever_vel", "lick", "body")
LEVER_COMPONENTS = ("cue", "push_early", "push_late", "lick")
UNIT_KINDS = ("thalamic_axon", "m1")
CONDITIONS = ("naive", "expert")

#: behavior of each condition: mean cue-to-push latency (s) and trial-to-trial variability (sd
#: of log-latency, relative sd of amplitude and of log-duration); experts are faster and more
#: stereotyped, naive mice also push spontaneously between cues and miss some rewards
_BEHAVIOR = {
    "naive": {"latency": 0.8, "sd_latency": 0.45, "sd_amp": 0.35, "sd_dur": 0.35,
              "p_spont": 0.5, "p_reward": 0.7},
    "expert": {"latency": 0.4, "sd_latency": 0.15, "sd_amp": 0.1, "sd_dur": 0.1,
               "p_spont": 0.1, "p_reward": 0.95},
}  # fmt: skip

#: fraction of units of each kind encoding the push (naive, expert), and cue / lick
_PUSH_FRACTION = {"thalamic_axon": (0.2, 0.55), "m1": (0.3, 0.4)}
_OTHER_FRACTION = 0.2
#: mean weight of each push-encoding unit on the early (leading) push filter, per condition
_PUSH_LEAD = {"naive": 0.25, "expert": 0.75}


@dataclass(frozen=True)
class LeverTruth(Truth):
    """Ground truth of :func:`lever_task`, on top of :class:`Truth`.

    ``W`` holds the *effective* filters over ``lags``: the drive filters convolved with the
    calcium kernel (``indicator="calcium"``), or the drive filters themselves (``"spikes"``).
    Fit models with ``lags=truth.lags`` to compare with it.

    Attributes
    ----------
    component_names : tuple of str
        ``("cue", "push_early", "push_late", "lick")``: the columns of ``W``.
    drive_filters : ndarray, shape (p * len(drive_lags), d)
        Filters of the units' drive before the indicator, rows ordered (feature, lag).
    drive_lags : ndarray of int
    kernel : ndarray, shape (k,)
        Calcium kernel in samples (``[1.0]`` for spikes).
    indicator : {"calcium", "spikes"}
    encodes : dict of str to ndarray of bool, shape (d, n_s)
        Which units read out which shared component (True where the readout is non-zero).
    unit_kind : dict of str to ndarray of str, shape (n_s,)
        ``"thalamic_axon"`` or ``"m1"``.
    body_units : dict of str to ndarray of bool, shape (n_s,)
        Units with a private drive from the nuisance ``body`` movement (not part of ``W``).
    push_lead : dict of str to ndarray, shape (n_s,)
        Weight of each unit's push readout on ``push_early`` (0..1; NaN when it does not
        encode the push): larger means activity leads the movement more.
    subjects, conditions : dict of str to str
        Mouse and condition of each session.
    trials : dict of str to pandas.DataFrame
        Per trial: ``start`` and ``cue`` sample, ``latency_s``, ``amplitude``, ``duration_s``,
        ``peak_speed``, ``rewarded``.
    """

    component_names: tuple[str, ...]
    drive_filters: np.ndarray
    drive_lags: np.ndarray
    kernel: np.ndarray
    indicator: str
    encodes: dict[str, np.ndarray]
    unit_kind: dict[str, np.ndarray]
    body_units: dict[str, np.ndarray]
    push_lead: dict[str, np.ndarray]
    subjects: dict[str, str]
    conditions: dict[str, str]
    trials: dict[str, pd.DataFrame]

    def encoding_units(self, session: str) -> np.ndarray:
        """Units of ``session`` that read out at least one shared component, shape ``(n_s,)``."""
        return self.encodes[session].any(axis=0)

    def units(self) -> pd.DataFrame:
        """One row per unit and session: kind, condition, what it encodes, its push lead."""
        rows = []
        for name, enc in self.encodes.items():
            n = enc.shape[1]
            frame = pd.DataFrame(
                {
                    "session": name,
                    "subject": self.subjects[name],
                    "condition": self.conditions[name],
                    "unit": np.arange(n),
                    "kind": self.unit_kind[name],
                    "encodes": enc.any(axis=0),
                    "body": self.body_units[name],
                    "push_lead": self.push_lead[name],
                }
            )
            for k, comp in enumerate(self.component_names):
                frame[f"encodes_{comp}"] = enc[k]
            rows.append(frame)
        return pd.concat(rows, ignore_index=True)


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

    cue: a sensory response 30-130 ms after the tone; push_early: activity leading lever velocity
    by ~170 ms; push_late: around movement, on position and velocity; lick: around each lick.
    Small random loadings on the other features keep the filters from being axis-aligned.
    """
    p, L, d = len(LEVER_FEATURES), drive_lags.size, len(LEVER_COMPONENTS)
    f = {name: i for i, name in enumerate(LEVER_FEATURES)}
    lag = drive_lags.astype(float)
    s = rate / 30.0  # lags are specified at 30 Hz

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((lag - centre * s) / (width * s)) ** 2)

    G = np.zeros((p, L, d))
    G[f["cue"], :, 0] = bump(2, 1)
    G[f["lever_vel"], :, 1] = bump(-5, 1.5)
    G[f["lever_pos"], :, 1] = 0.4 * bump(-4, 2)
    G[f["lever_vel"], :, 2] = bump(-1, 1.5)
    G[f["lever_pos"], :, 2] = 0.6 * bump(0, 2)
    G[f["lick"], :, 3] = bump(0, 1)
    for k in range(d):
        others = [i for i in range(p) if i != f["body"] and not G[i, :, k].any()]
        G[others, :, k] += 0.1 * rng.normal(size=(len(others), 1)) * bump(0, 2)
    return G


def _lever_session(
    rng: np.random.Generator,
    rate: float,
    beh: Mapping[str, float],
    mouse: Mapping[str, float],
    n_trials: int | tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Behavior ``(T, 5)``, trial labels ``(T,)`` and the trial table of one session."""
    parts, infos, start = [], [], 0
    for _ in range(_draw(rng, n_trials)):
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


def lever_task(
    n_mice: int = 4,
    *,
    conditions: Sequence[str] = CONDITIONS,
    n_trials: int | tuple[int, int] = (30, 45),
    n_axons: int | tuple[int, int] = (10, 60),
    n_m1: int | tuple[int, int] = (50, 300),
    snr: float = 0.3,
    snr_spread: float = 0.5,
    indicator: str = "calcium",
    rate: float = 30.0,
    drive_lags: Sequence[int] | range = range(-7, 4),
    tau_decay: float = 0.25,
    body_fraction: float = 0.1,
    body_snr: float = 0.25,
    seed: int | None = 0,
) -> tuple[Cohort, LeverTruth]:
    """Simulate a lever-push experiment: mice, naive and expert sessions, two kinds of units.

    Each trial has an auditory cue, a lever push whose latency, amplitude and duration (hence
    speed) vary from trial to trial and between mice, a lick bout after the reward, spontaneous
    licks and pushes, and a nuisance ``body`` movement that follows the lever loosely. Behavior
    is sampled at ``rate``. Each mouse has its own thalamic axons and M1 neurons (numbers drawn
    per mouse and kept across its sessions); each unit reads out a shared representation of
    four components (``cue``, ``push_early``, ``push_late``, ``lick``) with its own weights,
    some units also follow the body movement privately, and activity is passed through a
    calcium kernel with Gaussian noise (or drawn as Poisson spike counts).

    Learning (``"expert"`` vs ``"naive"``): pushes are faster and more stereotyped, a larger
    fraction of thalamic axons encodes the push (recruited on top of the naive encoders), and
    push-encoding units weigh the early (leading) push filter more: their timing shifts
    earlier.

    Parameters
    ----------
    n_mice : int
        Number of mice; each has one session per condition.
    conditions : sequence of {"naive", "expert"}
        Conditions recorded for every mouse.
    n_trials : int or (low, high)
        Trials per session (each trial is a segment of 3.5 to 6 s).
    n_axons, n_m1 : int or (low, high)
        Units of each kind per mouse (drawn once per mouse).
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
    seed : int, optional

    Returns
    -------
    cohort : Cohort
        Sessions ``"mouse{i}-{condition}"`` with ``subject="mouse{i}"``, ``condition``,
        segments = trials, ``rate``, behavior features ``cue, lever_pos, lever_vel, lick,
        body`` and ``metadata["unit_kind"]``.
    truth : LeverTruth

    Raises
    ------
    ValueError
        Unknown condition or indicator, or a non-positive count.

    Examples
    --------
    >>> import sharedrep as sr
    >>> cohort, truth = sr.simulate.lever_task(n_mice=2, n_trials=10, seed=1)
    >>> cohort.names
    ('mouse0-naive', 'mouse0-expert', 'mouse1-naive', 'mouse1-expert')
    >>> truth.component_names
    ('cue', 'push_early', 'push_late', 'lick')
    """
    bad = [c for c in conditions if c not in CONDITIONS]
    if bad or not conditions:
        raise ValueError(f"conditions must be a non-empty subset of {CONDITIONS}, got {conditions}")
    if indicator not in ("calcium", "spikes"):
        raise ValueError(f"indicator must be 'calcium' or 'spikes', got {indicator!r}")
    if n_mice < 1:
        raise ValueError(f"n_mice must be at least 1, got {n_mice}")
    if not (snr > 0 and snr_spread >= 0 and rate > 0 and 0 <= body_fraction <= 1 and body_snr >= 0):
        raise ValueError(
            f"need snr > 0, rate > 0 and 0 <= body_fraction <= 1; got snr={snr}, "
            f"rate={rate}, body_fraction={body_fraction}"
        )
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
    expansion = TemporalExpansion(lags)
    drive_expansion = TemporalExpansion(dl)
    # behavior first: the filters are defined per pooled standard deviation of each feature,
    # so that "one unit of weight" means the same for an impulse train and for a velocity
    behaviors = {}
    for m in range(n_mice):
        subject = f"mouse{m}"
        mouse = {
            "latency": float(np.exp(rng.normal(0, 0.2))),
            "amplitude": float(np.exp(rng.normal(0, 0.2))),
            "duration": float(rng.uniform(0.2, 0.35)),
            "body_coupling": float(rng.uniform(0.3, 0.8)),
        }
        for cond in conditions:
            behaviors[f"{subject}-{cond}"] = _lever_session(
                rng, rate, _BEHAVIOR[cond], mouse, n_trials
            )
    pooled = np.concatenate([b[0] for b in behaviors.values()])
    feature_sd = pooled.std(axis=0)
    G = G / feature_sd[:, None, None]
    W3 = W3 / feature_sd[:, None, None]
    W = W3.reshape(p * lags.size, d)
    sessions: list[Session] = []
    fields: dict[str, dict] = {k: {} for k in ("readouts", "noise", "encodes", "kind", "body",
                                                "lead", "subj", "cond", "trials")}  # fmt: skip
    for m in range(n_mice):
        subject = f"mouse{m}"
        na, nm = _draw(rng, n_axons), _draw(rng, n_m1)
        if na < 0 or nm < 0 or na + nm == 0:
            raise ValueError(f"mouse {subject}: needs at least one unit, got {na} + {nm}")
        n = na + nm
        kind = np.array(["thalamic_axon"] * na + ["m1"] * nm)
        # unit properties kept across this mouse's sessions
        recruit = rng.random(n)  # a unit encodes the push when recruit < fraction(kind, cond)
        other = rng.random((2, n)) < _OTHER_FRACTION  # cue, lick
        gain = rng.normal(size=(d, n))
        lead_offset = rng.normal(0, 0.12, size=n)
        unit_snr = snr * np.exp(rng.normal(0, snr_spread, size=n))
        body = rng.random(n) < body_fraction
        body_filter = rng.normal(size=(dl.size, n)) * np.exp(
            -0.5 * ((dl[:, None] - rng.uniform(dl[0], dl[-1], size=n)) / 2.0) ** 2
        )
        baseline = rng.uniform(0.05, 0.3, size=n)  # spikes per bin (spikes mode)
        if indicator == "calcium":  # the body filters seen through the kernel
            body_eff = np.stack([np.convolve(b, kernel)[: lags.size] for b in body_filter.T], 1)
        for cond in conditions:
            name = f"{subject}-{cond}"
            X, segments, infos = behaviors[name]
            T = X.shape[0]
            # the design of the continuous recording, padded with rest before and after
            pad = expansion.span
            Xp = np.concatenate([np.zeros((pad, p)), X, np.zeros((pad, p))])
            t_rows = np.arange(pad, pad + T)
            cond_i = CONDITIONS.index(cond)
            frac = np.array([_PUSH_FRACTION[k][cond_i] for k in kind])
            push = recruit < frac
            lead = np.clip(_PUSH_LEAD[cond] + lead_offset, 0.0, 1.0)
            enc = np.vstack([other[0], push, push, other[1]])
            V = gain * enc
            V[1] = np.where(push, gain[1] * lead, 0.0)
            V[2] = np.where(push, gain[2] * (1 - lead), 0.0)
            if indicator == "calcium":
                z = expansion.design_rows(Xp, t_rows) @ W
                body_sig = expansion.design_rows(Xp[:, [4]], t_rows) @ body_eff
            else:
                z = drive_expansion.design_rows(Xp, t_rows) @ G.reshape(p * dl.size, d)
                body_sig = drive_expansion.design_rows(Xp[:, [4]], t_rows) @ body_filter
            shared = z @ V
            # each unit's shared signal has variance unit_snr (noise sd 1, ΔF/F units); the
            # private body signal is weaker (body_snr of it), so it is a nuisance, not a
            # competitor of the shared components
            sd_sh, sd_b = shared.std(axis=0), body_sig.std(axis=0)
            s_sh = np.where(sd_sh > 0, np.sqrt(unit_snr) / np.where(sd_sh > 0, sd_sh, 1), 0.0)
            s_b = np.where(body, np.sqrt(body_snr * unit_snr) / np.where(sd_b > 0, sd_b, 1), 0.0)
            sig = shared * s_sh + body_sig * s_b
            if indicator == "calcium":
                noise_sd = np.ones(n)
                Y = 0.1 + sig + rng.normal(size=(T, n))
            else:
                noise_sd = np.full(n, np.nan)
                Y = rng.poisson(baseline * np.exp(np.clip(sig, -5, 5))).astype(float)
            names = [f"TH{i:03d}" for i in range(na)] + [f"M1-{i:03d}" for i in range(nm)]
            sessions.append(
                Session(
                    X,
                    Y,
                    segments,
                    name=name,
                    subject=subject,
                    condition=cond,
                    feature_names=LEVER_FEATURES,
                    neuron_names=names,
                    rate=rate,
                    metadata={"unit_kind": kind.copy(), "indicator": indicator},
                )
            )
            fields["readouts"][name] = V * s_sh[None, :]
            fields["noise"][name] = noise_sd
            fields["encodes"][name] = enc
            fields["kind"][name] = kind.copy()
            fields["body"][name] = body.copy()
            fields["lead"][name] = np.where(push, lead, np.nan)
            fields["subj"][name], fields["cond"][name] = subject, cond
            fields["trials"][name] = infos
    truth = LeverTruth(
        W=W,
        readouts=fields["readouts"],
        noise_sd=fields["noise"],
        lags=lags,
        n_components=d,
        feature_names=LEVER_FEATURES,
        snr=snr,
        component_names=LEVER_COMPONENTS,
        drive_filters=G.reshape(p * dl.size, d),
        drive_lags=dl,
        kernel=kernel,
        indicator=indicator,
        encodes=fields["encodes"],
        unit_kind=fields["kind"],
        body_units=fields["body"],
        push_lead=fields["lead"],
        subjects=fields["subj"],
        conditions=fields["cond"],
        trials=fields["trials"],
    )
    return Cohort(sessions), truth
