"""The hinge margin-set candidates' least-squares fits from one QR factorisation.

The candidate sets are nested: the k points nearest the margin, for a few k. With the columns of the largest
candidate's system ordered by nearness, ``[A | B_(1) … B_(k)]`` is a leading block of ``[A | B_sorted]``, and the
R factor of a leading block is the leading block of R: one factorisation serves every candidate that has no
more unknowns than equations. Where a candidate's unconstrained least-squares solution already satisfies the
bounds (λ ≥ 0, β ∈ [0, 1]) it is the bounded problem's unique minimum (the problem is convex and the columns are
independent), so the bounded solver has nothing to add; otherwise the caller solves it as before.

A larger candidate contains a smaller one's solution (each added point keeps the β it had in b: 1 inside the
margin, 0 outside), so its minimum residual is at most the smaller one's: once a candidate fits to round-off,
the larger ones need no solve to be known to fit too (:meth:`relative` gives their bound).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from ..objectives import System
from ._threads import one_blas_thread
from .solve import Solution

#: a pivot of R (unit-norm columns) below this means dependent columns: no unique least-squares solution there
#: (the bounded solver's own threshold)
DEPENDENT_PIVOT = 1e-10


class NestedFits:
    """Least-squares fits of the systems of nested margin sets, derived from the largest set's ``full`` system.

    ``order`` lists ``full``'s β columns by nearness to the margin (candidate k keeps the first k); ``inside``
    marks, per β column of ``full``, the points with y f < 1 (a dropped one returns to b). ``largest`` is the
    size of the largest candidate the caller will ask about (columns beyond it are not factorised).
    """

    def __init__(self, full: System, order: np.ndarray, inside: np.ndarray, largest: int):
        self.full, self.K = full, full.A.shape[1]
        self.B = full.B[:, order]
        self.inside = inside[order].astype(float)
        self.order = order
        m = len(full.b)
        self.width = min(self.K + largest, m)  # columns factorised: no candidate past the number of equations
        C = np.hstack([full.A, self.B[:, :self.width - self.K]])
        self.s = np.linalg.norm(C, axis=0)
        self.QR = None
        if self.width > 0 and np.all(self.s > 0) and np.all(np.isfinite(C)):
            with one_blas_thread():
                self.QR = np.linalg.qr(C / self.s)

    def fit(self, k: int):
        """Candidate k's solution (λ, then β in ``full``'s column order of its k points) and its system, or
        None where the fast path does not apply (more unknowns than equations, dependent columns, or a bound
        the unconstrained solution breaks)."""
        n = self.K + k
        if self.QR is None or n > self.width or n == 0:
            return None
        Q, R = self.QR
        diag = np.abs(np.diag(R)[:n])
        if diag.min() <= DEPENDENT_PIVOT:
            return None
        b = self._b(k)
        u = -solve_triangular(R[:n, :n], Q[:, :n].T @ b, check_finite=False)
        x = u / self.s[:n]
        lam, beta = x[:self.K], x[self.K:]
        if k and (np.any(lam < 0) or np.any(beta < 0) or np.any(beta > 1)):
            return None  # a bound is active: the bounded solver decides
        r = b + np.hstack([self.full.A, self.B[:, :k]]) @ x
        # back to the index order of the points (the order of a system built for this margin set)
        back = np.argsort(self.order[:k], kind="stable")
        return Solution(lam=lam, beta=beta[back], residual=self.relative(float(np.linalg.norm(r)), k),
                        abs_residual=float(np.max(np.abs(r))))

    def _b(self, k: int) -> np.ndarray:
        """Candidate k's b: the points after its first k that lie inside the margin return to it (β = 1)."""
        return self.full.b + self.B[:, k:] @ self.inside[k:] if k < self.B.shape[1] else self.full.b

    def relative(self, norm: float, k: int) -> float:
        """A residual norm relative to candidate k's b, as :func:`solve_system` measures it."""
        denom = float(np.linalg.norm(self._b(k)))
        if not (np.any(self.full.A) or np.any(self.B[:, :k])):
            denom = max(denom, self.full.scale)
        return norm / denom if denom > 0 else norm
