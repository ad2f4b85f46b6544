"""The attack's fast paths give what the plain computations give.

* ``_bvls`` (QR-updating bounded least squares, warm-startable) against scipy's ``lsq_linear``;
* the hinge candidate systems derived from the largest margin set against ``objective.system``
  built from scratch for every candidate set.
"""

import numpy as np
import pytest
from scipy.optimize import lsq_linear

import hypersteal
from hypersteal.attack import solve_system
from hypersteal.attack.solve import _bvls
from hypersteal.attack.systems import _margin_candidates, _sub_system
from hypersteal.learners import train
from hypersteal.objectives import get_objective


def _reference(M, t, lo, hi):
    return lsq_linear(M, t, bounds=(lo, hi), method="bvls", tol=1e-15, lsq_solver="exact")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(40, 12), (30, 30), (200, 25)])
def test_bvls_matches_scipy(seed, shape):
    rng = np.random.default_rng(seed)
    m, n = shape
    M = rng.normal(size=(m, n))
    M /= np.linalg.norm(M, axis=0)
    t = rng.normal(size=m) * 3
    lo = np.zeros(n)
    hi = np.where(np.arange(n) < 2, np.inf, rng.uniform(0.2, 1.5, size=n))
    ref = _reference(M, t, lo, hi)
    for u0 in (None, np.clip(rng.normal(size=n), lo, hi), lo.copy()):
        u = _bvls(M, t, lo, hi, u0)
        assert u is not None
        assert np.all(u >= lo - 1e-12) and np.all(u <= hi + 1e-12)  # as scipy's: a step may end a rounding off
        cost, ref_cost = np.linalg.norm(M @ u - t), np.linalg.norm(M @ ref.x - t)
        assert cost == pytest.approx(ref_cost, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(u, ref.x, rtol=1e-7, atol=1e-9)


def test_bvls_gives_up_on_dependent_columns_and_solve_system_falls_back():
    rng = np.random.default_rng(1)
    M = rng.normal(size=(20, 6))
    M = np.hstack([M, M[:, :3]])  # repeated columns: the free set can become singular
    M /= np.linalg.norm(M, axis=0)
    t = M @ np.full(9, 0.5) + 0.01 * rng.normal(size=20)
    lo, hi = np.zeros(9), np.ones(9)
    u = _bvls(M, t, lo, hi)
    ref = _reference(M, t, lo, hi)
    if u is not None:  # when it does finish, it found the same minimum
        assert np.linalg.norm(M @ u - t) == pytest.approx(np.linalg.norm(M @ ref.x - t), rel=1e-9)


def _cases():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 5))
    y = (X @ rng.normal(size=5) + 0.5 * rng.normal(size=120) > 0).astype(int)
    y3 = np.digitize(X[:, 0] + 0.4 * rng.normal(size=120), [-0.5, 0.5])
    lin = train("svm_hinge", X, y, 0.8)
    # an inexact copy: many points near, not on, the margin, so every candidate set differs
    noisy = {**lin, "coef": lin["coef"] * (1 + 1e-3 * rng.normal(size=np.shape(lin["coef"])))}
    out = [("svm_hinge", X, y, lin, {}), ("svm_hinge", X, y, noisy, {})]
    ovr = {"coef": rng.normal(size=(3, 5)) * 0.3, "intercept": rng.normal(size=3) * 0.1}
    out.append(("svm_hinge", X, y3, ovr, {}))
    kopts = {"kernel": "rbf", "gamma": 0.3}
    ker = train("kernel_svm_hinge", X, y, 0.5, **kopts)
    out += [("kernel_svm_hinge", X, y, ker, {**kopts, "form": form}) for form in ("reduced", "full")]
    return out


def _candidate_setup(case):
    """The candidate margin sets of a case, the largest set's system, its points (β columns), which of them lie
    inside the margin, and their order by nearness; with the objective, data, params and form."""
    algorithm, X, y, params, opts = _cases()[case]
    opts = dict(opts)
    form = {"form": opts.pop("form")} if "form" in opts else {}
    objective = get_objective(algorithm, **opts)
    data = objective.prepare(X, y)
    params = objective.check_params(params, data)
    signed = objective.margins(data, params)
    candidates = _margin_candidates(np.abs(signed), None)
    full = objective.system(data, params, margin=candidates[-1][0], **form)
    points = np.flatnonzero(candidates[-1][0].ravel())
    inside = signed.ravel()[points] < 0
    order = np.argsort(np.abs(signed).ravel()[points], kind="stable")
    return candidates, full, points, inside, order, (objective, data, params, form)


@pytest.mark.parametrize("case", range(5))
def test_candidate_systems_equal_systems_built_from_scratch(case):
    candidates, full, points, inside, _, (objective, data, params, form) = _candidate_setup(case)
    for mask, _ in candidates:
        derived, _ = _sub_system(full, points, inside, mask)
        direct = objective.system(data, params, margin=mask, **form)
        np.testing.assert_allclose(derived.b, direct.b, rtol=1e-12, atol=1e-12 * np.abs(direct.b).max())
        np.testing.assert_array_equal(derived.A, direct.A)
        np.testing.assert_array_equal(derived.B, direct.B)
        a, b = solve_system(derived, interval=False), solve_system(direct, interval=False)
        assert a.residual == pytest.approx(b.residual, rel=1e-8, abs=1e-14)


def test_steal_hinge_unchanged_by_warm_starts():
    """The whole attack against one whose every bounded solve is scipy's, from scratch."""
    import hypersteal.attack.solve as attack

    algorithm, X, y, params, _ = _cases()[1]
    fast = hypersteal.steal(algorithm, X, y, params)
    original = attack._bvls
    try:
        attack._bvls = lambda *args, **kw: None  # every solve falls back to scipy
        slow = hypersteal.steal(algorithm, X, y, params)
    finally:
        attack._bvls = original
    _assert_same_result(fast, slow, rtol=1e-9, residual_rtol=1e-9)


def _assert_same_result(fast, slow, rtol, residual_rtol):
    assert fast.status == slow.status
    assert fast.n_margin == slow.n_margin
    assert fast.identifiable == slow.identifiable
    assert fast.estimate["lambda"] == pytest.approx(slow.estimate["lambda"], rel=rtol, abs=1e-12)
    assert fast.residual == pytest.approx(slow.residual, rel=residual_rtol, abs=1e-14)
    for (lo1, hi1), (lo2, hi2) in zip(fast.intervals.values(), slow.intervals.values()):
        assert lo1 == pytest.approx(lo2, rel=1e-7, abs=1e-10)
        assert hi1 == pytest.approx(hi2, rel=1e-7, abs=1e-10)


def _candidates_by_full_sort(delta):
    """The candidate sets as first written: a stable sort of every |δ|."""
    d = np.abs(delta).ravel()
    order = np.argsort(d, kind="stable")
    ds = np.maximum(d[order], 1e-16)
    near = int(np.searchsorted(ds, 0.05, side="right"))
    logs = np.log10(np.concatenate([[1e-16], np.minimum(ds[: near + 1], 0.05)]))
    if len(logs) == near + 1:
        logs = np.append(logs, np.log10(0.05))
    gaps = np.diff(logs)
    ks = {0} | {int(k) for k in np.argsort(gaps)[::-1][:8]}
    for tol in (1e-12, 1e-9, 1e-6, 1e-4, 1e-3):
        ks.add(int(np.searchsorted(ds, tol, side="right")))
    out = []
    for k in sorted(k for k in ks if k <= near):
        m = np.zeros(d.size, dtype=bool)
        m[order[:k]] = True
        out.append((m.reshape(delta.shape), float(gaps[k]) if k < len(gaps) else 0.0))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_margin_candidates_sort_only_the_near_points(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    delta = rng.choice([-1, 1], size=(n, 1 + seed % 3)) * 10.0 ** rng.uniform(-14, 0.5, size=(n, 1 + seed % 3))
    delta.flat[rng.choice(delta.size, size=min(delta.size, 5))] = 0.0  # exact zeros and ties
    delta.flat[rng.choice(delta.size, size=min(delta.size, 3))] = 0.05
    if seed == 0:
        delta = np.full((7, 1), 1e-3)  # every point near
    got, want = _margin_candidates(delta, None), _candidates_by_full_sort(delta)
    assert len(got) == len(want)
    for (m1, g1), (m2, g2) in zip(got, want):
        np.testing.assert_array_equal(m1, m2)
        assert g1 == g2


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_hinge_with_nan_in_X_says_so(bad):
    """Every candidate's fit would be NaN: the attack names the cause instead of failing on max()."""
    algorithm, X, y, params, _ = _cases()[0]
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(hypersteal.InputError, match="NaN or infinite"):
        hypersteal.steal(algorithm, X, y, params)


# ---------------------------------------------------------------- the nested candidates' shared factorisation


def test_nested_fits_equal_the_bounded_solver_on_each_candidate():
    """Where the shared factorisation answers, it gives the minimum the bounded solver finds from scratch; where
    it declines (a bound active, more unknowns than equations), the solver's minimum is indeed not its own."""
    from hypersteal.attack.nested import NestedFits

    fast = declined = 0
    for case in range(5):
        candidates, full, points, inside, order, _ = _candidate_setup(case)
        nested = NestedFits(full, order, inside, largest=len(points))
        for mask, _ in candidates:
            k = int(mask.sum())
            system, _ = _sub_system(full, points, inside, mask)
            ref = solve_system(system, interval=False)
            got = nested.fit(k)
            if got is None:
                declined += 1
                continue
            fast += 1
            assert got.residual == pytest.approx(ref.residual, rel=1e-8, abs=1e-14)
            np.testing.assert_allclose(got.lam, ref.lam, rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(got.beta, ref.beta, rtol=1e-7, atol=1e-9)
            assert got.abs_residual == pytest.approx(ref.abs_residual, rel=1e-6, abs=1e-13)
    assert fast and declined  # both branches were exercised


@pytest.mark.parametrize("case", range(5))
def test_steal_hinge_unchanged_by_the_shared_factorisation(case, monkeypatch):
    """The whole attack with every candidate solved by the bounded solver and none skipped (exact fits, where
    larger sets are skipped; the noisy copy, where the candidates are ambiguous; one-vs-rest; kernel forms)."""
    import hypersteal.attack.nested as nested
    import hypersteal.attack.systems as systems

    algorithm, X, y, params, opts = _cases()[case]
    fast = hypersteal.steal(algorithm, X, y, params, **opts)
    monkeypatch.setattr(nested.NestedFits, "fit", lambda self, k: None)
    monkeypatch.setattr(systems, "ROUND_OFF_FIT", -1.0)  # no candidate fits that well: none is skipped
    slow = hypersteal.steal(algorithm, X, y, params, **opts)
    _assert_same_result(fast, slow, rtol=1e-8, residual_rtol=1e-6)


def test_candidates_containing_a_round_off_fit_are_not_solved(monkeypatch):
    """An exact fit has points just off the margin too: the sets adding them are skipped, not solved."""
    import hypersteal.attack.systems as systems

    algorithm, X, y, params, _ = _cases()[0]
    solved = []
    real = systems.solve_system
    monkeypatch.setattr(systems, "solve_system", lambda system, **kw: solved.append(system) or real(system, **kw))
    candidates, *_ = _candidate_setup(0)
    result = hypersteal.steal(algorithm, X, y, params)
    assert result.residual < 1e-12
    assert len(candidates) > 2 and len(solved) < len(candidates) - 1, (len(solved), len(candidates))
