"""Style shared by every figure: sizes, colours, reference lines, number formats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ALPHA = "\N{GREEK SMALL LETTER ALPHA}"


#: smallest text in any figure (points); with figures at most ~10 in wide it stays >= 9 pt at
#: the report's width
MIN_FONT_PT = 9.0


#: body text of labels and titles (points)
TEXT_PT = 10.0


#: colours of conditions / sessions (matplotlib's colour-blind-safe "tab10" order)
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


#: reference lines: colour and style
REF = {"color": "0.45", "lw": 1.0, "ls": "--"}


# -- helpers ------------------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _tidy(ax: Axes) -> None:
    """Open axes: no top/right spines (the journal style most labs use)."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def _finish(fig: Figure) -> Figure:
    """Raise every text of the figure to at least :data:`MIN_FONT_PT` (ticks drawn later too)."""
    from matplotlib.text import Text

    for ax in fig.axes:
        ax.tick_params(labelsize=MIN_FONT_PT)
        ax.xaxis.label.set_fontsize(max(ax.xaxis.label.get_fontsize(), TEXT_PT))
        ax.yaxis.label.set_fontsize(max(ax.yaxis.label.get_fontsize(), TEXT_PT))
    for text in fig.findobj(Text):
        if text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
    return fig


def _grid(fig: Figure | None, n: int, ncols: int, panel: tuple[float, float], **kw: Any):
    """``n`` panels on a grid of at most ``ncols`` columns; unused panels removed."""
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    if fig is None:
        fig = _pyplot().figure(
            figsize=(panel[0] * ncols + 0.6, panel[1] * nrows + 0.5), layout="constrained"
        )
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, **kw)).ravel()
    for extra in axes[n:]:
        extra.remove()
    return fig, list(axes[:n])


def _colors(n: int) -> list[Any]:
    """``n`` distinguishable colours: the palette, or a sampled colour map beyond 10."""
    if n <= len(PALETTE):
        return list(PALETTE[:n])
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if n <= 20 else "turbo"]
    return [cmap(i / max(n - 1, 1)) if n > 20 else cmap(i) for i in range(n)]


def _lag_axis(da: xr.DataArray | xr.Dataset) -> tuple[np.ndarray, str]:
    """Lag values and axis label: milliseconds when the rate is known, else samples."""
    if "lag_s" in da.coords:
        return 1000.0 * np.asarray(da["lag_s"].to_numpy(), float), "lag (ms; < 0: neurons lead)"
    return np.asarray(da["lag"].to_numpy(), float), "lag (samples; < 0: neurons lead)"


def fmt_lag(value: float) -> str:
    """A lag for display: at most one decimal, no trailing zeros (``33.3``, ``-100``, ``0``)."""
    return np.format_float_positional(round(float(value), 1) + 0.0, trim="-")  # no "-0"


def fmt_value(value: float, digits: int = 3) -> str:
    """A number for display with ``digits`` significant digits, never in exponent form.

    ``0.0123``, ``-0.000412``, ``0.25``, ``1.5``; ``"n/a"`` for NaN. Unlike a fixed two
    decimals, small R² values keep their sign and size (no ``"-0.00"``).

    Examples
    --------
    >>> fmt_value(-0.000412345), fmt_value(0.25), fmt_value(float("nan"))
    ('-0.000412', '0.25', 'n/a')
    """
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    text = np.format_float_positional(value, precision=digits, fractional=False, trim="-")
    return text.rstrip(".")


def _p_label(p: float) -> str:
    """Short p-value label: ``p=0.41``, ``p=0.003 **``, ``p<0.001 ***``."""
    if not np.isfinite(p):
        return ""
    if p < 0.001:
        return "p<0.001 ***"
    stars = " **" if p < 0.01 else " *" if p < 0.05 else ""
    return f"p={p:.2g}{stars}"
