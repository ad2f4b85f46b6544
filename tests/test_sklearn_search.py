"""steal_from_estimator on CV and search estimators: the value they chose, and where it sits in their grid."""

import warnings

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import (
    ElasticNetCV,
    LassoCV,
    LogisticRegression,
    LogisticRegressionCV,
    MultiTaskLassoCV,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
)
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import hypersteal
from hypersteal import InputError
from hypersteal.adapters import PerModelResult


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kw)


def steal(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hypersteal.steal_from_estimator(est, X, y, **kw)


def grid_position(values, chosen):
    vals = np.unique(np.asarray(values, dtype=float))
    return int(np.argmin(np.abs(np.log(vals) - np.log(chosen))))


def check_grid(r, name, values, chosen):
    assert r.native[f"{name}_grid_index"] == grid_position(values, chosen), r.summary()
    assert any(w.startswith(f"{name} = ") and "searched value" in w for w in r.warnings), r.warnings


@pytest.mark.parametrize("est", [RidgeCV(), RidgeCV(cv=5), RidgeCV(alphas=np.logspace(-3, 3, 13), gcv_mode="svd")],
                         ids=["loo", "cv5", "svd-13"])
def test_ridge_cv_is_ridge_at_its_alpha(diabetes, est):
    """RidgeCV (efficient leave-one-out or k-fold) refits Ridge at alpha_: the same objective as Ridge."""
    X, y = diabetes
    est = fit(est, X, y)
    r = steal(est, X, y)
    assert r.identifiable and r.native["alpha"] == pytest.approx(est.alpha_, rel=1e-8), r.summary()
    check_grid(r, "alpha", est.alphas, est.alpha_)


def test_ridge_cv_alpha_per_target_answers_per_target(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, np.log(y)])
    est = fit(RidgeCV(alphas=np.logspace(-4, 2, 7), alpha_per_target=True), X, Y)
    assert est.alpha_[0] != est.alpha_[1]  # the case: each target chose its own alpha
    r = steal(est, X, Y)
    assert isinstance(r, PerModelResult) and r.labels == ["target 0", "target 1"]
    for k in range(2):
        assert r[k].native["alpha"] == pytest.approx(est.alpha_[k], rel=1e-8), r.summary()
        assert r[k].native["alpha_grid_index"] == grid_position(est.alphas, est.alpha_[k])


@pytest.mark.parametrize("alpha", [1e-2, 3.0, 300.0])
def test_ridge_classifier_is_ridge_on_pm1_targets(iris, cancer, alpha):
    for X, y in (iris, cancer, (iris[0], np.array(["a", "b", "c"])[iris[1]])):
        r = steal(fit(RidgeClassifier(alpha=alpha), X, y), X, y)
        assert r.identifiable and r.native["alpha"] == pytest.approx(alpha, rel=1e-8), r.summary()


def test_ridge_classifier_cv(iris, cancer):
    for X, y in (iris, cancer):
        est = fit(RidgeClassifierCV(alphas=np.logspace(-2, 2, 9)), X, y)
        r = steal(est, X, y)
        assert r.native["alpha"] == pytest.approx(est.alpha_, rel=1e-8), r.summary()
        check_grid(r, "alpha", est.alphas, est.alpha_)


def test_lasso_cv_tight_and_default(diabetes):
    X, y = diabetes
    est = fit(LassoCV(tol=1e-12, max_iter=10**6), X, y)
    r = steal(est, X, y)
    assert r.identifiable and r.native["alpha"] == pytest.approx(est.alpha_, rel=1e-6), r.summary()
    check_grid(r, "alpha", est.alphas_, est.alpha_)
    est = fit(LassoCV(), X, y)  # default tol=1e-4: an approximate minimum, and the result says how far
    r = steal(est, X, y)
    assert r.identifiable and r.native["alpha"] == pytest.approx(est.alpha_, rel=max(1e-6, r.residual)), r.summary()


def test_elastic_net_cv_both_values(diabetes):
    X, y = diabetes
    n = len(y)
    est = fit(ElasticNetCV(l1_ratio=[0.2, 0.5, 0.9], tol=1e-12, max_iter=10**6), X, y)
    r = steal(est, X, y)
    assert r.identifiable, r.summary()
    assert r.native["alpha"] == pytest.approx(est.alpha_, rel=1e-6)
    assert r.native["l1_ratio"] == pytest.approx(est.l1_ratio_, rel=1e-6)
    assert r.native["l1_ratio_grid_index"] == [0.2, 0.5, 0.9].index(est.l1_ratio_)
    alphas = est.alphas_[[0.2, 0.5, 0.9].index(est.l1_ratio_)]
    assert r.native["alpha_grid_index"] == grid_position(alphas, est.alpha_)
    # default tol: either recovered to what the residual explains, or undetermined with the truth in range
    est = fit(ElasticNetCV(l1_ratio=[0.2, 0.5, 0.9]), X, y)
    r = steal(est, X, y)
    truth = {"lambda_l1": 2 * n * est.alpha_ * est.l1_ratio_, "lambda_l2": n * est.alpha_ * (1 - est.l1_ratio_)}
    for k, lam in truth.items():
        lo, hi = r.intervals[k]
        assert lo <= lam <= hi, r.summary()
    if r.identifiable:  # exact or approximate: the point lies in an interval at most 10 % wide that holds the truth
        assert r.native["alpha"] == pytest.approx(est.alpha_, rel=0.1)


def test_logistic_regression_cv(iris, cancer):
    for X, y in (iris, cancer):
        est = fit(LogisticRegressionCV(Cs=6, cv=3, solver="newton-cholesky", tol=1e-10), X, y)
        r = steal(est, X, y)
        C = float(np.ravel(est.C_)[0])
        assert r.identifiable and r.native["C"] == pytest.approx(C, rel=1e-6), r.summary()
        check_grid(r, "C", est.Cs_, C)
        est = fit(LogisticRegressionCV(Cs=[0.1, 1.0, 10.0], cv=3), X, y)  # default solver: lbfgs at tol=1e-4
        r = steal(est, X, y)
        C = float(np.ravel(est.C_)[0])
        lo, hi = r.native_intervals["C"]
        assert lo <= C <= hi, r.summary()  # the interval holds the truth; a number only when it is narrow
        if r.identifiable:
            assert r.native["C"] == pytest.approx(C, rel=0.1), r.summary()
            check_grid(r, "C", est.Cs_, C)


def test_grid_search_pipeline_svc(iris):
    X, y = iris
    grid = {"svc__C": [0.1, 1.0, 10.0, 100.0], "svc__gamma": [0.01, 0.1]}
    search = fit(GridSearchCV(make_pipeline(StandardScaler(), SVC(tol=1e-10)), grid), X, y)
    r = steal(search, X, y)
    C = search.best_params_["svc__C"]
    if r.identifiable:
        assert r.native["C"] == pytest.approx(C, rel=1e-6), r.summary()
        check_grid(r, "C", grid["svc__C"], C)
    else:
        lo, hi = r.interval
        assert lo <= 1 / (2 * C) <= hi


def test_grid_search_logistic_tight(cancer):
    X, y = cancer
    Cs = np.logspace(-2, 2, 5)
    search = fit(GridSearchCV(LogisticRegression(solver="newton-cg", tol=1e-10, max_iter=10**4), {"C": Cs}), X, y)
    r = steal(search, X, y)
    assert r.native["C"] == pytest.approx(search.best_params_["C"], rel=1e-6), r.summary()
    check_grid(r, "C", Cs, search.best_params_["C"])


def test_randomized_and_halving_search(diabetes):
    X, y = diabetes
    for search in (RandomizedSearchCV(Ridge(), {"alpha": loguniform(1e-3, 1e3)}, n_iter=8, random_state=0),
                   HalvingGridSearchCV(Ridge(), {"alpha": np.logspace(-2, 2, 5)}, random_state=0)):
        search = fit(search, X, y)
        r = steal(search, X, y)
        a = search.best_params_["alpha"]
        assert r.native["alpha"] == pytest.approx(a, rel=1e-8), r.summary()
        check_grid(r, "alpha", search.cv_results_["param_alpha"].data, a)


def test_a_model_refit_off_the_grid_is_named(diabetes):
    X, y = diabetes
    search = fit(GridSearchCV(Ridge(), {"alpha": [0.01, 0.1, 1.0]}), X, y)
    search.best_estimator_.set_params(alpha=0.37).fit(X, y)
    r = steal(search, X, y)
    assert r.native["alpha"] == pytest.approx(0.37, rel=1e-8)
    assert "alpha_grid_index" not in r.native
    assert any("none of the searched values" in w for w in r.warnings), r.warnings


def test_refusals(diabetes, iris):
    X, y = diabetes
    with pytest.raises(InputError, match="refit=False.*no model refit"):
        steal(fit(GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, refit=False), X, y), X, y)
    with pytest.raises(InputError, match=r"LogisticRegressionCV\(refit=False\)"):
        steal(fit(LogisticRegressionCV(refit=False, Cs=3), *iris), *iris)
    Y = np.column_stack([y, -y])
    with pytest.raises(InputError, match="MultiTaskLassoCV.*group.*not supported"):
        steal(fit(MultiTaskLassoCV(alphas=3), X, Y), X, Y)
    with pytest.raises(InputError, match="GridSearchCV is not fitted yet"):
        steal(GridSearchCV(Ridge(), {"alpha": [0.1]}), X, y)


def test_undetermined_value_lists_the_searched_values_the_model_allows(iris):
    """Separable data: a hinge SVM's C is only bounded below; the note names the searched values that fit."""
    X, y = iris
    keep = y < 2
    X, y = X[keep], y[keep]
    grid = [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    search = fit(GridSearchCV(SVC(tol=1e-10), {"C": grid}), X, y)
    search.best_estimator_.set_params(C=100.0).fit(X, y)  # a value well inside the undetermined range
    r = steal(search, X, y)
    assert not r.identifiable and np.isnan(r.native["C"]), r.summary()
    lo, hi = r.interval
    allowed = [c for c in grid if lo <= 1 / (2 * c) <= hi]
    assert 100.0 in allowed and len(allowed) < len(grid)
    note = next(w for w in r.warnings if "the stolen C is undetermined" in w)
    assert note.endswith(f"consistent with the model: {', '.join(f'{c:.4g}' for c in allowed)}."), note
