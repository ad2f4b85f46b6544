"""Hyperplanes beyond the query region: ReLU units active on (nearly) every query.

A unit whose hyperplane lies a few standard deviations from the queries' centre is linear on almost every
query, so random lines through the region seldom cross it.  On the region the network is then the located
units plus a linear part; a network has no linear term, so that linear part is the missing units'
contribution, Σ αⱼ nⱼᵀu (output weights αⱼ), up to terms nᵢαᵢᵀ of located units (the active side of a
located unit is not known yet: relu(z) = relu(−z) + z).  With those terms projected out, its column space
points towards the missing hyperplanes: lines from the centre along it cross them.
Units inactive on the whole region (dead) leave no linear part and are not searched for: they do not
change any answer there.
"""

from __future__ import annotations

import numpy as np

from .relu import _half_length, _Line, _MLPProbe, _new_plane

_REACH = 2.0  # far lines run to ± this × the kink search's half-length
_LINEAR_TOL = 1e-7  # a leftover linear part below this (relative to the located units' weights) is none
_FAR_IDLE = 8  # lines in a row without a new hyperplane before the far search stops
_ROWS = 10  # rows per unknown of the linear fit that finds the leftover directions


def _leftover_directions(probe: _MLPProbe, planes: list, d: int) -> np.ndarray:
    """Orthonormal directions (d, r) of the linear part the located hyperplanes leave unexplained."""
    U, T, S = probe.data()
    k = len(planes)
    if len(U) > _ROWS * (k + d + 1):  # directions, not a fit: a random share of the rows is enough
        pick = probe.plan.rng.choice(len(U), _ROWS * (k + d + 1), replace=False)
        U, T, S = U[pick], T[pick], S[pick]
    w = 1.0 / S
    w /= w.max()
    N = np.column_stack([p[0] for p in planes]) if k else np.zeros((d, 0))
    b = np.array([p[1] for p in planes])
    Phi = np.column_stack([np.maximum(U @ N + b, 0.0), U, np.ones(len(U))]) * w[:, None]
    coef = np.linalg.lstsq(Phi, T * w[:, None], rcond=None)[0]
    alpha, beta = coef[:k], coef[k : k + d]
    if k:  # take out what flipping located units explains: their terms nⱼαⱼᵀ, in the space of (d, o) maps
        V = np.einsum("dj,jo->jdo", N, alpha).reshape(k, -1)
        flips = np.linalg.lstsq(V.T, beta.ravel(), rcond=None)[0]
        beta = beta - (V.T @ flips).reshape(beta.shape)
    Ub, sv, _ = np.linalg.svd(beta, full_matrices=False)
    scale = max(float(np.abs(alpha).max()) if k else 0.0, float(sv[0]) if sv.size else 0.0, 1e-300)
    return Ub[:, sv > _LINEAR_TOL * scale]


def _far_kinks(probe: _MLPProbe, planes: list, d: int, h: int, max_rows: int, bar=None) -> list:
    """Add the hyperplanes of units that are linear on the query region (see the module doc)."""
    plan = probe.plan
    rng = plan.rng
    planes = list(planes)
    n_grid = 96
    reach = _REACH * _half_length(d)
    cost_line = n_grid + 4 * (2 * d + 3)
    r = None
    idle = 0
    while len(planes) < h and idle < _FAR_IDLE and plan.sent + cost_line <= max_rows:
        V = _leftover_directions(probe, planes, d)
        if V.shape[1] == 0:
            break  # the located units explain the answers: the rest are dead on the region
        v = V @ rng.standard_normal(V.shape[1]) if idle else V[:, idle % V.shape[1]]
        v = v / np.linalg.norm(v)
        a = 0.1 * rng.standard_normal(d)
        ts = np.linspace(-reach, reach, n_grid)
        T, S = probe(a + ts[:, None] * v)
        if r is None:
            r = rng.standard_normal(T.shape[1]) if T.shape[1] > 1 else np.ones(1)
        line = _Line(probe, a, v, r)
        found = 0
        for t, eps, jump in line.scan(ts, T @ r, S * np.abs(r).sum(), max_rows):
            if plan.sent + 2 * d + 14 > max_rows:
                break
            plane = _new_plane(probe, line, planes, a + t * v, eps, jump, d)
            if plane is not None:
                planes.append(plane)
                found += 1
                if bar is not None:
                    bar(len(planes), plan.sent)
        idle = 0 if found else idle + 1
    return planes
