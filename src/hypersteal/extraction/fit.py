"""The variable-projection fit of a one-hidden-layer network, and its start from located ReLU hyperplanes."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from ._common import _EPS, _POLISH, _SCREEN_NFEV, _act, _Plan


class _VarPro:
    """Weighted least squares for a one-hidden-layer network by variable projection.

    For a fixed hidden layer (W1, b1) the output layer is a linear least-squares solve, so only the
    hidden layer φ = (W1, b1) is optimised (scipy ``least_squares``, Kaufman's Jacobian).  Rows are
    weighted by the inverse of their error (a logit near saturation is known only roughly).
    """

    def __init__(self, U, T, w, activation, h):
        self.U, self.T, self.w, self.activation, self.h = U, T, w, activation, h
        self.Tw = T * w[:, None]
        self.tnorm = max(np.linalg.norm(self.Tw), np.finfo(float).tiny)

    def inner(self, phi):
        U, w, h = self.U, self.w, self.h
        m, d = U.shape
        W1, b1 = phi[: d * h].reshape(d, h), phi[d * h :]
        H, dH = _act(self.activation, U @ W1 + b1)
        Hb = np.column_stack([H, np.ones(m)]) * w[:, None]
        Ub, s, Vt = np.linalg.svd(Hb, full_matrices=False)
        r = max(int(np.sum(s > s[0] * max(Hb.shape) * _EPS)), 1)
        Ub = Ub[:, :r]
        B = Vt[:r].T @ ((Ub.T @ self.Tw) / s[:r, None])
        return dH, Ub, B, Hb @ B - self.Tw

    def fun(self, phi):
        return self.inner(phi)[-1].ravel(order="F")

    def jac(self, phi):
        dH, Ub, B, _ = self.inner(phi)
        U, w, h = self.U, self.w, self.h
        m, d = U.shape
        blocks = []
        for k in range(B.shape[1]):
            g = dH * B[:h, k] * w[:, None]
            Jk = np.column_stack([(U[:, :, None] * g[:, None, :]).reshape(m, d * h), g])
            blocks.append(Jk - Ub @ (Ub.T @ Jk))
        return np.vstack(blocks)

    def residual(self, phi) -> float:
        return float(np.linalg.norm(self.inner(phi)[-1]) / self.tnorm)

    def run(self, phi, nfev):
        try:
            sol = optimize.least_squares(
                self.fun, phi, jac=self.jac, method="trf", ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=nfev
            )
        except (np.linalg.LinAlgError, ValueError):  # a degenerate start (SVD did not converge)
            return phi, np.inf
        return sol.x, float(np.linalg.norm(sol.fun) / self.tnorm)

    def unpack(self, phi):
        d, h = self.U.shape[1], self.h
        _, _, B, _ = self.inner(phi)
        return phi[: d * h].reshape(d, h).copy(), phi[d * h :].copy(), B[:h], B[h]


def _relu_start(fit: _VarPro, planes: list, plan: _Plan):
    """A hidden layer from located hyperplanes: choose each unit's active side, fill spare units.

    relu(z) = relu(−z) + z, so the hyperplanes fix the function only up to which side of each one its
    unit is active on; the network has no linear term, so the active sides are the subset F of units
    whose flipped linear parts cancel the linear part β of the fit Σ αⱼ relu(nⱼ·u + bⱼ) + βᵀu + c
    (a subset sum, solved by meeting in the middle).  A linear part left over (units active on every
    query) goes to spare units whose hyperplanes lie beyond the queries.
    """
    U, T, w, h = fit.U, fit.T, fit.w, fit.h
    m, d = U.shape
    k = len(planes)
    if k > h:
        plan.notes.append(f"found {k} kinks' hyperplanes for {h} units; kink start abandoned.")
        return None
    N = np.column_stack([p[0] for p in planes])
    b = np.array([p[1] for p in planes])
    Phi = np.column_stack([np.maximum(U @ N + b, 0.0), U, np.ones(m)]) * w[:, None]
    coef = np.linalg.lstsq(Phi, T * w[:, None], rcond=None)[0]
    alpha, beta = coef[:k], coef[k : k + d]  # (k, o), (d, o)
    V = np.einsum("dj,jo->jdo", N, alpha).reshape(k, -1)
    flip = _subset_sum(V, -beta.ravel())
    W1 = np.zeros((d, h))
    b1 = np.zeros(h)
    sgn = np.where(flip, -1.0, 1.0)
    W1[:, :k], b1[:k] = N * sgn, b * sgn
    left = (beta.ravel() + V[flip].sum(axis=0)).reshape(d, -1)
    if k < h and np.linalg.norm(left) > 1e-8 * max(np.linalg.norm(beta), 1e-300):
        Ul, sl, _ = np.linalg.svd(left, full_matrices=False)
        for i in range(min(h - k, int(np.sum(sl > 1e-8 * sl[0])))):
            n = Ul[:, i]
            W1[:, k + i] = n
            b1[k + i] = 1.0 - (U @ n).min()  # active on every query: linear there
    return np.concatenate([W1.ravel(), b1])


def _subset_sum(V: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The subset of the rows of V whose sum is nearest target (exact for up to 36 rows)."""
    k = V.shape[0]
    if k == 0:
        return np.zeros(0, dtype=bool)
    # the subset's indicator solves Vᵀc = target; when V has full row rank it is that solution, rounded
    Wv, sv, Zt = np.linalg.svd(V, full_matrices=False)
    rank = int(np.sum(sv > sv[0] * max(V.shape) * _EPS)) if sv.size and sv[0] > 0 else 0
    if rank == k:
        c = Wv @ ((Zt @ target) / sv)
        if np.all(np.abs(c - np.rint(c)) < 1e-3) and np.all((np.rint(c) == 0) | (np.rint(c) == 1)):
            return np.rint(c).astype(bool)
    if k > 36 or rank == k:  # relaxation, then rounding (no exact subset: some hyperplane is missing)
        c = optimize.lsq_linear(V.T, target, bounds=(0.0, 1.0)).x
        return c > 0.5
    # meet in the middle, in the coordinates of V's row space (at most k of them)
    V, target = V @ Zt[:rank].T, Zt[:rank] @ target

    def sums(rows):
        S = np.zeros((1, V.shape[1]))
        for v in rows:
            S = np.vstack([S, S + v])
        return S  # index i: the subset of the bits of i

    k1 = k // 2
    from scipy.spatial import cKDTree

    left, right = sums(V[:k1]), sums(V[k1:])
    dist, idx = cKDTree(left).query(target - right)
    j = int(np.argmin(dist))
    i = int(idx[j])
    return np.array([(i >> t) & 1 for t in range(k1)] + [(j >> t) & 1 for t in range(k - k1)], dtype=bool)


def _fit_restarts(plan, fit: _VarPro, n_restarts: int, max_iter: int):
    """The fit from random starts whose hyperplanes cross the query cloud: screen short runs from
    ``n_restarts`` starts, polish the best ``_POLISH`` to ``max_iter`` evaluations.  Returns φ, residual.
    """
    U = fit.U
    m, d = U.shape
    h = fit.h
    screened = []
    for _ in range(max(n_restarts, 1)):
        W1 = plan.rng.standard_normal((d, h)) / math.sqrt(d)
        anchors = U[plan.rng.integers(0, m, size=h)]
        b1 = -np.einsum("hd,dh->h", anchors, W1)  # each unit's hyperplane crosses the queries
        phi, res = fit.run(np.concatenate([W1.ravel(), b1]), min(_SCREEN_NFEV, max_iter))
        screened.append((res, phi))
        if res < 1e-10:
            break
    screened.sort(key=lambda t: t[0])
    best_res, best = screened[0]
    for res, phi in screened[:_POLISH]:
        if best_res < 1e-10:
            break
        phi, res = fit.run(phi, max_iter)
        if res < best_res:
            best, best_res = phi, res
    return best, float(best_res)
