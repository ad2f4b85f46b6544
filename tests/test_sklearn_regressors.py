"""steal_from_estimator on scikit-learn regressors beyond the paper's, against real fits: the value the estimator
was fitted at (or chose) comes back at tight and at default settings, and a fit that pins λ only to a set, or is
no minimum at all, says so instead of giving a confident wrong number."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LassoLars, LassoLarsCV, LassoLarsIC

import hypersteal
from hypersteal import InputError
from hypersteal.result import Status


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def synthetic():
    """Three informative features of twelve, noisy: the criteria and CV choose alpha_ > 0 on it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 12))
    return X, X[:, :3] @ np.array([2.0, -1.0, 0.5]) + 1.5 * rng.normal(size=150) + 2.0


def steal(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hypersteal.steal_from_estimator(est, X, y, **kw)


def alpha_max(X, y):
    """The Lasso's all-zero threshold (1/n)‖Xᵀ(y − ȳ)‖_∞ with an intercept, computed here from the data."""
    Xc = X - X.mean(axis=0)
    return np.max(np.abs(Xc.T @ (y - y.mean()))) / len(y)


# ------------------------------------------------------------------------------------------- LARS


@pytest.mark.parametrize("fraction", [1e-4, 1e-2, 0.3, 0.9])
@pytest.mark.parametrize("data", ["diabetes", "synthetic"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lasso_lars_is_exact_at_every_alpha(request, data, fraction, fit_intercept):
    """LARS solves the Lasso exactly (its default settings are its tight ones): alpha = λ/(2n) to round-off."""
    X, y = request.getfixturevalue(data)
    alpha = fraction * alpha_max(X, y)
    est = LassoLars(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    assert np.any(est.coef_)
    r = steal(est, X, y)
    assert r.status is Status.EXACT, r.summary()
    assert r.native["alpha"] == pytest.approx(alpha, rel=1e-8), r.summary()
    assert r.lam == pytest.approx(2 * len(y) * alpha, rel=1e-8)


def test_lasso_lars_default_alpha(diabetes):
    X, y = diabetes
    est = LassoLars().fit(X, y)  # alpha=1.0: three weights left on diabetes
    r = steal(est, X, y)
    assert np.count_nonzero(est.coef_) >= 1
    assert r.status is Status.EXACT and r.native["alpha"] == pytest.approx(1.0, rel=1e-8), r.summary()


def test_lasso_lars_above_threshold_is_an_interval(diabetes):
    """Every weight zero: only λ ≥ λ_max is known, and the result says so, with the truth inside."""
    X, y = diabetes
    alpha = 2 * alpha_max(X, y)
    est = LassoLars(alpha=alpha).fit(X, y)
    assert not np.any(est.coef_)
    r = steal(est, X, y)
    assert r.status is Status.NOT_IDENTIFIABLE and np.isnan(r.native["alpha"]), r.summary()
    lo, hi = r.intervals["lambda"]
    assert lo == pytest.approx(2 * len(y) * alpha_max(X, y), rel=1e-8) and hi == np.inf
    assert lo <= 2 * len(y) * alpha


def test_lasso_lars_stopped_by_max_iter_gives_no_confident_number(diabetes):
    """max_iter=3 stops the path at its third knot, far above alpha: no exact value may come back, and any
    interval must hold the truth."""
    X, y = diabetes
    alpha = 1e-3
    est = LassoLars(alpha=alpha, max_iter=3).fit(X, y)
    r = steal(est, X, y)
    assert r.status is not Status.EXACT, r.summary()
    lo, hi = r.intervals["lambda"]
    assert lo <= 2 * len(y) * alpha <= hi, r.summary()


def test_lasso_lars_multi_target_shares_alpha(diabetes):
    X, y = diabetes
    Y = np.c_[y, np.sqrt(y)]
    est = LassoLars(alpha=0.05).fit(X, Y)
    r = steal(est, X, Y)
    assert r.status is Status.EXACT and r.native["alpha"] == pytest.approx(0.05, rel=1e-8), r.summary()


@pytest.mark.parametrize("make,searched", [
    (lambda: LassoLarsIC(criterion="aic"), "alphas_"),  # the knot of least AIC on the path
    (lambda: LassoLarsIC(criterion="bic"), "alphas_"),
    (lambda: LassoLarsCV(cv=5), "cv_alphas_"),  # the union of the folds' knots; the refit's path stops at alpha_
], ids=["IC-aic", "IC-bic", "CV"])
def test_lasso_lars_ic_and_cv_at_their_chosen_alpha(diabetes, synthetic, make, searched):
    for X, y in (diabetes, synthetic):
        est = make().fit(X, y)
        assert est.alpha_ > 0
        r = steal(est, X, y)
        assert r.status is Status.EXACT, r.summary()
        assert r.native["alpha"] == pytest.approx(est.alpha_, rel=1e-8), r.summary()
        grid = np.unique(getattr(est, searched))
        assert grid[r.native["alpha_grid_index"]] == pytest.approx(est.alpha_, rel=1e-12)


def test_lasso_lars_refusals(diabetes):
    X, y = diabetes
    with pytest.raises(InputError, match=r"jitter=0.01.*noise.*jitter=None"):
        steal(LassoLars(alpha=0.1, jitter=0.01, random_state=0).fit(X, y), X, y)
    with pytest.raises(InputError, match=r"LassoLars\(positive=True\) is a constrained fit"):
        steal(LassoLars(alpha=0.1, positive=True).fit(X, y), X, y)
    with pytest.raises(InputError, match="LassoLars with sample_weight"):
        steal(LassoLars(alpha=0.1).fit(X, y), X, y, sample_weight=np.ones(len(y)))
