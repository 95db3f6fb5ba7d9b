"""Trial-averaged shared latents against the time within the trial (event-locked data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import DataError
from ._style import _colors, _finish, _grid, _tidy


def _neural_latents(model: Any, session: Any) -> np.ndarray:
    """The latents as the session's neurons carry them, (T, d): its activity with the fitted
    intercepts and nuisance terms removed, z-scored as in the fit, projected by the
    pseudo-inverse of its readout (``Z ~ Y V+``: what the neurons say the latent was)."""
    fit = model._session_fit_for(session)
    Y = np.asarray(session.neural, dtype=float)
    offset = fit.mean_y  # the latents are centred on the analysed samples, as the neurons here
    if fit.n_nuisance:
        valid = np.ones(session.n_samples, dtype=bool)
        nu = model._nuisance(session, fit, valid)
        offset = offset + (nu - fit.mean_nu) @ fit.nuisance_coef
    Yz = (Y - offset) / fit.neural_scale
    return Yz @ np.linalg.pinv(fit.readout)


def _trial_means(values: np.ndarray, session: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per trial time: the mean of ``values`` (T, d) over trials, its standard error, times."""
    Z = values
    times, where = np.unique(np.round(session.trial_time, 9), return_inverse=True)
    d = Z.shape[1]
    mean, sem = np.full((times.size, d), np.nan), np.full((times.size, d), np.nan)
    for i in range(times.size):
        z = Z[where == i]
        z = z[np.isfinite(z).all(axis=1)]
        if len(z):
            mean[i] = z.mean(axis=0)
            sem[i] = z.std(axis=0, ddof=1) / np.sqrt(len(z)) if len(z) > 1 else np.nan
    return times, mean, sem


def trial_average(
    model: Any,
    cohort: Any,
    *,
    components: Sequence[int] | None = None,
    by: str | None = "condition",
    fig: Figure | None = None,
) -> Figure:
    """Each shared component over the trial, as behavior predicts it and as the neurons carry it.

    One panel per component, against ``Session.trial_time`` (seconds from the trial's event, e.g.
    stimulus onset, as kept by :meth:`~sharedrep.Session.from_trials`). Thin lines: per
    session, the latent as its own neurons carry it (activity with the fitted intercepts and
    nuisance terms removed, projected by the pseudo-inverse of the session's readout), averaged
    over trials, with a band of one standard error over trials. Thick lines: per group of
    sessions (``by``), the mean of those curves; dashed: the latent predicted from behavior
    (``model.transform``), averaged the same way. Event-locked responses line up across animals
    although the model aligns no trial.

    Parameters
    ----------
    model : ShaReD or ShaReDCV
        Fitted.
    cohort : Cohort, Session or list of Session
        Sessions with ``trial_time``.
    components : sequence of int, optional
        Components to draw (default: all).
    by : str or None
        Session attribute grouping the thick lines (``"condition"``, ``"subject"``) or None for
        one group.
    fig : matplotlib.figure.Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..data import as_cohort

    model = getattr(model, "best_estimator_", model)
    cohort = as_cohort(cohort)
    d = model.coef_.shape[1]
    comps = list(range(d)) if components is None else [int(c) for c in components]
    if not comps:
        raise DataError("the model has no shared component to draw")
    for s in cohort:
        if s.trial_time is None:
            raise DataError(
                f"session {s.name!r} has no trial_time (the time of each sample within its "
                "trial); build it with Session.from_trials or give Session(trial_time=...)"
            )
    per = {s.name: _trial_means(_neural_latents(model, s), s) for s in cohort}
    predicted = {s.name: _trial_means(model.transform(s).to_numpy(), s) for s in cohort}
    groups: dict[str, list[str]] = {}
    for s in cohort:
        key = "all sessions" if by is None else str(getattr(s, by, None) or "—")
        groups.setdefault(key, []).append(s.name)
    colors = dict(zip(groups, _colors(len(groups)), strict=True))
    fig, axes = _grid(fig, len(comps), min(len(comps), 3), (3.4, 2.6))
    for ax, j in zip(axes, comps, strict=False):
        for key, names in groups.items():
            grid = sorted(set().union(*[set(per[n][0].tolist()) for n in names]))
            stack = np.full((len(names), len(grid)), np.nan)
            for row, name in enumerate(names):
                t, mean, sem = per[name]
                ax.plot(t, mean[:, j], color=colors[key], lw=0.7, alpha=0.5)
                ax.fill_between(
                    t, mean[:, j] - sem[:, j], mean[:, j] + sem[:, j], color=colors[key],
                    alpha=0.08, lw=0,
                )  # fmt: skip
                stack[row, np.searchsorted(grid, t)] = mean[:, j]
            ax.plot(grid, np.nanmean(stack, axis=0), color=colors[key], lw=2.2, label=key)
            for row, name in enumerate(names):
                t, mean, _ = predicted[name]
                stack[row] = np.nan
                stack[row, np.searchsorted(grid, t)] = mean[:, j]
            ax.plot(grid, np.nanmean(stack, axis=0), color=colors[key], lw=1.2, ls="--")
        ax.axvline(0.0, color="0.5", lw=0.8, ls=":")
        ax.axhline(0.0, color="0.7", lw=0.6)
        ax.set_title(f"component {j}")
        ax.set_xlabel("time from the trial's event (s)")
        ax.set_ylabel("latent (pooled SD)")
        _tidy(ax)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[k], lw=2.2, label=k) for k in groups]
    handles.append(Line2D([], [], color="0.3", lw=1.2, ls="--", label="predicted from behavior"))
    axes[0].legend(handles=handles, frameon=False)
    return _finish(fig)
