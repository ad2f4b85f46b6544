"""steal_from_estimator on meta-estimators: sub-models sharing λ are stacked into one answer, others answer each."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor, make_column_transformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Lasso, LogisticRegression, LogisticRegressionCV, Ridge, RidgeCV, SGDClassifier
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsOneClassifier, OneVsRestClassifier
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, LinearSVC

import hypersteal
from hypersteal import InputError
from hypersteal.adapters import PerModelResult

C = 0.7
TIGHT_LR = {"solver": "newton-cg", "tol": 1e-12, "max_iter": 10**4}


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kw)


def steal(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hypersteal.steal_from_estimator(est, X, y, **kw)


def stacked(r, k):
    return any(w.startswith(f"{k} sub-models share λ") for w in r.warnings)


@pytest.mark.parametrize("base,rtol", [(LogisticRegression(C=C, solver="liblinear", tol=1e-12, max_iter=10**4), 1e-6),
                                       (LinearSVC(C=C, tol=1e-12, max_iter=10**6), 1e-6),
                                       (SVC(C=C, tol=1e-10), 1e-6)], ids=["liblinear-lr", "linear-svc", "svc-rbf"])
def test_one_vs_rest_stacks_the_classes(iris, base, rtol):
    X, y = iris
    est = fit(OneVsRestClassifier(base), X, y)
    r = steal(est, X, y)
    assert stacked(r, 3), r.warnings
    single = steal(est.estimators_[0], X, (y == 0).astype(int))
    assert r.n_equations > single.n_equations  # every class's equations are in the answer
    if r.identifiable:
        assert r.native["C"] == pytest.approx(C, rel=rtol), r.summary()
    else:
        lo, hi = r.interval
        assert lo <= 1 / (2 * C) <= hi


def test_one_vs_rest_default_settings(iris):
    X, y = iris
    est = fit(OneVsRestClassifier(LogisticRegression(C=C)), X, y)  # lbfgs at tol=1e-4
    r = steal(est, X, y)
    assert r.native["C"] == pytest.approx(C, rel=max(1e-6, r.residual)), r.summary()


def test_stacked_sub_models_with_different_values_are_not_a_minimum(iris):
    """The stacked answer must notice when one class's model was fitted with another C."""
    X, y = iris
    est = fit(OneVsRestClassifier(LogisticRegression(C=C, **TIGHT_LR)), X, y)
    est.estimators_[1] = fit(LogisticRegression(C=10 * C, **TIGHT_LR), X, (y == 1).astype(int))
    r = steal(est, X, y)
    assert r.residual > 1e-3 and "Recovered" not in r.verdict, r.summary()


def test_one_vs_rest_of_a_cv_estimator_answers_per_class(iris):
    X, y = iris
    est = fit(OneVsRestClassifier(LogisticRegressionCV(Cs=[0.01, 0.1, 1.0, 10.0], cv=3, **TIGHT_LR)), X, y)
    r = steal(est, X, y)
    assert isinstance(r, PerModelResult) and r.labels == ["class 0", "class 1", "class 2"]
    for sub, res in zip(est.estimators_, r):
        assert res.native["C"] == pytest.approx(float(sub.C_[0]), rel=1e-6), res.summary()
        assert "C_grid_index" in res.native
    assert r.to_dict()["per_model"][2]["label"] == "class 2"


@pytest.mark.parametrize("base", [LogisticRegression(C=C, **TIGHT_LR), SVC(C=C, gamma="scale", tol=1e-10)],
                         ids=["lr", "svc-scale"])
def test_one_vs_one_stacks_the_pairs(iris, base):
    """Each pair is fitted on its own rows (SVC's gamma='scale' even differs per pair): one C for all three."""
    X, y = iris
    est = fit(OneVsOneClassifier(base), X, y)
    r = steal(est, X, y)
    assert stacked(r, 3), r.warnings
    if r.identifiable:
        assert r.native["C"] == pytest.approx(C, rel=1e-6), r.summary()
    else:
        lo, hi = r.interval
        assert lo <= 1 / (2 * C) <= hi


def test_multi_output_regressor(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, np.sqrt(y)])
    r = steal(fit(MultiOutputRegressor(Ridge(alpha=0.3)), X, Y), X, Y)
    assert stacked(r, 2) and r.native["alpha"] == pytest.approx(0.3, rel=1e-8), r.summary()
    r = steal(fit(MultiOutputRegressor(Lasso(alpha=0.01, tol=1e-12, max_iter=10**6)), X, Y), X, Y)
    assert r.native["alpha"] == pytest.approx(0.01, rel=1e-6), r.summary()
    est = fit(MultiOutputRegressor(RidgeCV(alphas=np.logspace(-4, 2, 7))), X, Y)
    r = steal(est, X, Y)
    assert isinstance(r, PerModelResult) and r.labels == ["output 0", "output 1"]
    for sub, res in zip(est.estimators_, r):
        assert res.native["alpha"] == pytest.approx(sub.alpha_, rel=1e-8)


@pytest.mark.parametrize("kw", [{"func": np.log, "inverse_func": np.exp}, {"transformer": StandardScaler()}],
                         ids=["log", "scaler"])
def test_transformed_target_regressor(diabetes, kw):
    X, y = diabetes
    est = fit(TransformedTargetRegressor(Ridge(alpha=0.3), **kw), X, y)
    r = steal(est, X, y)
    assert r.native["alpha"] == pytest.approx(0.3, rel=1e-8), r.summary()
    # on the raw targets the same coefficients are no ridge minimum: the transform matters
    raw = steal(est.regressor_, X, y)
    assert raw.residual > 1e-3 or not raw.identifiable


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_column_transformer_pipeline(diabetes, sparse):
    X, y = diabetes
    df = pd.DataFrame(X[:, :4], columns=list("abcd"))
    df["sex"] = np.where(X[:, 1] > 0, "m", "f")
    df["k"] = (np.arange(len(y)) % 5).astype(str)
    ct = make_column_transformer((StandardScaler(), list("abcd")), (OneHotEncoder(), ["sex", "k"]),
                                 sparse_threshold=1.0 if sparse else 0.0)
    est = fit(make_pipeline(ct, Ridge(alpha=0.3, solver="cholesky" if not sparse else "sparse_cg", tol=1e-12)), df, y)
    r = steal(est, df, y)
    assert r.native["alpha"] == pytest.approx(0.3, rel=1e-6), r.summary()
    assert not any("densified" in w for w in r.warnings)  # a linear model's sparse X is attacked as it is


def test_calibrated_classifier_folds_share_c(iris):
    X, y = iris
    est = fit(CalibratedClassifierCV(LogisticRegression(C=C, **TIGHT_LR), cv=4), X, y)
    r = steal(est, X, y)
    assert stacked(r, 4) and r.native["C"] == pytest.approx(C, rel=1e-6), r.summary()
    est = fit(CalibratedClassifierCV(LinearSVC(C=C, tol=1e-12, max_iter=10**6),
                                     cv=KFold(3, shuffle=True, random_state=0)), X, y)
    r = steal(est, X, y)
    assert stacked(r, 3) and r.native["C"] == pytest.approx(C, rel=1e-6), r.summary()
    est = fit(CalibratedClassifierCV(LogisticRegression(C=C, **TIGHT_LR), ensemble=False), X, y)
    r = steal(est, X, y)
    assert r.native["C"] == pytest.approx(C, rel=1e-6), r.summary()


def test_folds_of_other_sizes_answer_per_fold_when_native_scale_depends_on_n(iris):
    """SGDClassifier's λ = n·alpha/2: one alpha is a different λ on folds of 99 and 100 rows."""
    X, y = iris[0][:-1], iris[1][:-1]
    est = fit(CalibratedClassifierCV(SGDClassifier(loss="log_loss", alpha=1e-2, random_state=0), cv=3), X, y)
    r = steal(est, X, y)
    assert isinstance(r, PerModelResult) and len(r) == 3 and r.labels[0].startswith("fold 0")


def test_meta_refusals(iris):
    X, y = iris
    base = fit(LogisticRegression(C=C), X, y)
    with pytest.raises(InputError, match="FrozenEstimator.*frozen.estimator"):
        steal(fit(CalibratedClassifierCV(FrozenEstimator(base)), X, y), X, y)
    with pytest.raises(InputError, match="shuffled its folds without a fixed random_state"):
        steal(fit(CalibratedClassifierCV(LogisticRegression(), cv=KFold(3, shuffle=True)), X, y), X, y)
    with pytest.raises(InputError, match="OneVsRestClassifier is not fitted yet"):
        steal(OneVsRestClassifier(LogisticRegression()), X, y)
    with pytest.raises(TypeError, match="KFold is not supported"):
        steal(KFold(), X, y)


def _stacked_data(est, X, y):
    from hypersteal.adapters.sklearn import leaf_problems
    from hypersteal.objectives import get_objective

    probs = leaf_problems("SVC", est, X, y)
    obj = get_objective(probs[0].algorithm, **probs[0].options)
    data = []
    for p in probs:
        d = obj.prepare(p.X, p.y)
        data.append((d, obj.check_params(p.params, d)))
    return obj, data


@pytest.mark.parametrize("case", ["iris-rbf", "iris-poly", "wine-rbf", "wine-separable", "one-pair-perturbed"])
def test_fast_stacked_solver_matches_the_core(case):
    """The adapter's stacked solver (zero rows dropped, separable active-set solution) answers as the core's
    dense stacked bounded least squares does."""
    from sklearn.datasets import load_wine

    from hypersteal.attack import _attack
    from hypersteal.attack.stacked import attack_stacked

    if case.startswith("iris") or case == "one-pair-perturbed":
        X, y = load_iris(return_X_y=True)
    else:
        X, y = load_wine(return_X_y=True)
        X = StandardScaler().fit_transform(X)
    kw = {"iris-rbf": {"C": 0.3}, "iris-poly": {"C": 30.0, "kernel": "poly", "degree": 2}, "wine-rbf": {"C": 1.0},
          "wine-separable": {"C": 100.0, "gamma": 0.5}, "one-pair-perturbed": {"C": 0.3}}[case]
    est = fit(SVC(tol=1e-10, **kw), X, y)
    obj, data = _stacked_data(est, X, y)
    if case == "one-pair-perturbed":  # one pair's coefficients off by 1%: not one minimum
        d, p = data[1]
        data[1] = (d, {**p, "dual_coef": p["dual_coef"] * 1.01})
    fast = attack_stacked(obj, data, identifiable_rtol=1e-6, margin_tol=None)
    core = _attack(obj, *data[0], identifiable_rtol=1e-6, margin_tol=None, problems=data, dense=True)
    assert fast.status is core.status and fast.n_equations == core.n_equations
    assert fast.estimate["lambda"] == pytest.approx(core.estimate["lambda"], rel=1e-9, abs=1e-12)
    assert fast.residual == pytest.approx(core.residual, rel=1e-6, abs=1e-13)
    for a, b in zip(fast.interval, core.interval):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_svc_on_digits_stacks_45_pairs():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    r = steal(fit(SVC(C=1.0), X, y), X, y)
    assert r.identifiable and r.native["C"] == pytest.approx(1.0, rel=1e-9), r.summary()
    assert r.n_equations == 9 * len(y) + 45  # each point in 9 pairs, plus one intercept row per pair


def test_dask_data_still_reach_linear_models(diabetes):
    import dask.array as da

    X, y = diabetes
    est = fit(Ridge(alpha=0.3), X, y)
    r = steal(est, da.from_array(X, chunks=100), da.from_array(y, chunks=100))
    assert r.native["alpha"] == pytest.approx(0.3, rel=1e-9)
