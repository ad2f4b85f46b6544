"""steal_from_estimator: native hyperparameters recovered from real scikit-learn fits."""

import warnings

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge, SGDRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

import hypersteal
from hypersteal import InputError
from hypersteal.result import Status

NATIVE = [1e-2, 1.0, 1e2]


def fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def check_native(est, X, y, expected, rtol=1e-5, paper=None):
    """Native values recovered; or, where λ is not identifiable (``paper`` gives the true λs), NaN natives
    and intervals that contain the truth."""
    r = hypersteal.steal_from_estimator(fit(est, X, y), X, y)
    if paper is not None and not r.identifiable:
        assert all(np.isnan(v) for v in r.native.values())
        for k, lam in paper.items():
            lo, hi = r.intervals[k]
            assert lo <= lam * (1 + 1e-9) and hi >= lam * (1 - 1e-9), r.summary()
        return r
    assert r.identifiable, r.summary()
    for k, v in expected.items():
        assert r.native[k] == pytest.approx(v, rel=rtol), (k, r.summary())
    return r


@pytest.mark.parametrize("alpha", NATIVE)
@pytest.mark.parametrize("dataset", ["reg-synthetic", "reg-diabetes"])
def test_regressors(datasets, dataset, alpha):
    X, y = datasets[dataset]
    n = len(y)
    check_native(Ridge(alpha=alpha), X, y, {"alpha": alpha})
    check_native(KernelRidge(alpha=alpha, kernel="rbf", gamma=0.3), X, y, {"alpha": alpha})
    check_native(KernelRidge(alpha=alpha, kernel="poly", degree=2, coef0=1.0, gamma=0.1), X, y, {"alpha": alpha})
    # L1 models: alpha on their own scale (a fraction of the all-zero threshold)
    a_max = np.max(np.abs(X.T @ (y - y.mean()))) / n
    a = a_max * alpha / 300
    check_native(Lasso(alpha=a, tol=1e-14, max_iter=10**6), X, y, {"alpha": a})
    check_native(ElasticNet(alpha=a, l1_ratio=0.6, tol=1e-14, max_iter=10**6), X, y, {"alpha": a, "l1_ratio": 0.6})


@pytest.mark.parametrize("C", NATIVE)
@pytest.mark.parametrize("dataset", ["clf-synthetic", "clf-diabetes-median"])
def test_classifiers(datasets, dataset, C):
    X, y = datasets[dataset]
    check_native(LogisticRegression(C=C, solver="newton-cg", tol=1e-12, max_iter=10**4), X, y, {"C": C})
    check_native(LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12), X, y, {"C": C})
    l1 = fit(LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", tol=1e-12, max_iter=10**4), X, y)
    r = hypersteal.steal_from_estimator(l1, X, y)
    if np.all(l1.coef_ == 0):  # strong enough to zero every weight: only a lower bound on λ = 1/C
        assert not r.identifiable and r.interval[0] <= 1 / C and np.isnan(r.native["C"])
    else:
        assert r.native["C"] == pytest.approx(C, rel=1e-5)
    check_native(LogisticRegression(C=C, l1_ratio=0.5, solver="saga", tol=1e-13, max_iter=10**6), X, y,
                 {"C": C, "l1_ratio": 0.5}, rtol=1e-4, paper={"lambda_l1": 0.5 / C, "lambda_l2": 0.25 / C})
    check_native(LinearSVC(C=C, tol=1e-12, max_iter=10**6), X, y, {"C": C}, rtol=1e-4)
    check_native(SVC(C=C, kernel="rbf", gamma="scale", tol=1e-10), X, y, {"C": C}, paper={"lambda": 1 / (2 * C)})


def test_multinomial_and_pipeline():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    check_native(LogisticRegression(C=0.7, solver="newton-cg", tol=1e-12, max_iter=10**4), X, y, {"C": 0.7})
    check_native(make_pipeline(StandardScaler(), Ridge(alpha=4.0)), X, X[:, 0] * 2 + 1, {"alpha": 4.0})


def test_sgd_says_how_far_from_stationary(datasets):
    X, y = datasets["reg-synthetic"]
    est = fit(SGDRegressor(alpha=1e-2, max_iter=5, tol=None, random_state=0), X, y)
    with pytest.warns(UserWarning, match="away from a stationary point"):
        r = hypersteal.steal_from_estimator(est, X, y, replay=False)
    assert r.residual > 1e-3 and r.status is not Status.EXACT
    r = hypersteal.steal_from_estimator(est, X, y)  # five epochs replayed: the same parameters at one alpha
    assert r.interval_source == "replay" and r.native["alpha"] == pytest.approx(1e-2, rel=1e-4)


def test_class_weight_at_default_settings_is_replayed(datasets):
    """class_weight travels with the estimator: where stationarity is not exact (default tol), training it again
    at candidate values reproduces the weighted fit."""
    X, y = datasets["clf-synthetic"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = hypersteal.steal_from_estimator(fit(LogisticRegression(C=0.7, class_weight="balanced"), X, y), X, y)
    assert r.interval_source == "replay" and r.native["C"] == pytest.approx(0.7, rel=1e-4), r.summary()
    lo, hi = r.native_intervals["C"]
    assert lo <= 0.7 <= hi


def test_refusals(datasets):
    X, y = datasets["clf-synthetic"]
    with pytest.raises(InputError, match="not fitted yet"):
        hypersteal.steal_from_estimator(Ridge(), X, y)
    with pytest.raises(TypeError, match="not supported. Supported estimators: Ridge, Lasso"):
        hypersteal.steal_from_estimator(StandardScaler().fit(X), X, y)
    with pytest.raises(InputError, match="X has 5 features but this Ridge was fitted on 6"):
        hypersteal.steal_from_estimator(Ridge().fit(X, y), X[:, :5], y)
    with pytest.raises(TypeError, match="callable kernel"):
        est = KernelRidge(kernel=lambda a, b: float(a @ b)).fit(X[:20], y[:20])
        hypersteal.steal_from_estimator(est, X[:20], y[:20])
    with pytest.raises(InputError, match="Pipeline is not fitted"):
        hypersteal.steal_from_estimator(make_pipeline(StandardScaler(), Ridge()), X, y)
    with pytest.raises(InputError, match="loss='poisson'.*not supported"):
        est = fit(MLPRegressor(loss="poisson", hidden_layer_sizes=(3,), solver="lbfgs", max_iter=50), X, y + 1)
        hypersteal.steal_from_estimator(est, X, y + 1)


@pytest.mark.parametrize("kernel", ["cosine", "polynomial", "chi2", "additive_chi2"])
def test_kernel_ridge_kernels_scikit_learn_names_only(datasets, kernel):
    """Kernels hypersteal.kernels does not name are evaluated as KernelRidge does (as a precomputed Gram)."""
    X, y = datasets["reg-synthetic"]
    X = np.abs(X)  # chi2 kernels need X >= 0
    r = check_native(KernelRidge(alpha=0.3, kernel=kernel, gamma=0.2), X, y, {"alpha": 0.3}, rtol=1e-9)
    assert r.form == "reduced"


def test_kernel_ridge_ignores_kernel_params_for_string_kernels(datasets):
    """As in scikit-learn, kernel_params only reaches callable kernels: gamma=None (1/d) is the one used."""
    X, y = datasets["reg-synthetic"]
    check_native(KernelRidge(alpha=0.3, kernel="rbf", kernel_params={"gamma": 5.0}), X, y, {"alpha": 0.3}, rtol=1e-9)


def test_mlp_regressor_lbfgs(datasets):
    X, y = datasets["reg-synthetic"]
    est = fit(MLPRegressor(hidden_layer_sizes=(5,), alpha=0.5, solver="lbfgs", tol=1e-14, max_iter=20000,
                           activation="tanh", random_state=0), X, y)
    r = hypersteal.steal_from_estimator(est, X, y, replay=False)  # each training takes seconds
    # scikit-learn's L-BFGS stops early, so the bound comes from the residual it leaves (Theorem 1/2)
    assert r.native["alpha"] == pytest.approx(0.5, rel=max(2e-2, 20 * r.residual))


@pytest.mark.parametrize("kernel", ["rbf", "linear", "poly"])
@pytest.mark.parametrize("C", [0.3, 3.0])
def test_svc_one_vs_one_stacks_every_pair(kernel, C):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    est = SVC(C=C, kernel=kernel, gamma=0.5, degree=2, tol=1e-10).fit(X, y)
    r = hypersteal.steal_from_estimator(est, X, y)
    if r.identifiable:
        assert r.native["C"] == pytest.approx(C, rel=1e-6)
    else:
        lo, hi = r.interval
        assert lo <= 1 / (2 * C) <= hi
    assert r.n_equations > len(y)  # three pairs' equations stacked


def test_a_fit_stopped_at_max_iter_is_flagged(datasets):
    """A solver that ran out of iterations may sit exactly at another λ's optimum: the result must say so."""
    X, y = datasets["clf-synthetic"]
    est = fit(LogisticRegression(C=1.0, solver="lbfgs", max_iter=2), X, y)
    with pytest.warns(UserWarning, match="stopped at max_iter=2 without converging"):
        r = hypersteal.steal_from_estimator(est, X, y, replay=False)
    assert r.status is Status.NOT_A_MINIMUM and np.isnan(r.native["C"])


def test_dead_relu_network_is_named(datasets):
    """Every unit of a ReLU layer off on every row: a constant network, stationary only for λ = 0."""
    X, y = datasets["reg-synthetic"]
    est = fit(MLPRegressor(hidden_layer_sizes=(4,), activation="relu", alpha=1.0, solver="lbfgs", max_iter=50,
                           random_state=0), X, y)
    est.intercepts_[0] = np.full(4, -1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = hypersteal.steal_from_estimator(est, X, y)
    assert not r.identifiable and np.isnan(r.native["alpha"])
    assert any("hidden layer 0 is inactive on every training point" in w for w in r.warnings)


def test_replay_stops_at_its_time_budget():
    """A replay whose trainings cost more than its budget stops, says so, and leaves the stationarity verdict
    (a saga fit of seconds used to be replayed for minutes)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=400, n_features=8, random_state=0)
    C = 0.5
    est = LogisticRegression(C=C, solver="saga", tol=1e-3, max_iter=3000, random_state=0).fit(X, y)  # inexact
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = hypersteal.steal_from_estimator(est, X, y, replay=1e-3)
    assert any("budget spent" in w for w in r.warnings), r.warnings
    assert r.interval_source != "replay"
    lo, hi = r.intervals["lambda"]
    assert lo <= 1 / (2 * C) <= hi
    with pytest.raises(hypersteal.InputError, match="number of seconds"):
        hypersteal.steal_from_estimator(est, X, y, replay=-1)
