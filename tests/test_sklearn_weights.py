"""Known sample_weight / class_weight in steal_from_estimator: exact for squared losses (rows scaled by √w), for
logistic regression and the SVMs (the loss Σ w_i ℓ_i in the objective), refused elsewhere."""

import copy
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LassoCV,
    LogisticRegression,
    LogisticRegressionCV,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsOneClassifier
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

import hypersteal
from hypersteal import InputError
from hypersteal.result import Status


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
    X, y = diabetes
    w = np.linspace(0.5, 2, len(y))
    est = fit(MLPRegressor(hidden_layer_sizes=(3,), max_iter=20, random_state=0), X[:60], y[:60],
              sample_weight=w[:60])
    with pytest.raises(InputError, match="MLPRegressor with sample_weight.*LogisticRegression, LinearSVC, SVC"):
        steal(est, X[:60], y[:60], sample_weight=w[:60])
    est = fit(Ridge(), X, y)
    with pytest.raises(InputError, match="sample_weight has 3 values but X has 442 rows"):
        steal(est, X, y, sample_weight=[1, 2, 3])
    with pytest.raises(InputError, match="sample_weight holds negative values"):
        steal(est, X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(InputError, match="sample_weight"):
        steal(est, X, y, sample_weight=np.full(len(y), np.inf))


@pytest.mark.parametrize("kernel", ["rbf", "poly", "linear"])
def test_kernel_ridge_weights_are_exact(diabetes, weights, kernel):
    """KernelRidge's weighted dual solves (WK + alpha·I)α = Wy: the loss Σ w_i r_i², exact with the weights, far
    from a minimum without them."""
    X, y = diabetes
    X, y, w = X[:200], y[:200], weights[:200]
    est = fit(KernelRidge(alpha=0.7, kernel=kernel), X, y, sample_weight=w)
    r = steal(est, X, y, sample_weight=w)
    assert r.status is Status.EXACT and r.native["alpha"] == pytest.approx(0.7, rel=1e-8), r.summary()
    blind = steal(est, X, y)
    assert not blind.identifiable and blind.residual > 0.1, blind.summary()


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_sgd_regressor_weights_are_taken_and_never_confidently_wrong(diabetes, weights, penalty):
    """SGD stops at no exact minimum; with its weights the stationarity residual falls and the answer holds alpha
    (a number near it, or an interval around it), without them it is far from any minimum."""
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    est = fit(SGDRegressor(alpha=0.05, penalty=penalty, tol=None, max_iter=2000, power_t=0.5, random_state=0), X, y,
              sample_weight=weights)
    r = steal(est, X, y, sample_weight=weights)
    blind = steal(est, X, y, replay=False)
    assert r.residual < blind.residual / 5, (r.summary(), blind.summary())
    if r.identifiable:
        assert r.native["alpha"] == pytest.approx(0.05, rel=1e-2), r.summary()
    elif "alpha" in r.native_intervals:
        low, high = r.native_intervals["alpha"]
        assert low <= 0.05 <= high, r.summary()
    assert not blind.identifiable, blind.summary()


# ------------------------------------------------------------------ logistic regression and the SVMs: Σ w_i ℓ_i


@pytest.fixture(scope="module")
def iris3():
    """Three unbalanced classes (50, 50, 20 rows): "balanced" weights differ from 1."""
    X, y = load_iris(return_X_y=True)
    return X[:120], y[:120]


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[:, :8], y


#: the weights of each case: class_weight on the estimator, and whether random sample weights are passed too
CASES = [("balanced", False), ({0: 1.0, 1: 3.0}, False), (None, True), ("balanced", True)]
CASES3 = [("balanced", False), ({0: 1.0, 1: 3.0, 2: 0.5}, True), (None, True)]


def case_id(case):
    cw, sw = case
    return f"{'dict' if isinstance(cw, dict) else cw}-{'sw' if sw else 'nosw'}"


def sample_weights(n, on):
    return np.random.default_rng(7).uniform(0.2, 3.0, n) if on else None


def check_exact(est, X, y, sw, truth, rel=1e-5):
    """Known weights recover the truth; without them (sample_weight not passed, or class_weight ignored) the
    parameters are not the minimum of the unweighted loss: no confident answer."""
    r = steal(est, X, y, sample_weight=sw, replay=False)
    assert r.identifiable, r.summary()
    for k, v in truth.items():
        assert r.native[k] == pytest.approx(v, rel=rel), r.summary()
    blind_est = copy.copy(est)
    blind_est.class_weight = None  # the class weights ignored, and the sample weights not passed
    blind = steal(blind_est, X, y, replay=False)
    assert not blind.identifiable and blind.residual > 1e-3, blind.summary()
    return r


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("solver,penalty", [("lbfgs", "l2"), ("newton-cholesky", "l2"), ("newton-cg", "l2"),
                                            ("sag", "l2"), ("saga", "l1"), ("saga", "elasticnet"),
                                            ("liblinear", "l2"), ("liblinear", "l1")])
def test_logistic_regression_weights_are_exact(cancer, case, solver, penalty):
    """Every solver: liblinear multiplies C per row; L-BFGS/Newton/SAG minimise (1/S)Σ w_i ℓ_i + ‖w‖²/(2CS),
    S = Σ w_i: the same λ = 1/(2C) in Σ w_i ℓ_i + λ‖w‖²."""
    X, y = cancer
    cw, on = case
    sw = sample_weights(len(y), on)
    r1 = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.5}[penalty]
    est = fit(LogisticRegression(C=0.5, l1_ratio=r1, solver=solver, tol=1e-12, max_iter=10**5, class_weight=cw),
              X, y, sample_weight=sw)
    truth = {"C": 0.5, **({"l1_ratio": 0.5} if penalty == "elasticnet" else {})}
    check_exact(est, X, y, sw, truth)


@pytest.mark.parametrize("case", CASES3, ids=case_id)
def test_multinomial_logistic_regression_weights_are_exact(iris3, case):
    X, y = iris3
    cw, on = case
    sw = sample_weights(len(y), on)
    est = fit(LogisticRegression(C=0.5, tol=1e-12, max_iter=10**5, class_weight=cw), X, y, sample_weight=sw)
    check_exact(est, X, y, sw, {"C": 0.5})
    cv = fit(LogisticRegressionCV(Cs=[0.1, 1.0], cv=3, solver="newton-cholesky", tol=1e-12, max_iter=10**4,
                                  class_weight=cw), X, y, sample_weight=sw)
    r = steal(cv, X, y, sample_weight=sw, replay=False)
    assert r.native["C"] == pytest.approx(cv.C_[0], rel=1e-5), r.summary()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_linear_svc_squared_hinge_weights_are_exact(cancer, case):
    X, y = cancer
    cw, on = case
    sw = sample_weights(len(y), on)
    est = fit(LinearSVC(C=0.3, tol=1e-12, max_iter=10**6, class_weight=cw), X, y, sample_weight=sw)
    check_exact(est, X, y, sw, {"C": 0.3})


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_linear_svc_hinge_weights_give_the_truth(cancer, case):
    """Hinge: each margin point's column scales by w_i, its β stays in [0, 1]; the answer is C or an interval
    holding it."""
    X, y = cancer
    cw, on = case
    sw = sample_weights(len(y), on)
    est = fit(LinearSVC(C=0.3, loss="hinge", tol=1e-6, max_iter=10**5, class_weight=cw), X, y, sample_weight=sw)
    assert est.n_iter_ < 10**5
    r = steal(est, X, y, sample_weight=sw, replay=False)
    lo, hi = r.native_intervals["C"]
    assert lo <= 0.3 * (1 + 1e-9) and hi >= 0.3 * (1 - 1e-9), r.summary()
    if r.identifiable:
        assert r.native["C"] == pytest.approx(0.3, rel=1e-5), r.summary()
    blind_est = copy.copy(est)
    blind_est.class_weight = None
    blind = steal(blind_est, X, y, replay=False)
    assert not blind.identifiable or blind.native["C"] != pytest.approx(0.3, rel=1e-2), blind.summary()


@pytest.mark.parametrize("case", CASES3, ids=case_id)
@pytest.mark.parametrize("loss", ["squared_hinge", "hinge"])
def test_one_vs_rest_linear_svc_weights(iris3, case, loss):
    """liblinear's one-vs-rest weighs class k's rows by class_weight[k] in class k's sub-problem only."""
    X, y = iris3
    cw, on = case
    sw = sample_weights(len(y), on)
    est = fit(LinearSVC(C=0.3, loss=loss, tol=1e-10 if loss == "squared_hinge" else 1e-6, max_iter=10**5,
                        class_weight=cw), X, y, sample_weight=sw)
    r = steal(est, X, y, sample_weight=sw, replay=False)
    assert r.identifiable and r.native["C"] == pytest.approx(0.3, rel=1e-5), r.summary()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_svc_weights_are_exact(cancer, case):
    """libsvm: C_i = C · class_weight[y_i] · sample_weight_i, balanced on row counts."""
    X, y = cancer
    cw, on = case
    sw = sample_weights(len(y), on)
    est = fit(SVC(C=0.8, tol=1e-10, class_weight=cw), X, y, sample_weight=sw)
    check_exact(est, X, y, sw, {"C": 0.8})


@pytest.mark.parametrize("case", CASES3, ids=case_id)
def test_one_vs_one_svc_weights_are_exact(iris3, case):
    X, y = iris3
    cw, on = case
    sw = sample_weights(len(y), on)
    est = fit(SVC(C=0.8, tol=1e-10, class_weight=cw), X, y, sample_weight=sw)
    check_exact(est, X, y, sw, {"C": 0.8})


def test_uniform_weights_on_logistic_regression_are_noted(cancer):
    """Weights c on every row: the same fit as C·c without weights; the note says what the blind answer is."""
    X, y = cancer
    w = np.full(len(y), 0.25)
    est = fit(LogisticRegression(C=2.0, tol=1e-12, max_iter=10**5), X, y, sample_weight=w)
    r = steal(est, X, y, sample_weight=w, replay=False)
    assert r.identifiable and r.native["C"] == pytest.approx(2.0, rel=1e-5), r.summary()
    note = next(m for m in r.warnings if "sample_weight is uniform" in m)
    assert "cannot tell the two apart" in note and "C = 0.5" in note
    blind = steal(est, X, y, replay=False)
    assert blind.identifiable and blind.native["C"] == pytest.approx(0.5, rel=1e-5)


@pytest.mark.parametrize("classes", [2, 3])
def test_sgd_classifier_weights_are_taken_and_never_confidently_wrong(iris, classes):
    """SGD stops at no exact minimum: its weights are accepted (one-vs-rest class weights per sub-problem), and
    the answer is never a confident wrong number."""
    X, y = iris
    rows = y < classes
    X, y = X[rows], y[rows]
    sw = sample_weights(len(y), True)
    est = fit(SGDClassifier(alpha=0.01, class_weight={0: 2.0, 1: 0.5, 2: 1.0}, tol=None, max_iter=300,
                            random_state=0), X, y, sample_weight=sw)
    r = steal(est, X, y, sample_weight=sw, replay=False)
    assert not r.identifiable or r.native["alpha"] == pytest.approx(0.01, rel=1e-3), r.summary()


@pytest.mark.parametrize("three", [False, True])
def test_svc_with_zero_weights(cancer, iris3, three):
    """libsvm drops rows of weight 0, and scikit-learn's support_ then counts the remaining rows only."""
    X, y = iris3 if three else cancer
    sw = sample_weights(len(y), True)
    sw[::7] = 0.0
    est = fit(SVC(C=0.8, tol=1e-10, class_weight="balanced"), X, y, sample_weight=sw)
    r = steal(est, X, y, sample_weight=sw, replay=False)
    assert r.identifiable and r.native["C"] == pytest.approx(0.8, rel=1e-5), r.summary()


def test_steal_takes_sample_weight_directly(cancer):
    """The public keyword: λ of Σ w_i CE_i + λ‖w‖² from a weighted fit's coef_, and the weights validated."""
    X, y = cancer
    sw = sample_weights(len(y), True)
    est = fit(LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-12), X, y, sample_weight=sw)
    params = {"coef": est.coef_, "intercept": est.intercept_}
    r = hypersteal.steal("logistic_l2", X, y, params, sample_weight=sw)
    assert r.identifiable and r.lam == pytest.approx(1 / (2 * 0.5), rel=1e-8), r.summary()
    assert not hypersteal.steal("logistic_l2", X, y, params).identifiable
    for bad, match in ((sw[:-1], "sample_weight has 568 values but X has 569 rows"),
                       (-sw, "sample_weight holds negative values"), (np.full(len(y), np.nan), "sample_weight")):
        with pytest.raises(InputError, match=match):
            hypersteal.steal("logistic_l2", X, y, params, sample_weight=bad)
    with pytest.raises(InputError, match="mlp_regression does not take sample_weight"):
        mlp = {"coefs": [np.ones((8, 1))], "intercepts": [np.zeros(1)]}
        hypersteal.steal("mlp_regression", X, y.astype(float), mlp, sample_weight=sw)


def test_one_vs_rest_logistic_sgd_with_class_weight(iris):
    """One binary logistic regression per class, class k's rows weighted in class k's problem only; replaying the
    training as a whole recovers alpha."""
    X, y = iris
    est = fit(SGDClassifier(loss="log_loss", class_weight="balanced", random_state=0), X, y)
    r = steal(est, X, y)
    assert r.status is Status.EXACT and r.native["alpha"] == 1e-4, r.summary()


def test_class_and_sample_weights_reach_meta_estimators_and_searches(iris3):
    from sklearn.multiclass import OneVsRestClassifier

    X, y = iris3
    est = fit(OneVsRestClassifier(LogisticRegression(C=0.5, tol=1e-12, max_iter=10**5, class_weight="balanced")), X, y)
    r = steal(est, X, y, replay=False)  # each binary sub-model balanced on its own 0/1 labels, as it was fitted
    assert r.identifiable and r.native["C"] == pytest.approx(0.5, rel=1e-5), r.summary()
    sw = sample_weights(len(y), True)
    search = fit(GridSearchCV(LinearSVC(tol=1e-12, max_iter=10**6, class_weight="balanced"), {"C": [0.1, 0.3, 1.0]}),
                 X, y, sample_weight=sw)
    r = steal(search, X, y, sample_weight=sw, replay=False)
    assert r.identifiable and r.native["C"] == pytest.approx(search.best_params_["C"], rel=1e-5), r.summary()


# ------------------------------------------------------------------ default tolerances: replayed with the weights


@pytest.mark.parametrize("make, native", [
    (lambda: LinearSVC(C=0.3), "C"),
    (lambda: SGDClassifier(alpha=1e-3, random_state=0), "alpha"),
    pytest.param(lambda: LogisticRegression(C=0.5, class_weight="balanced"), "C", marks=pytest.mark.slow),
], ids=["LinearSVC", "SGDClassifier", "LogisticRegression-balanced"])
def test_weighted_fits_at_default_tolerance_are_replayed_with_their_weights(make, native):
    """A weighted fit stopped by its default tolerance is no exact minimum: stationarity leaves an interval, and
    training the estimator again with its sample_weight reproduces the released θ at the true value only."""
    X, y = load_breast_cancer(return_X_y=True)
    w = np.random.default_rng(7).uniform(0.2, 3.0, len(y))
    est = fit(make(), X, y, sample_weight=w)
    truth = est.get_params()[native]
    r = steal(est, X, y, sample_weight=w, replay=600)
    assert r.interval_source == "replay" and r.status is Status.EXACT, r.summary()
    assert r.native[native] == truth, r.summary()
    unweighted = steal(est, X, y, replay=600)  # replayed without the weights: no value reproduces θ
    assert not (unweighted.identifiable and unweighted.native[native] == truth), unweighted.summary()
