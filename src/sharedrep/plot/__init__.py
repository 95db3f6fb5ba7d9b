"""Figures of a ShaReD analysis (matplotlib), as ``sr.plot.<name>``.

=========================  ==================================================================
function                   shows
=========================  ==================================================================
:func:`cv_curve`           held-out R² against the number of shared components, one line per
                           ridge penalty, with the chosen model marked
:func:`filters`            each component's temporal filter per behavioral variable (one panel
                           per component), with bootstrap bands when given
:func:`encoding_map`       per session, each neuron's cross-fitted R² and the unique
                           contribution of each component, significant cells marked
:func:`session_r2`         R² of every neuron, grouped by session, with the session means
:func:`conditions`         condition comparison: fraction of neurons encoding, R², ΔR² and
                           peak lag per component and condition, each animal a point, with
                           permutation p-values and the smallest p the design allows
:func:`trial_average`      each component's latent averaged over trials against the time within
                           the trial (``Session.trial_time``), per session and per condition
:func:`groups`             encoding in a labelled group of neurons against the rest, per animal
                           and pooled, with intervals over animals (``sr.compare_groups``)
:func:`populations`        response profiles and timing of populations recorded together, and
                           the lead per animal (``sr.compare_populations``)
:func:`learning`           measures across days, one line per animal, with the within-animal
                           trend (``sr.learning_trends``)
=========================  ==================================================================

Conventions. Every function returns the :class:`~matplotlib.figure.Figure` it drew on.
Single-panel functions take an optional ``ax`` (the figure returned is then ``ax.figure``);
multi-panel functions take an optional ``fig``. Nothing is shown or saved; call ``plt.show()``
or ``fig.savefig(...)``. Only the figures a function creates are touched, and
``matplotlib.pyplot`` is imported on first use, so importing sharedrep never selects a backend.

Readability. Text is at least ``MIN_FONT_PT`` (9 pt) and figures are at most about 10 inches
wide, so that at the report's width (about 1,050 CSS pixels at 110 dpi) no text is smaller than
9 pt on screen. R² and ΔR² never share a colour scale; values beyond a scale's ends are drawn in
the scale's "under" and "over" colours, and the colour bar has an arrow at that end. Reference
lines are drawn where one exists: R² = 0 (predicting each neuron's mean), the noise ceiling
when it is given, the FDR level (the fraction of neurons that would be called encoding if none
did). Small values are shown with three significant digits (:func:`fmt_value`).

Names of R² (the package's scheme, also that of every table): *held-out* (cross-validation:
``W`` and readouts fitted without the scored fold), *cross-fitted* (the encoding map: ``W``
fitted without the scored session, the readout without the scored fold) and *in-sample* (the
readout fitted on the samples scored).

Lags are drawn in milliseconds when the sampling rate is known (else in samples); negative lags
mean that neural activity leads behavior (the library's lag convention).
"""

from __future__ import annotations

# the figures, by what they show (one module each); the style they share is in _style
from ._conditions import _smallest_p as _smallest_p  # the report states it too
from ._conditions import conditions
from ._model import cv_curve, filters, peak_info
from ._neurons import encoding_map, session_r2
from ._study import groups, learning, populations
from ._style import ALPHA as ALPHA
from ._style import MIN_FONT_PT, fmt_lag, fmt_value
from ._style import PALETTE as PALETTE
from ._style import TEXT_PT as TEXT_PT
from ._trials import trial_average

__all__ = [
    "MIN_FONT_PT",
    "conditions",
    "cv_curve",
    "encoding_map",
    "filters",
    "fmt_lag",
    "fmt_value",
    "groups",
    "learning",
    "peak_info",
    "populations",
    "session_r2",
    "trial_average",
]
