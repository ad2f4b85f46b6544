"""Known sample_weight / class_weight in steal_from_estimator: exact for squared losses, refused elsewhere."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LassoCV,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
)
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsOneClassifier
from sklearn.multioutput import MultiOutputRegressor

import hypersteal
from hypersteal import InputError


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def weights():
    return np.random.default_rng(3).uniform(0.1, 5.0, size=442)


def fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kw)


def steal(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hypersteal.steal_from_estimator(est, X, y, **kw)


def test_uniform_weights_rescale_ridge_alpha_and_the_result_says_so(diabetes):
    """The issue's case: Ridge(alpha=1) with weights 1/n looks exactly like alpha = n without weights."""
    X, y = diabetes
    n = len(y)
    w = np.full(n, 1 / n)
    est = fit(Ridge(alpha=1.0), X, y, sample_weight=w)
    blind = steal(est, X, y)
    assert blind.identifiable and blind.native["alpha"] == pytest.approx(n, rel=1e-8)  # indistinguishable
    r = steal(est, X, y, sample_weight=w)
    assert r.identifiable and r.native["alpha"] == pytest.approx(1.0, rel=1e-8), r.summary()
    note = next(w for w in r.warnings if "sample_weight is uniform" in w)
    assert "cannot tell the two apart" in note and f"alpha = {n:.6g}" in note


@pytest.mark.parametrize("alpha", [1e-2, 1.0, 1e2])
def test_known_weights_are_exact_for_ridge(diabetes, weights, alpha):
    X, y = diabetes
    est = fit(Ridge(alpha=alpha), X, y, sample_weight=weights)
    r = steal(est, X, y, sample_weight=weights)
    assert r.identifiable and r.native["alpha"] == pytest.approx(alpha, rel=1e-8), r.summary()
    assert not any("intercept's weighted stationarity" in w for w in r.warnings)
    blind = steal(est, X, y)  # without them: not the minimum of the unweighted loss at any alpha
    assert blind.residual > 1e-3 or blind.native["alpha"] != pytest.approx(alpha, rel=1e-3)
    wrong = steal(est, X, y, sample_weight=weights[::-1])
    assert wrong.residual > 1e-3 or any("intercept's weighted stationarity" in w for w in wrong.warnings)


def test_known_weights_are_exact_for_lasso_and_elastic_net(diabetes, weights):
    """scikit-learn rescales Lasso / ElasticNet weights to sum to n: λ = 2n·alpha still."""
    X, y = diabetes
    for est, expected in ((Lasso(alpha=0.05, tol=1e-13, max_iter=10**6), {"alpha": 0.05}),
                          (ElasticNet(alpha=0.01, l1_ratio=0.4, tol=1e-13, max_iter=10**6),
                           {"alpha": 0.01, "l1_ratio": 0.4})):
        est = fit(est, X, y, sample_weight=weights)
        r = steal(est, X, y, sample_weight=weights)
        assert r.identifiable, r.summary()
        for k, v in expected.items():
            assert r.native[k] == pytest.approx(v, rel=1e-6), r.summary()
    est = fit(Lasso(alpha=0.05, tol=1e-13, max_iter=10**6), X, y, sample_weight=np.full(len(y), 3.0))
    r = steal(est, X, y, sample_weight=np.full(len(y), 3.0))
    assert r.native["alpha"] == pytest.approx(0.05, rel=1e-6)
    assert any("uniform weights change nothing" in w for w in r.warnings)


def test_weighted_cv_and_search(diabetes, weights):
    X, y = diabetes
    est = fit(RidgeCV(alphas=np.logspace(-3, 2, 6)), X, y, sample_weight=weights)
    r = steal(est, X, y, sample_weight=weights)
    assert r.native["alpha"] == pytest.approx(est.alpha_, rel=1e-8), r.summary()
    est = fit(LassoCV(tol=1e-12, max_iter=10**6), X, y, sample_weight=weights)
    r = steal(est, X, y, sample_weight=weights)
    assert r.native["alpha"] == pytest.approx(est.alpha_, rel=1e-6), r.summary()
    search = fit(GridSearchCV(Ridge(), {"alpha": [0.01, 0.1, 1.0]}), X, y, sample_weight=weights)
    r = steal(search, X, y, sample_weight=weights)
    assert r.native["alpha"] == pytest.approx(search.best_params_["alpha"], rel=1e-8), r.summary()


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 5.0, 2: 0.5}])
def test_class_weight_read_from_ridge_classifier(iris, class_weight):
    X, y = iris
    est = fit(RidgeClassifier(alpha=2.0, class_weight=class_weight), X, y)
    r = steal(est, X, y)
    assert r.identifiable and r.native["alpha"] == pytest.approx(2.0, rel=1e-8), r.summary()
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))  # and on top of sample_weight
    est = fit(RidgeClassifierCV(alphas=[0.1, 1.0, 10.0], class_weight=class_weight), X, y, sample_weight=w)
    r = steal(est, X, y, sample_weight=w)
    assert r.native["alpha"] == pytest.approx(est.alpha_, rel=1e-8), r.summary()


def test_weights_reach_the_sub_models(diabetes, iris, weights):
    X, y = diabetes
    Y = np.column_stack([y, np.sqrt(y)])
    r = steal(fit(MultiOutputRegressor(Ridge(alpha=0.3)), X, Y, sample_weight=weights), X, Y, sample_weight=weights)
    assert r.native["alpha"] == pytest.approx(0.3, rel=1e-8), r.summary()
    X, y = iris
    w = weights[: len(y)]
    with sklearn.config_context(enable_metadata_routing=True):  # OneVsOneClassifier routes weights only so
        base = RidgeClassifier(alpha=0.3).set_fit_request(sample_weight=True)
        est = fit(OneVsOneClassifier(base), X, y, sample_weight=w)
    r = steal(est, X, y, sample_weight=w)
    assert r.native["alpha"] == pytest.approx(0.3, rel=1e-8), r.summary()


def test_weights_refused_where_they_cannot_be_folded_in(iris, diabetes):
    X, y = iris
    w = np.linspace(0.5, 2, len(y))
    est = fit(LogisticRegression(C=0.7), X, y, sample_weight=w)
    with pytest.raises(InputError, match="LogisticRegression with sample_weight.*squared losses"):
        steal(est, X, y, sample_weight=w)
    with pytest.raises(InputError, match="class_weight.*Refit with class_weight=None"):
        steal(fit(LogisticRegression(class_weight="balanced"), X, y), X, y)
    X, y = diabetes
    est = fit(Ridge(), X, y)
    with pytest.raises(InputError, match="sample_weight has 3 values but X has 442 rows"):
        steal(est, X, y, sample_weight=[1, 2, 3])
    with pytest.raises(InputError, match="sample_weight holds negative values"):
        steal(est, X, y, sample_weight=-np.ones(len(y)))
