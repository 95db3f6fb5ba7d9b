"""The optimisation of the shared representation, in q-space (no data, no I/O).

Given per-session matrices ``C_s = Phi_s'Phi_s + alpha I`` (q x q) and ``G_s = F_s F_s'`` (from
a factor ``F_s``, q x n_s, e.g. ``A_s = Phi_s'Y_s``), find the d-dimensional subspace
``span(W)`` maximising

    F(W) = sum_s w_s tr[(W'C_sW)^-1 W'G_sW].

``F`` depends on ``span(W)`` only. For one session the maximiser is given by the top generalised
eigenvectors of ``(G, C)`` (reduced-rank ridge regression); for several sessions we start there
with the pooled matrices and ascend ``F`` in coordinates whitened by the pooled ``C`` (well
conditioned: ``F`` is a Rayleigh quotient there when all ``C_s`` are equal).

What it costs
-------------
The objective only ever needs ``C_s W`` and ``F_s'W``: nothing of size ``q x q`` is formed per
session beyond the ``C_s`` themselves. The pooled ``C`` is factorised once (Cholesky); the start
comes from the top singular vectors of the whitened pooled factor (a partial, randomised solver
when the problem is large); and the ascent runs in a small search subspace (a block Davidson
scheme): the objective restricted to ``span(B)`` (``r`` columns, ``r`` a few times ``d``) is
maximised with L-BFGS (while ``B`` still grows, unless the fit starts from a larger rank's
solution, only to a gradient a tenth of the full problem's: an inexact inner solve), the
gradient of the FULL problem is evaluated at that solution (from the products with ``B`` already
at hand), and while it is not small its directions, and those of the gradient preconditioned by
the pooled problem (a Davidson correction), are added to ``B``. Convergence is judged on the
full problem, so the answer is the same optimum the full-space ascent reaches; the cost is
``O(S q^2 r)`` instead of ``O(S q^3)`` per problem and ``O(S q^2 d)`` per iteration.

Modules: :mod:`._objective` (``F``, its gradient, the L-BFGS ascent), :mod:`._spectral` (leading
singular vectors for the starts), :mod:`._problem` (the prepared problem and its
search-subspace ascent), :mod:`._readout` (readouts and the canonical basis).
"""

from ._objective import SubspaceFit, subspace_objective
from ._problem import SubspaceProblem
from ._readout import canonical_basis, readout

__all__ = [
    "SubspaceFit",
    "SubspaceProblem",
    "canonical_basis",
    "readout",
    "subspace_objective",
]
