"""ReLU geometry: the kink search that locates each hidden unit's hyperplane (the fit that starts from
them: :mod:`.fit`)."""

from __future__ import annotations

import math

import numpy as np

from .._validation import InputError
from ..registry import LEARNERS
from ._common import _EPS, _PRECISE, _link, _Plan, _quantum


class _progress:
    """A rich progress bar of located hyperplanes and queries sent; shown when ``progress`` is True, or
    when it is None (the default) and stderr is a terminal."""

    def __init__(self, progress, what: str, total: int):
        import sys

        self.on = bool(sys.stderr.isatty()) if progress is None else bool(progress)
        self.what, self.total, self._bar = what, total, None

    def __enter__(self):
        if not self.on:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[sent]} queries"), TimeElapsedColumn(), transient=True)
        self._bar.start()
        task = self._bar.add_task(self.what, total=self.total, sent=0)
        return lambda done, sent: self._bar.update(task, completed=done, sent=sent)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False


class _MLPProbe:
    """Ask rows given in unit coordinates u (x = center + scale·u); keep targets and their noise.

    Targets are what the network's output layer computes: values, the logit (binary) or the log-ratios
    to class 0 (softmax).  ``sigma`` is each row's error: the known rounding / noise level, or the
    floating-point floor, propagated through the link (∞ for a saturated probability).
    """

    def __init__(self, plan: _Plan, name: str):
        self.plan, self.name = plan, name
        self.U, self.T, self.S, self.Q, self.A = [], [], [], [], []
        self.layout = None

    def __call__(self, U: np.ndarray, *, explore: bool = True):
        plan = self.plan
        U = np.atleast_2d(U)
        if U.shape[0] == 0:
            return np.zeros((0, 1)), np.zeros(0)
        Q = plan.center + plan.scale * U
        answers = plan.ask(Q)
        if explore:  # our own probing: saturated rows are simply unknown, not the user's concern
            saved, n_notes = plan.saturated, len(plan.notes)
            plan.saturated = "drop"
            try:
                T, G, layout, keep = _link(plan, answers)
            finally:
                plan.saturated = saved
                del plan.notes[n_notes:]
        else:
            T, G, layout, keep = _link(plan, answers)
        if self.layout is None:
            self.layout = layout
        elif layout != self.layout:
            raise InputError("query returned answers of different shapes for different batches.")
        if not LEARNERS[self.name].regression and layout == "multi":
            T, G = T[:, 1:] - T[:, :1], np.maximum(G[:, 1:], G[:, :1])
        # floating-point floor: a softmax's probabilities carry a relative error of a few ulps (exp of the
        # logits), a binary probability an absolute one (the other class is 1 − p)
        absolute = plan.output == "probability" and layout != "multi"
        floor = 8 * _EPS * (np.abs(T).max(axis=1) + (G.max(axis=1) if absolute else 1.0))
        S = np.maximum(_quantum(plan, answers) * G.max(axis=1), floor)
        S[~keep] = np.inf
        for lst, v in ((self.U, U), (self.T, T), (self.S, S), (self.Q, Q), (self.A, answers)):
            lst.append(v)
        return T, S

    def data(self):
        """Every usable row so far: U, targets, sigma."""
        U, T, S = (np.concatenate(x) for x in (self.U, self.T, self.S))
        ok = np.isfinite(S)
        return U[ok], T[ok], S[ok]

    def sent_rows(self):
        return np.concatenate(self.Q), np.concatenate(self.A)


def _half_length(d: int) -> float:
    """Half the length of a search line, in the queries' standard deviations."""
    return max(3.0, 1.5 * math.sqrt(d))


def _relu_kinks(probe: _MLPProbe, d: int, h: int, max_rows: int, bar=None) -> list:
    """Locate the hyperplanes n·u + b = 0 of a one-hidden-layer ReLU network from exact answers.

    Along a line u(t) = a + t·v the network's output is piecewise linear in t with a kink wherever the
    line crosses a unit's hyperplane (Jagielski et al. 2020; Carlini et al. 2020).  A grid on the line
    brackets the kinks (non-zero second differences), the two linear pieces around a bracket meet at the
    kink (checked with one query; brackets holding several kinks are refined), and the jump of the
    gradient across the kink, measured by finite differences on either side, is ∝ the unit's normal n.
    Lines are drawn until h distinct hyperplanes are found, ``max_rows`` are spent or several lines in a
    row add nothing.  Returns a list of (n, b, jump) with ‖n‖ = 1, in unit coordinates.
    """
    plan = probe.plan
    rng = plan.rng
    half = _half_length(d)
    n_grid = 64
    planes: list = []
    r = None
    idle, max_idle = 0, 20
    lenient = False
    cost_line = n_grid + 4 * (2 * d + 3)
    while len(planes) < h and idle < max_idle and plan.sent + cost_line <= max_rows:
        a = 0.5 * rng.standard_normal(d)
        v = rng.standard_normal(d)
        v /= np.linalg.norm(v)
        ts = np.linspace(-half, half, n_grid)
        T, S = probe(a + ts[:, None] * v)
        if r is None:
            r = rng.standard_normal(T.shape[1]) if T.shape[1] > 1 else np.ones(1)
        line = _Line(probe, a, v, r)
        s_line = S * np.abs(r).sum()
        if np.mean(~np.isfinite(S)) > 0.25 and half > 1.0:
            half = max(1.0, 0.7 * half)  # saturated answers hide kinks: shorter lines from now on
        kinks = line.scan(ts, T @ r, s_line, max_rows)
        found = 0
        for t, eps, jump in kinks:
            if plan.sent + 2 * d + 14 > max_rows:  # stencil, then up to four 3-row checks
                break
            # the normal's relative error is about the answers' error over the stencil's step, over the
            # jump: measure it first where the answers are precise (not near saturation), and elsewhere
            # only once lines stop bringing precise kinks
            with np.errstate(invalid="ignore"):
                imprecision = np.interp(t, ts, np.where(np.isfinite(s_line), s_line, 1e300)) / (
                    _STEP * eps * abs(jump))
            if imprecision > _PRECISE and not lenient:
                continue
            plane = _new_plane(probe, line, planes, a + t * v, eps, jump, d)
            if plane is None:
                continue
            planes.append(plane)
            found += 1
            if bar is not None:
                bar(len(planes), plan.sent)
        idle = 0 if found else idle + 1
        if idle >= max_idle // 2 and not lenient:
            lenient, idle = True, 0
    return _remeasure(probe, planes, r, d, max_rows)


def _new_plane(probe: _MLPProbe, line: _Line, planes: list, u: np.ndarray, eps: float, jump: float, d: int):
    """The hyperplane of the kink at u on ``line``: None if it is one we know, or its normal does not
    check out elsewhere (:func:`_on_plane`)."""
    if any(abs(p[0] @ u + p[1]) <= 1e-6 * (1.0 + abs(p[1])) for p in planes):
        return None  # a hyperplane we know already
    plane = line.normal(u, eps, jump, planes)
    if plane is None or not _on_plane(probe, plane, line.r, d, planes):
        return None
    n, b = plane[:2]
    if any(abs(n @ p[0]) > 1 - 1e-6 and abs(b - np.sign(n @ p[0]) * p[1]) < 1e-4 * (1 + abs(b)) for p in planes):
        return None
    return plane


def _remeasure(probe: _MLPProbe, planes: list, r, d: int, max_rows: int) -> list:
    """Measure again, where the answers are more precise, the normals that were measured imprecisely.

    A normal measured near saturation (a logit known only to ~1e-8) is re-measured on lines through the
    point of its plane nearest the centre of the queries, crossing no other known plane within the
    stencil; the more precise of the measurements is kept (up to three tries a plane).
    """
    plan = probe.plan
    rng = plan.rng
    out = list(planes)
    if not planes:
        return out
    N = np.column_stack([p[0] for p in planes])
    B = np.array([p[1] for p in planes])
    for i, (n, b, g, _imp) in enumerate(planes):
        for _ in range(3):
            if out[i][3] <= _PRECISE or plan.sent + 2 * d + 2 > max_rows:
                break
            x0 = -b * n + 0.3 * (rng.standard_normal(d) @ (np.eye(d) - np.outer(n, n)))
            v = n + 0.3 * rng.standard_normal(d) / math.sqrt(d)
            v /= np.linalg.norm(v)
            with np.errstate(divide="ignore"):
                t_other = -(x0 @ N + B) / (v @ N)
            t_other[i] = np.inf
            eps = 0.3 * float(np.min(np.abs(t_other)))
            if not np.isfinite(eps) or eps < 1e-6:
                continue
            line = _Line(probe, x0, v, r)
            new = line.normal(x0, eps, (n @ v) * (g @ r), out)
            if new is not None and abs(new[0] @ n) > 1 - 1e-6 and new[3] < out[i][3]:
                out[i] = new
    return out


def _on_plane(probe: _MLPProbe, plane, r: np.ndarray, d: int, known: list = ()) -> bool:
    """Check a located hyperplane elsewhere: f must kink by the measured jump where it is crossed at
    random points of it (3 queries a try), else the measurement mixed two units.  A try counts only
    where the answers are precise enough to tell (not near saturation); a try too imprecise widens the
    next one's step (up to 0.3, keeping clear of the ``known`` hyperplanes), as a small jump needs; two
    tries must agree, and none at the first step may disagree, within six tries."""
    n, b, g = plane[:3]
    jump = g @ r
    rng = probe.plan.rng
    passed = 0
    eps = 1e-3
    for _ in range(6):
        for _draw in range(10):  # a point of the plane with no known hyperplane within the step
            x = rng.standard_normal(d)
            x -= (n @ x + b) * n
            if all(abs(p[0] @ x + p[1]) > 2 * eps for p in known):
                break
        T, S = probe(x + np.outer([-eps, 0.0, eps], n))
        if not np.all(np.isfinite(S)):
            continue
        y = T @ r
        noise = _Line._C * 4 * S.max() * np.abs(r).sum() / eps
        if noise > 1e-3 * abs(jump):
            eps = min(0.3, 2 * eps * noise / (1e-3 * abs(jump)))
            continue  # too imprecise here to tell
        if abs((y[0] - 2 * y[1] + y[2]) / eps - jump) > 1e-4 * abs(jump) + noise:
            if eps > 1e-3:
                continue  # a widened step may cross a hyperplane not located yet: no verdict
            return False
        passed += 1
        if passed == 2:
            return True
    return False


_STEP = 0.1  # finite-difference step of a normal, in units of the kink's clearance along its line


class _Line:
    """Kink search along one line of the query space (see :func:`_relu_kinks`)."""

    _C = 1e3  # collinearity tolerance, in units of the answers' error

    def __init__(self, probe, a, v, r):
        self.probe, self.a, self.v, self.r = probe, a, v, r

    def f(self, ts):
        T, S = self.probe(self.a + np.atleast_1d(ts)[:, None] * self.v)
        return T @ self.r, S * np.abs(self.r).sum()

    def scan(self, ts, g, s, max_rows, depth=0):
        """Kinks (t, clearance, slope jump) between the grid points ``ts`` with values g ± s."""
        plan = self.probe.plan
        n = len(ts)
        if n < 4:
            return []
        with np.errstate(invalid="ignore"):
            frac = (ts[1:-1] - ts[:-2]) / (ts[2:] - ts[:-2])
            defect = np.abs(g[1:-1] - g[:-2] - (g[2:] - g[:-2]) * frac)
            tol = self._C * (s[:-2] + s[1:-1] + s[2:])
            flat = (defect <= tol) & np.isfinite(tol)
        zero = np.concatenate([[False], flat, [False]])  # point i: neighbours i - 1, i, i + 1 collinear
        clean = zero[:-1] | zero[1:]  # interval j = [t_j, t_j+1]
        clean &= np.isfinite(s[:-1]) & np.isfinite(s[1:])
        kinks = []
        j = 0
        while j < n - 1:
            if clean[j]:
                j += 1
                continue
            lo = j
            while j < n - 1 and not clean[j]:
                j += 1
            hi = j  # dirty intervals lo .. hi - 1, i.e. [t_lo, t_hi]
            if lo == 0 or hi == n - 1 or not np.all(np.isfinite(s[lo - 1 : hi + 2])):
                continue
            sl = (g[lo] - g[lo - 1]) / (ts[lo] - ts[lo - 1])
            sr = (g[hi + 1] - g[hi]) / (ts[hi + 1] - ts[hi])
            if sl == sr or plan.sent + 1 > max_rows:
                continue
            t = (g[hi] - sr * ts[hi] - g[lo] + sl * ts[lo]) / (sl - sr)
            if ts[lo] < t < ts[hi]:
                gt, st = self.f(t)
                pred = g[lo] + sl * (t - ts[lo])
                tol = self._C * (st[0] + s[lo] + s[hi])
                if abs(gt[0] - pred) <= tol:
                    eps = 0.5 * min(t - ts[lo - 1], ts[hi + 1] - t)
                    kinks.append((float(t), eps, sr - sl))
                    continue
                extra_t, extra_g, extra_s = [t], [gt[0]], [st[0]]
            else:
                extra_t, extra_g, extra_s = [], [], []
            if depth >= 6 or plan.sent + 10 > max_rows:
                continue
            new = np.linspace(ts[lo], ts[hi], 10)[1:-1]
            gn, sn = self.f(new)
            tt = np.concatenate([ts[lo - 1 : hi + 2], new, extra_t])
            gg = np.concatenate([g[lo - 1 : hi + 2], gn, extra_g])
            ss = np.concatenate([s[lo - 1 : hi + 2], sn, extra_s])
            order = np.argsort(tt)
            kinks += self.scan(tt[order], gg[order], ss[order], max_rows, depth + 1)
        return kinks

    def normal(self, u, eps, jump, known=()):
        """The hyperplane through kink u: the gradient jump across it, by forward differences from
        u ± clearance·v (2d + 2 queries).

        Each coordinate's step is ``_STEP`` × the clearance, shortened so that it crosses no ``known``
        hyperplane; the steps that crossed the kink's own hyperplane (a line meeting it at a grazing
        angle) are measured again, shorter, once its normal is known (one query each)."""
        d = u.size
        base = np.vstack([u - eps * self.v, u + eps * self.v])
        steps = np.full((2, d), _STEP * eps)
        if len(known):
            N = np.column_stack([p[0] for p in known])
            room = np.abs(base @ N + np.array([p[1] for p in known]))  # (side, plane), ‖n‖ = 1
            with np.errstate(divide="ignore"):
                limit = 0.5 * (room[:, None, :] / np.abs(N)[None]).min(axis=2)
            steps = np.minimum(steps, np.maximum(limit, 1e-3 * steps))
        T0, S0 = self.probe(base)
        T1, S1 = self.probe((base[:, None, :] + steps[:, :, None] * np.eye(d)[None]).reshape(2 * d, d))
        T1, S1 = T1.reshape(2, d, -1).copy(), S1.reshape(2, d).copy()  # the probe keeps its own rows
        for attempt in range(3):
            if not (np.all(np.isfinite(S0)) and np.all(np.isfinite(S1))):
                return None
            J = (T1 - T0[:, None, :]) / steps[:, :, None]  # (side, d, o)
            D = J[1] - J[0]  # jump of the Jacobian crossing the hyperplane along +v
            Uu, sv, Vt = np.linalg.svd(D, full_matrices=False)
            if sv[0] == 0:
                return None
            n = Uu[:, 0]
            crossed = steps * np.abs(n) >= 0.5 * eps * abs(n @ self.v)  # (side, d)
            if not crossed.any() or crossed.sum() > d // 2 or attempt == 2:
                break
            steps = np.where(crossed, 0.25 * eps * abs(n @ self.v) / np.maximum(np.abs(n), 1e-300), steps)
            side, k = np.nonzero(crossed)
            T1[side, k], S1[side, k] = self.probe(base[side] + steps[side, k][:, None] * np.eye(d)[k])
        if sv.size > 1 and sv[1] > 1e-4 * sv[0]:
            return None
        n, g = Uu[:, 0], sv[0] * Vt[0]
        if n @ self.v < 0:
            n, g = -n, -g
        # the jump along v must match the one the line measured (else a stencil crossed a kink)
        along = (n @ self.v) * (g @ self.r)
        if abs(along - jump) > 1e-3 * abs(jump):
            return None
        S, T, delta = np.maximum(S0.max(), S1.max()), T0, steps.min()
        imprecision = 2.0 * float(S.max()) / delta / sv[0]  # relative error of the normal's entries
        # where the two linear pieces meet along v: the kink, to the answers' precision
        y = T @ self.r
        sl = np.einsum("d,sdo,o->s", self.v, J, self.r)
        if sl[0] != sl[1]:
            t = (y[1] - y[0] - (sl[0] + sl[1]) * eps) / (sl[0] - sl[1])
            if abs(t) < eps:
                u = u + t * self.v
        return n, float(-(n @ u)), g, imprecision
