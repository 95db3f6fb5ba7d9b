"""Figures of neurons: the encoding map and R² per session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from ._style import (
    MIN_FONT_PT,
    PALETTE,
    REF,
    TEXT_PT,
    _axes,
    _finish,
    _grid,
    _tidy,
    fmt_value,
)


# -- encoding map -------------------------------------------------------------------------------
def _cmap(name: str, under: str | None, over: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(under=under, over=over)


def _extend(values: np.ndarray, lo: float, hi: float) -> str:
    """Colour-bar ``extend`` saying which ends of the scale clip the values."""
    v = values[np.isfinite(values)]
    below, above = bool((v < lo).any()), bool((v > hi).any())
    return {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (below, above), "neither"
    )


def _top(values: np.ndarray, given: float | None) -> float:
    v = values[np.isfinite(values)]
    top = given if given is not None else float(np.quantile(v, 0.99)) if v.size else 1.0
    return top if top > 0 else max(float(v.max(initial=0.0)), 1e-3)


def encoding_map(
    encoding: Any,
    *,
    sessions: Sequence[str] | None = None,
    fig: Figure | None = None,
    ncols: int = 4,
    vmax: float | None = None,
    vmax_delta: float | None = None,
) -> Figure:
    """Per session, which neurons encode the shared representation and which component.

    Parameters
    ----------
    encoding : EncodingMap or ShaReD
        The result of :func:`sharedrep.encoding_map`: one heatmap per session, one row per
        neuron (sorted by cross-fitted R²), the first column its cross-fitted R² (one colour
        scale), the others ``Δ<k>``, the unique contribution of component ``k`` (drop-one ΔR²,
        a second colour scale); cells that pass the FDR threshold are marked with a dot. A
        fitted :class:`~sharedrep.ShaReD` instead draws each session's readout weights
        ``|V_s|`` (one scale, no statistics).
    sessions : sequence of str, optional
        Sessions to draw (default all).
    fig : matplotlib Figure, optional
    ncols : int
        Panels per row.
    vmax, vmax_delta : float, optional
        Upper ends of the R² and ΔR² colour scales (default: the 99th percentile of the values
        drawn). Both scales start at 0: negative R² (worse than each neuron's mean) and
        negative ΔR² are drawn in the "under" colour (grey), values above the top in the
        "over" colour, and the colour bars show an arrow where values were clipped.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per session (its images: R², then ΔR²), and one colour bar per scale.
    """
    panels = _encoding_panels(encoding, sessions)
    model_only = _is_model(encoding)
    r2 = np.concatenate([m[:, :1].ravel() for _, m, _, _, _ in panels])
    delta = np.concatenate([m[:, 1:].ravel() for _, m, _, _, _ in panels])
    if model_only:
        r2 = np.concatenate([m.ravel() for _, m, _, _, _ in panels])
    top_r2, top_d = _top(r2, vmax), _top(delta, vmax_delta)
    cmap_r2 = _cmap("viridis", "0.78", "#fde725" if model_only else "#ff00ff")
    cmap_d = _cmap("magma_r", "0.78", "#1f77b4")
    fig, axes = _grid(fig, len(panels), ncols, (2.35, 3.4))
    im_r2 = im_d = None
    for ax, (_name, mat, sig, cols, title) in zip(axes, panels, strict=True):
        n, width = mat.shape
        if model_only:
            im_r2 = ax.imshow(
                mat, aspect="auto", cmap=cmap_r2, vmin=0.0, vmax=top_r2, interpolation="nearest"
            )
        else:
            im_r2 = ax.imshow(
                mat[:, :1],
                aspect="auto",
                cmap=cmap_r2,
                vmin=0.0,
                vmax=top_r2,
                interpolation="nearest",
                extent=(-0.5, 0.5, n - 0.5, -0.5),
            )
            if width > 1:
                im_d = ax.imshow(
                    mat[:, 1:],
                    aspect="auto",
                    cmap=cmap_d,
                    vmin=0.0,
                    vmax=top_d,
                    interpolation="nearest",
                    extent=(0.5, width - 0.5, n - 0.5, -0.5),
                )
            ax.axvline(0.5, color="white", lw=2)
            ax.set_xlim(-0.5, width - 0.5)
        if sig is not None:
            rr, cc = np.nonzero(sig)
            ax.plot(cc, rr, "o", ms=2.6, mfc="white", mec="black", mew=0.5, ls="none")
        ax.set_xticks(range(len(cols)), cols)
        ax.set_title(title, fontsize=TEXT_PT)
        ax.set_ylabel("neuron (sorted)" if ax is axes[0] else "")
        ax.set_yticks([0, n - 1], ["1", str(n)])
    if model_only:
        if im_r2 is not None:
            fig.colorbar(im_r2, ax=axes, shrink=0.8, label="|readout weight|")
        fig.suptitle("Readout weights per session (no statistics)", fontsize=TEXT_PT + 1)
        return _finish(fig)
    # constrained layout puts the first colour bar outermost: ΔR² first, so that the R² bar
    # sits next to the panels, in the order of their columns
    if im_d is not None:
        fig.colorbar(
            im_d,
            ax=axes,
            shrink=0.8,
            extend=_extend(delta, 0.0, top_d),
            label="cross-fitted ΔR², unique to Δk (grey: < 0)",
        )
    if im_r2 is not None:
        fig.colorbar(
            im_r2,
            ax=axes,
            shrink=0.8,
            extend=_extend(r2, 0.0, top_r2),
            label="cross-fitted R² (grey: < 0)",
        )
    fig.suptitle("Encoding map per session (dot: significant at the FDR level)", fontsize=11)
    return _finish(fig)


def _is_model(obj: Any) -> bool:
    return hasattr(obj, "session_fits_") and not hasattr(obj, "neurons")


def _encoding_panels(encoding: Any, sessions: Sequence[str] | None):
    """``(name, matrix, significant, column labels, title)`` per session."""
    out = []
    if _is_model(encoding):
        for name, V in encoding.readouts_.items():
            if sessions is not None and name not in sessions:
                continue
            mat = np.abs(V.to_numpy().T)  # (neuron, component)
            order = np.argsort(-np.linalg.norm(mat, axis=1), kind="stable")
            cols = [f"c{k}" for k in range(mat.shape[1])]
            out.append((name, mat[order], None, cols, f"{name}\n{mat.shape[0]} neurons"))
        return out
    neurons, comps = encoding.neurons, encoding.components
    names = list(dict.fromkeys(neurons["session"])) if sessions is None else list(sessions)
    for name in names:
        nn = neurons[neurons["session"] == name]
        if nn.empty:
            raise KeyError(f"session {name!r} is not in the encoding map")
        cc = comps[comps["session"] == name]
        dr2 = cc.pivot(index="neuron", columns="component", values="delta_r2_crossfit")
        enc = cc.pivot(index="neuron", columns="component", values="encodes")
        order = nn.sort_values("r2_crossfit", ascending=False, na_position="last")["neuron"]
        order = order.to_numpy()
        by_neuron = nn.set_index("neuron")
        mat = np.column_stack([by_neuron.loc[order, "r2_crossfit"], dr2.loc[order]])
        sig = np.column_stack([by_neuron.loc[order, "encodes"], enc.loc[order]]).astype(bool)
        cols = ["R²", *[f"Δ{k}" for k in dr2.columns]]
        n_enc, n = int(nn["encodes"].sum()), len(nn)
        cond = nn["condition"].iloc[0] if "condition" in nn else None
        head = f"{name} ({cond})" if isinstance(cond, str) and cond else str(name)
        out.append((name, mat.astype(float), sig, cols, f"{head}\n{n_enc}/{n} encode"))
    return out


# -- R² per session -----------------------------------------------------------------------------
def _neuron_table(source: Any) -> pd.DataFrame:
    """Long table ``session, neuron, r2[, condition]`` from the library's result objects."""
    if hasattr(source, "scores") and hasattr(source, "summary"):  # CVResults: chosen model
        chosen = source.neuron[
            (source.neuron["n_components"] == source.n_components)
            & (source.neuron["alpha"] == source.alpha)
        ]
        return chosen[["session", "neuron", "r2", "condition"]].reset_index(drop=True)
    if hasattr(source, "neurons") and hasattr(source, "components"):  # EncodingMap
        cols = [c for c in ("session", "neuron", "r2_crossfit", "condition") if c in source.neurons]
        return source.neurons[cols].rename(columns={"r2_crossfit": "r2"}).reset_index(drop=True)
    if hasattr(source, "neuron") and hasattr(source, "pooled"):  # Scores
        return source.neuron.rename("r2").reset_index()
    if isinstance(source, pd.Series):
        return source.rename("r2").reset_index()
    if isinstance(source, pd.DataFrame):
        table = source.reset_index() if "session" not in source else source
        r2 = [c for c in table.columns if str(c).startswith("r2")]
        return table.rename(columns={r2[0]: "r2"}) if "r2" not in table and r2 else table
    raise TypeError(
        "session_r2() takes Scores, CVResults, an EncodingMap or a (session, neuron) table, "
        f"got {type(source).__name__}"
    )


def session_r2(
    source: Any,
    *,
    ax: Axes | None = None,
    conditions: Mapping[str, str] | None = None,
    ylabel: str = "held-out R² per neuron",
    noise_ceiling: float | Mapping[str, float] | None = None,
    seed: int = 0,
) -> Figure:
    """R² of every neuron, grouped by session, with each session's mean.

    Parameters
    ----------
    source : Scores, CVResults, EncodingMap or pandas object
        ``CVResults``: the held-out R² of the chosen model; ``EncodingMap``: its cross-fitted
        R² (pass ``ylabel="cross-fitted R² per neuron"``); ``Scores``: whatever it holds
        (``model.score`` is in-sample: pass ``ylabel="in-sample R² per neuron"``); or a Series
        / DataFrame with ``session``, ``neuron`` (index or columns) and an ``r2...`` column.
    ax : matplotlib Axes, optional
    conditions : mapping of str to str, optional
        Condition of each session (default: the ``condition`` column when present), used for
        colours and grouping.
    ylabel : str
    noise_ceiling : float or mapping of str to float, optional
        The best R² the data allow, for the cohort or per session, drawn as a reference.
    seed : int
        Seed of the horizontal jitter of the dots (drawing only).

    Returns
    -------
    matplotlib.figure.Figure
        One column of dots per session (one dot per neuron; neurons without variance are
        left out, none is clipped) and a horizontal bar at the session mean, annotated with
        its value (three significant digits); a dashed line at R² = 0.
    """
    table = _neuron_table(source)
    names = list(dict.fromkeys(table["session"]))
    cond = dict(conditions or {})
    if not cond and "condition" in table:
        firsts = table.groupby("session", sort=False)["condition"].first()
        cond = {k: v for k, v in firsts.items() if isinstance(v, str) and v}
    levels = list(dict.fromkeys(cond[n] for n in names if n in cond))
    if levels:  # group sessions by condition, keeping the order of appearance
        names.sort(key=lambda n: levels.index(cond[n]) if n in cond else len(levels))
    ax = _axes(ax, (min(max(4.0, 0.9 * len(names) + 1.8), 10.0), 3.8))
    rng = np.random.default_rng(seed)
    for i, name in enumerate(names):
        r2 = table.loc[table["session"] == name, "r2"].to_numpy(float)
        r2 = r2[np.isfinite(r2)]
        color = PALETTE[levels.index(cond[name]) % len(PALETTE)] if name in cond else PALETTE[0]
        jitter = rng.uniform(-0.18, 0.18, size=r2.size)
        ax.scatter(i + jitter, r2, s=10, color=color, alpha=0.55, lw=0)
        if r2.size:
            mean = float(r2.mean())
            ax.plot([i - 0.3, i + 0.3], [mean, mean], color="black", lw=2)
            ax.annotate(
                fmt_value(mean),
                (i + 0.32, mean),
                va="center",
                fontsize=MIN_FONT_PT,
                xytext=(2, 0),
                textcoords="offset points",
            )
        if isinstance(noise_ceiling, Mapping) and name in noise_ceiling:
            ax.plot([i - 0.4, i + 0.4], [noise_ceiling[name]] * 2, color="#2ca02c", lw=1, ls="--")
    ax.axhline(0, label="R² = 0 (the mean)", **REF)
    if noise_ceiling is not None and not isinstance(noise_ceiling, Mapping):
        ax.axhline(float(noise_ceiling), color="#2ca02c", lw=1, ls="--", label="noise ceiling")
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0, ha="right")
    ax.set_xlim(-0.6, len(names) - 0.3)
    ax.set_xlabel("session")
    ax.set_ylabel(ylabel)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", ls="none", color=PALETTE[k % len(PALETTE)], label=lev)
        for k, lev in enumerate(levels)
    ]
    refs, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + refs, frameon=False, loc="best")
    _tidy(ax)
    return _finish(ax.figure)
