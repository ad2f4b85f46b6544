"""Fresh seeds: a calibrated interval of λ for a random solver whose seed is unknown.

A model trained by a random solver without a fixed seed (``SGDClassifier()``, ``LogisticRegression(solver=
"saga")``, ``LinearSVC(loss="hinge")``, all with ``random_state=None``) and stopped far from any minimum
(``max_iter`` reached) cannot be replayed bit for bit, and its stationarity conditions hold for no λ. What the
attacker can still do is train the same estimator at a candidate λ with fresh seeds: at the true λ the released
θ is one more draw from the same distribution as those trainings (scikit-learn draws the solver's seed from
NumPy's global generator, the fresh ones from ``RandomState(s)``: the same distribution). With k fresh draws
θ₁…θ_k and the released θ, each scored by its distance to the mean of all k + 1, the rank of θ's score is
uniform under that hypothesis, so "θ is the farthest out" has probability 1/(k + 1). Every λ where some fresh
draw lies at least as far out as θ is kept: with k = 19 that is a conformal 95 % confidence set. The interval
is its hull, each end pushed out to the first λ tested that is rejected.

Where λ barely changes what the solver does in ``max_iter`` epochs (dual coordinate descent whose dual
variables never reach their bound C; saga far from convergence on raw features), the set is wide or
unbounded: the parameters say little about λ, and the result says so.
"""

from __future__ import annotations

import numpy as np

from .replay import REPLAY_BUDGET, Replay, _OutOfBudget, _random, _Trainer, replayable

__all__ = ["resample", "SEEDS"]

#: fresh trainings per candidate λ: with the released θ, 20 exchangeable draws (a 95 % conformal set)
SEEDS = 19


def resample(est, X, y, to_native, start: dict, *, seconds: float | None = REPLAY_BUDGET, seeds: int = SEEDS,
             span: float = 1e3, scout: int = 3, fit_params=None) -> Replay | None:
    """The conformal set of λ (see the module docstring) for an estimator trained by a random solver with
    ``random_state=None``; ``start`` holds one λ to search around (within ``span`` either way). ``scout`` fresh
    draws per point locate the region first (a grid of half decades, then two finer ones around its best).
    Returns None where it does not apply (a seeded or deterministic solver, two λs) or where no λ tested is
    consistent with θ; ``exhausted`` when the time budget ran out. ``fit_params`` go to every ``fit``."""
    keys = list(start)
    n = X.shape[0]
    if (len(keys) != 1 or not _random(est, n) or replayable(est, n) or "random_state" not in est.get_params()
            or not (np.isfinite(start[keys[0]]) and start[keys[0]] > 0)):
        return None
    trainer = _Trainer(est, X, y, to_native, keys, seconds, fit_params)
    draws: dict[float, list] = {}

    def sample(x, k):
        """k fresh draws of θ at log λ = x (cached, extended as needed)."""
        have = draws.setdefault(round(x, 12), [])
        native = trainer.to_native({keys[0]: np.float64(np.exp(x))})
        while len(have) < k:
            t = trainer.train(native, random_state=len(have))
            have.append(t if t is not None and t.shape == trainer.theta.shape else None)
        return [t for t in have[:k] if t is not None]

    def scores(x, k):
        """(θ's distance to the mean of all draws and θ, the fresh draws' distances)."""
        S = sample(x, k)
        if not S:
            return np.inf, np.zeros(0)
        Z = np.vstack([*S, trainer.theta])
        d = np.linalg.norm(Z - Z.mean(axis=0), axis=1)
        return d[-1], d[:-1]

    def kept(x):
        """Some fresh draw lies at least as far out as θ (p-value above 1/(k + 1))."""
        own, others = scores(x, seeds)
        return bool(np.any(others >= own))

    def ratio(x, k):
        own, others = scores(x, k)
        return own / others.mean() if others.size and others.mean() > 0 else np.inf

    x0 = float(np.log(start[keys[0]]))
    try:
        step = np.log(10) / 2
        reach = int(np.ceil(np.log(span) / step))
        grid = x0 + step * np.arange(-reach, reach + 1)
        best = min(grid, key=lambda x: ratio(x, scout))
        for _ in range(2):  # zoom in: the consistent set can be far narrower than the coarse step (±10 %)
            step /= 4
            grid = sorted(best + step * np.arange(-4, 5), key=lambda x: ratio(x, scout))
            best = grid[0]
        # the scouts' ratio is noisy: the first of the four best points that the full test keeps
        best = next((x for x in grid[:4] if kept(x)), None)
        if best is None:
            return None
        ends = []
        for sign in (-1.0, 1.0):
            inside, t = 0.0, np.log(1.1)
            while kept(best + sign * t):
                if t > 40.0:  # kept e^40 away: no end on this side
                    t = np.inf
                    break
                inside, t = t, 2 * t
            if np.isfinite(t):  # one bisection between the last kept and the first rejected; the outer end stays
                mid = 0.5 * (inside + t)
                t = t if kept(best + sign * mid) else mid
            ends.append(best + sign * t)
        tried = [x for x in draws if len(draws[x]) >= seeds and kept(x)]
        point = min(tried, key=lambda x: ratio(x, seeds))
    except _OutOfBudget:
        return Replay(lambdas={keys[0]: float(np.exp(x0))}, distance=np.inf, intervals={},
                      n_fits=sum(len(v) for v in draws.values()), exhausted=True)
    lo, hi = (float(np.exp(e)) for e in ends)
    return Replay(lambdas={keys[0]: float(np.exp(point))}, distance=float(ratio(point, seeds)),
                  intervals={keys[0]: (lo, hi)}, n_fits=sum(len(v) for v in draws.values()))
