"""Reference trainers: each fit is a stationary point of the paper's objective (docs/conventions.md).

The gradients here are written independently of :mod:`hypersteal.learners`, from the table of docs/conventions.md
(b = ∂loss, a = ∂R), and are themselves checked against finite differences of
:func:`~hypersteal.learners.objective_value`, which is in turn checked against scikit-learn's own
reported losses.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit, softmax
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.svm import LinearSVC

from hypersteal._validation import InputError
from hypersteal.kernels import Kernel
from hypersteal.learners import DEFAULT_OPTIONS, objective_value, train

# --------------------------------------------------------------------------- data


@lru_cache
def diabetes():
    return load_diabetes(return_X_y=True)


@lru_cache
def iris2():
    X, y = load_iris(return_X_y=True)
    return X[:100], y[:100]


@lru_cache
def iris3():
    return load_iris(return_X_y=True)


@lru_cache
def synthetic(n=120, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + rng.normal(size=n) > 0).astype(int)
    return X, y


DATA = {"diabetes": diabetes, "iris2": iris2, "iris3": iris3, "synthetic": synthetic}


def labels01(y):
    return (y == np.unique(y)[1]).astype(float)


def labels_pm(y):
    return np.where(y == np.unique(y)[1], 1.0, -1.0)


# --------------------------------------------------------------------------- independent gradients


def score_gradient(loss, f, y):
    """∂loss/∂f per row: squared 2(f − y), cross-entropy σ(f) − y, squared hinge −2y·max(0, 1 − yf)."""
    if loss == "squared":
        return 2.0 * (f - y)
    if loss == "logistic":
        return expit(f) - labels01(y)
    yy = labels_pm(y)
    return -2.0 * yy * np.maximum(0.0, 1.0 - yy * f)


LOSS = {
    "ridge": "squared", "lasso": "squared", "elastic_net": "squared", "kernel_ridge": "squared",
    "logistic_l2": "logistic", "logistic_l1": "logistic", "kernel_logistic_l2": "logistic",
    "kernel_logistic_l1": "logistic", "svm_squared_hinge": "sqhinge", "kernel_svm_squared_hinge": "sqhinge",
}


def linear_parts(alg, X, y, p):
    """(b_w, b_c, Σ|g|): ∂loss/∂w, ∂loss/∂c and the scale of ∂loss/∂c, for one output."""
    g = score_gradient(LOSS[alg], X @ p["coef"] + p["intercept"], y)
    return X.T @ g, g.sum(), np.abs(g).sum()


def kernel_parts(alg, K, y, p):
    """(g, b_α, b_c) with g = ∂loss/∂f, b_α = Kg, b_c = Σg."""
    g = score_gradient(LOSS[alg], K @ p["dual_coef"] + p["intercept"], y)
    return g, K @ g, g.sum()


def mlp_gradient(coefs, intercepts, X, Y, lam, activation, output):
    """Back-propagated gradient of Σ loss + λΣ‖W‖² (Y is (n, outputs); one-hot for softmax)."""
    act = {"tanh": np.tanh, "logistic": expit, "identity": lambda z: z, "relu": lambda z: np.maximum(z, 0)}
    dact = {"tanh": lambda a: 1 - a**2, "logistic": lambda a: a * (1 - a),
            "identity": np.ones_like, "relu": lambda a: (a > 0).astype(float)}
    hs = [X]
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        hs.append(act[activation](hs[-1] @ W + b))
    F = hs[-1] @ coefs[-1] + intercepts[-1]
    delta = {"identity": lambda: 2 * (F - Y), "logistic": lambda: expit(F) - Y,
             "softmax": lambda: softmax(F, axis=1) - Y}[output]()
    gW, gb = [], []
    for i in range(len(coefs) - 1, -1, -1):
        gW.insert(0, hs[i].T @ delta + 2 * lam * coefs[i])
        gb.insert(0, delta.sum(axis=0))
        if i:
            delta = (delta @ coefs[i].T) * dact[activation](hs[i])
    return gW, gb


def rel(residual, *scales):
    return float(np.linalg.norm(residual) / sum(np.linalg.norm(s) for s in scales))


# --------------------------------------------------------------------------- smooth learners

SMOOTH_LINEAR = [
    ("ridge", "diabetes"),
    ("logistic_l2", "iris2"),
    ("logistic_l2", "synthetic"),
    ("svm_squared_hinge", "iris2"),
    ("svm_squared_hinge", "synthetic"),
]
LAMBDAS = [1e-3, 1.0, 1e3]


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize(("alg", "data"), SMOOTH_LINEAR)
def test_smooth_linear_is_stationary(alg, data, lam):
    X, y = DATA[data]()
    p = train(alg, X, y, lam)
    b_w, b_c, scale = linear_parts(alg, X, y, p)
    a = 2.0 * lam * p["coef"]
    assert rel(b_w + a, b_w, a) <= 1e-10
    assert abs(b_c) <= 1e-10 * scale


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("alg", ["kernel_logistic_l2", "kernel_svm_squared_hinge"])
@pytest.mark.parametrize("data", ["iris2", "synthetic"])
def test_smooth_kernel_is_stationary(alg, data, lam):
    X, y = DATA[data]()
    p = train(alg, X, y, lam)
    K = Kernel("rbf")(X)
    g, b, b_c = kernel_parts(alg, K, y, p)
    a = 2.0 * lam * (K @ p["dual_coef"])
    assert rel(b + a, b, a) <= 1e-9  # the paper's equations, K(g + 2λα) = 0
    assert rel(g + 2.0 * lam * p["dual_coef"], g) <= 1e-10  # representer form g + 2λα = 0
    assert abs(b_c) <= 1e-10 * np.abs(g).sum()


@pytest.mark.parametrize("lam", LAMBDAS)
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_kernel_ridge_solves_its_equations(lam, fit_intercept):
    X, y = diabetes()
    p = train("kernel_ridge", X, y, lam, fit_intercept=fit_intercept)
    K = Kernel("rbf")(X)
    alpha, c = p["dual_coef"], p["intercept"]
    r = y - K @ alpha - c
    # reduced form y − Kα − c = λα (K is far too ill-conditioned here for 2K(Kα − y) + 2λKα ≈ 0 to
    # show more than its round-off)
    assert rel(r - lam * alpha, r) <= 1e-10
    if fit_intercept:
        assert abs(alpha.sum()) <= 1e-10 * np.abs(alpha).sum()
    else:
        assert c == 0.0
        assert_allclose(alpha, np.linalg.solve(K + lam * np.eye(len(y)), y), rtol=1e-6,
                        atol=1e-9 * np.abs(alpha).max())


@pytest.mark.parametrize("lam", [1e-2, 1.0])
def test_multinomial_logistic_is_stationary(lam):
    X, y = iris3()
    p = train("logistic_l2", X, y, lam)
    W, c = p["coef"], p["intercept"]
    assert W.shape == (3, 4) and c.shape == (3,)
    G = softmax(X @ W.T + c, axis=1) - np.eye(3)[y]
    b = G.T @ X
    assert rel(b + 2 * lam * W, b, 2 * lam * W) <= 1e-10
    assert np.abs(G.sum(axis=0)).max() <= 1e-10 * np.abs(G).sum()


def test_intercept_scaling_penalises_the_intercept():
    X, y = synthetic()
    for alg in ("svm_squared_hinge", "logistic_l2"):
        for s in (1.0, 10.0):
            p = train(alg, X, y, 0.5, intercept_scaling=s)
            Z = np.hstack([X, np.full((len(y), 1), s)])
            w = np.append(p["coef"], p["intercept"] / s)
            g = score_gradient(LOSS[alg], Z @ w, y)
            b = Z.T @ g
            assert rel(b + 2 * 0.5 * w, b) <= 1e-10, (alg, s)
    # scikit-learn's LinearSVC minimises the same objective with C = 1/(2λ)
    p = train("svm_squared_hinge", X, y, 0.5, intercept_scaling=10.0)
    m = LinearSVC(C=1.0, intercept_scaling=10.0, dual=False, tol=1e-12, max_iter=100_000).fit(X, y)
    assert_allclose(p["coef"], m.coef_.ravel(), rtol=1e-6)
    assert_allclose(p["intercept"], m.intercept_[0], rtol=1e-6)


@pytest.mark.parametrize("alg", ["logistic_l2", "svm_squared_hinge", "kernel_logistic_l2",
                                 "kernel_svm_squared_hinge"])
def test_without_intercept(alg):
    X, y = synthetic()
    p = train(alg, X, y, 0.3, fit_intercept=False)
    assert p["intercept"] == 0.0
    if alg.startswith("kernel"):
        K = Kernel("rbf")(X)
        g, b, _ = kernel_parts(alg, K, y, p)
        assert rel(g + 0.6 * p["dual_coef"], g) <= 1e-10
    else:
        b, _, _ = linear_parts(alg, X, y, p)
        assert rel(b + 0.6 * p["coef"], b) <= 1e-10


# --------------------------------------------------------------------------- L1 learners


def check_l1_kkt(b, theta, lam1, extra=None):
    """∂_j = −λ sign θ_j on the support, |∂_j| ≤ λ off it; zeros exactly 0.0."""
    extra = 0.0 if extra is None else extra
    nz = theta != 0
    assert nz.any(), "degenerate case: empty support"
    r = b[nz] + extra[nz] if np.ndim(extra) else b[nz] + extra
    assert rel(r + lam1 * np.sign(theta[nz]), b[nz]) <= 1e-9
    assert np.all(np.abs(b[~nz]) <= lam1 * (1 + 1e-9))
    assert np.all(np.abs(theta[nz]) > 1e-10 * np.abs(theta).max())  # no near-zeros left over


@pytest.mark.parametrize("lam", [1e-3, 1.0, 100.0, 1e3])
def test_lasso_kkt_and_scikit_learn(lam):
    X, y = diabetes()
    n = len(y)
    p = train("lasso", X, y, lam)
    b, b_c, scale = linear_parts("lasso", X, y, p)
    check_l1_kkt(b, p["coef"], lam)
    assert abs(b_c) <= 1e-10 * scale
    m = Lasso(alpha=lam / (2 * n), tol=1e-14, max_iter=1_000_000).fit(X, y)  # docs/conventions.md: λ = 2n·alpha
    assert_allclose(p["coef"], m.coef_, rtol=1e-5, atol=1e-6 * np.abs(m.coef_).max())


def test_lasso_above_lambda_max_is_all_zero():
    X, y = diabetes()
    lam_max = 2 * np.abs(X.T @ (y - y.mean())).max()
    p = train("lasso", X, y, 1.01 * lam_max)
    assert np.all(p["coef"] == 0.0)
    assert p["intercept"] == pytest.approx(y.mean())


@pytest.mark.parametrize(("lam1", "lam2"), [(1.0, 1.0), (1e3, 10.0), (0.0, 5.0), (50.0, 0.0)])
def test_elastic_net_kkt_and_scikit_learn(lam1, lam2):
    X, y = diabetes()
    n = len(y)
    p = train("elastic_net", X, y, (lam1, lam2))
    w = p["coef"]
    b, _, _ = linear_parts("elastic_net", X, y, p)
    check_l1_kkt(b, w, lam1, extra=2 * lam2 * w)
    alpha = lam1 / (2 * n) + lam2 / n  # docs/conventions.md: λ1 = 2n·alpha·r, λ2 = n·alpha·(1 − r)
    m = ElasticNet(alpha=alpha, l1_ratio=lam1 / (2 * n) / alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
    assert_allclose(w, m.coef_, rtol=1e-5, atol=1e-6 * np.abs(m.coef_).max())


@pytest.mark.parametrize("lam", [1e-3, 0.1, 3.0])
@pytest.mark.parametrize("data", ["iris2", "synthetic"])
def test_logistic_l1_kkt_and_scikit_learn(data, lam):
    X, y = DATA[data]()
    p = train("logistic_l1", X, y, lam)
    b, b_c, scale = linear_parts("logistic_l1", X, y, p)
    check_l1_kkt(b, p["coef"], lam)
    assert abs(b_c) <= 1e-10 * scale
    if data == "synthetic":  # saga converges on this small well-conditioned problem; docs/conventions.md: λ = 1/C
        m = LogisticRegression(solver="saga", l1_ratio=1.0, C=1 / lam, tol=1e-13, max_iter=100_000).fit(X, y)
        assert_allclose(p["coef"], m.coef_.ravel(), rtol=1e-6, atol=1e-8)
        assert_allclose(p["intercept"], m.intercept_[0], rtol=1e-6, atol=1e-8)


def test_logistic_l1_liblinear_intercept():
    X, y = synthetic()
    p = train("logistic_l1", X, y, 2.0, intercept_scaling=5.0)
    m = LogisticRegression(solver="liblinear", l1_ratio=1.0, C=0.5, intercept_scaling=5.0, tol=1e-12,
                           max_iter=100_000).fit(X, y)
    assert_allclose(p["coef"], m.coef_.ravel(), rtol=1e-5, atol=1e-7)
    assert_allclose(p["intercept"], m.intercept_[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("lam", [1e-3, 0.1, 1.0])
@pytest.mark.parametrize("data", ["iris2", "synthetic"])
def test_kernel_logistic_l1_kkt(data, lam):
    X, y = DATA[data]()
    p = train("kernel_logistic_l1", X, y, lam)
    K = Kernel("rbf")(X)
    g, b, b_c = kernel_parts("kernel_logistic_l1", K, y, p)
    check_l1_kkt(b, p["dual_coef"], lam)
    assert abs(b_c) <= 1e-10 * np.abs(g).sum()
    assert np.count_nonzero(p["dual_coef"]) < len(y)


# --------------------------------------------------------------------------- hinge learners


def assert_no_descent(alg, X, y, p, lam, key, rng, **options):
    """Convex F: optimal iff every one-sided directional derivative is ≥ 0."""
    F0 = objective_value(alg, X, y, p, lam, **options)
    theta = np.append(p[key], p["intercept"])
    scale = np.abs(theta).max()
    dirs = [np.eye(len(theta))[j] for j in range(len(theta))]
    dirs += list(rng.normal(size=(30, len(theta))))
    for d in dirs:
        for sign in (1.0, -1.0):
            for eps in (1e-4, 1e-7):
                t = theta + sign * eps * scale * d / np.linalg.norm(d)
                F = objective_value(alg, X, y, {key: t[:-1], "intercept": t[-1]}, lam, **options)
                assert F >= F0 - 1e-13 * abs(F0), (eps, sign)


@pytest.mark.parametrize("lam", [1e-3, 1.0, 1e2])
@pytest.mark.parametrize("data", ["iris2", "synthetic"])
def test_svm_hinge_cannot_be_improved(data, lam):
    X, y = DATA[data]()
    p = train("svm_hinge", X, y, lam)
    assert p["coef"].shape == (X.shape[1],) and isinstance(p["intercept"], float)
    assert_no_descent("svm_hinge", X, y, p, lam, "coef", np.random.default_rng(1))
    # subgradient stationarity: 2λw = Σ β_i y_i x_i with β = 1 inside the margin, 0 outside
    yy = labels_pm(y)
    m = yy * (X @ p["coef"] + p["intercept"])
    inside, margin = m < 1 - 1e-9, np.abs(m - 1) <= 1e-9
    assert np.all(m[~inside & ~margin] > 1)
    beta, *_ = np.linalg.lstsq((yy[margin, None] * X[margin]).T,
                               2 * lam * p["coef"] - (yy[inside, None] * X[inside]).sum(axis=0), rcond=None)
    assert np.all(beta >= -1e-9) and np.all(beta <= 1 + 1e-9)


def hinge_objective(X, y, w, c, lam):
    return float(np.maximum(0.0, 1.0 - labels_pm(y) * (X @ w + c)).sum() + lam * w @ w)


@pytest.mark.parametrize("lam", [1e-2, 1.0, 10.0])
def test_svm_hinge_matches_libsvm(lam):
    # libsvm's dual solver (scikit-learn's SVC, C = 1/(2λ)) minimises the same objective to ~tol
    from sklearn.svm import SVC

    X, y = synthetic(400, 8, 5)
    p = train("svm_hinge", X, y, lam)
    m = SVC(kernel="linear", C=1.0 / (2.0 * lam), tol=1e-10).fit(X, labels_pm(y))
    F = hinge_objective(X, y, p["coef"], p["intercept"], lam)
    F_svc = hinge_objective(X, y, m.coef_.ravel(), m.intercept_[0], lam)
    assert F <= F_svc + 1e-12 * F_svc
    # F is 2λ-strongly convex in w, so at the minimiser λ‖w_svc − w‖² ≤ F(w_svc) − F(w)
    assert lam * np.sum((m.coef_.ravel() - p["coef"]) ** 2) <= (F_svc - F) * (1 + 1e-6) + 1e-12 * F_svc
    assert np.linalg.norm(m.coef_.ravel() - p["coef"]) <= 1e-3 * np.linalg.norm(p["coef"])


def test_svm_hinge_with_more_margin_points_than_unknowns():
    # every row repeated 25 times: the minimiser has dozens of points on its margin (more than d + 1)
    from sklearn.svm import SVC

    X, y = synthetic(24, 3, 7)
    X, y = np.repeat(X, 25, axis=0), np.repeat(y, 25)
    lam = 0.05
    p = train("svm_hinge", X, y, lam)
    m = labels_pm(y) * (X @ p["coef"] + p["intercept"])
    assert np.sum(np.abs(m - 1) <= 1e-9) > X.shape[1] + 1
    assert_no_descent("svm_hinge", X, y, p, lam, "coef", np.random.default_rng(4))
    svc = SVC(kernel="linear", C=1.0 / (2.0 * lam), tol=1e-10).fit(X, labels_pm(y))
    F_svc = hinge_objective(X, y, svc.coef_.ravel(), svc.intercept_[0], lam)
    assert hinge_objective(X, y, p["coef"], p["intercept"], lam) <= F_svc + 1e-12 * F_svc


@pytest.mark.slow
@pytest.mark.parametrize("lam", [1e-3, 1.0, 1e3])
def test_svm_hinge_on_all_of_bank(lam):
    # 45,211 rows: seconds here, where libsvm's dual solver runs for tens of minutes at small λ; at
    # λ ≤ 10 the minimiser is degenerate (thousands of points exactly on the margin)
    from hypersteal import datasets

    ds = datasets.load("bank")
    p = train("svm_hinge", ds.X, ds.y, lam)
    assert_no_descent("svm_hinge", ds.X, ds.y, p, lam, "coef", np.random.default_rng(6))


def test_svm_hinge_falls_back_to_libsvm(monkeypatch):
    # when the smoothed primal proposes no set that passes the KKT check, libsvm's dual is polished instead
    from hypersteal.learners import hinge

    monkeypatch.setattr(hinge, "_huber_hinge_newton", lambda Z, y, ridge, theta, h, it: (theta, 1.0))
    X, y = DATA["synthetic"]()
    p = train("svm_hinge", X, y, 1.0)
    assert_no_descent("svm_hinge", X, y, p, 1.0, "coef", np.random.default_rng(5))


@pytest.mark.parametrize("lam", [1e-3, 1.0, 1e2])
def test_kernel_svm_hinge_cannot_be_improved(lam):
    X, y = synthetic(60, 4, 3)
    p = train("kernel_svm_hinge", X, y, lam, kernel="poly", degree=2)
    alpha = p["dual_coef"]
    assert alpha.shape == (len(y),)
    # libsvm's dual: α_i = y_i β_i / (2λ), β ∈ [0, 1], Σα = 0
    beta = 2 * lam * labels_pm(y) * alpha
    assert np.all(beta >= -1e-12) and np.all(beta <= 1 + 1e-9)
    assert abs(alpha.sum()) <= 1e-9 * np.abs(alpha).sum()
    assert_no_descent("kernel_svm_hinge", X, y, p, lam, "dual_coef", np.random.default_rng(2),
                      kernel="poly", degree=2)


def test_hinge_learners_need_an_intercept():
    X, y = iris2()
    with pytest.raises(InputError, match="unpenalised intercept"):
        train("svm_hinge", X, y, 1.0, fit_intercept=False)


# --------------------------------------------------------------------------- networks


def mlp_residual(alg, X, y, p, lam, activation):
    if alg == "mlp_regression":
        Y, out = y.reshape(len(y), -1), "identity"
    elif len(np.unique(y)) == 2:
        Y, out = labels01(y)[:, None], "logistic"
    else:
        Y, out = (y[:, None] == np.unique(y)).astype(float), "softmax"
    gW, gb = mlp_gradient(p["coefs"], p["intercepts"], X, Y, lam, activation, out)
    reg = np.concatenate([2 * lam * W.ravel() for W in p["coefs"]])
    g = np.concatenate([g.ravel() for g in gW + gb])
    return rel(g, g - np.concatenate([reg, np.zeros(sum(b.size for b in gb))]), reg)


MLP_CASES = [
    ("mlp_regression", "diabetes", 1e-2, "tanh"),
    ("mlp_regression", "diabetes", 1.0, "logistic"),
    ("mlp_classification", "iris2", 1e-2, "tanh"),
    ("mlp_classification", "iris2", 1.0, "relu"),
    ("mlp_classification", "iris3", 0.1, "tanh"),
]


@pytest.mark.parametrize(("alg", "data", "lam", "activation"), MLP_CASES)
def test_mlp_is_stationary(alg, data, lam, activation):
    X, y = DATA[data]()
    p = train(alg, X, y, lam, activation=activation)
    n_out = 3 if data == "iris3" else 1
    assert [W.shape for W in p["coefs"]] == [(X.shape[1], 10), (10, n_out)]
    assert [b.shape for b in p["intercepts"]] == [(10,), (n_out,)]
    assert mlp_residual(alg, X, y, p, lam, activation) <= 1e-9


def test_mlp_large_lambda_gives_exactly_zero_weights():
    X, y = iris2()
    p = train("mlp_classification", X, y, 1e3)
    assert all(np.all(W == 0.0) for W in p["coefs"])
    assert p["intercepts"][-1][0] == pytest.approx(0.0, abs=1e-12)  # balanced classes: logit(1/2)


def test_mlp_objective_matches_scikit_learn_loss():
    """objective_value agrees with scikit-learn's own loss_ through docs/conventions.md's mappings."""
    X, y = iris2()
    n, lam = len(y), 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = MLPClassifier(hidden_layer_sizes=(5,), alpha=2 * lam, solver="lbfgs", max_iter=50,
                          random_state=0, activation="tanh").fit(X, y)
        params = {"coefs": m.coefs_, "intercepts": m.intercepts_}
        assert objective_value("mlp_classification", X, y, params, lam) == pytest.approx(n * m.loss_, rel=1e-12)
        Xd, yd = diabetes()
        r = MLPRegressor(hidden_layer_sizes=(5,), alpha=lam, solver="lbfgs", max_iter=50, random_state=0,
                         activation="tanh").fit(Xd, yd)
        params = {"coefs": r.coefs_, "intercepts": r.intercepts_}
        value = objective_value("mlp_regression", Xd, yd, params, lam)
        assert value == pytest.approx(2 * len(yd) * r.loss_, rel=1e-12)
    # and the trainer does better than scikit-learn's own fit of the same objective
    p = train("mlp_classification", X, y, lam, hidden_layer_sizes=(5,))
    assert objective_value("mlp_classification", X, y, p, lam) <= n * m.loss_


# --------------------------------------------------------------------------- objective_value itself

FD_CASES = [
    ("ridge", "diabetes", {}),
    ("logistic_l2", "synthetic", {}),
    ("svm_squared_hinge", "synthetic", {}),
    ("kernel_ridge", "synthetic", {"fit_intercept": True}),
    ("kernel_logistic_l2", "synthetic", {"kernel": "poly", "degree": 2, "gamma": 0.5}),
    ("kernel_svm_squared_hinge", "synthetic", {"kernel": "laplacian"}),
]


@pytest.mark.parametrize(("alg", "data", "options"), FD_CASES)
def test_test_gradients_match_objective_value(alg, data, options):
    """The gradients used above are the gradients of objective_value (checked at random points)."""
    X, y = DATA[data]()
    X = X[:60]
    y = y[:60]
    rng = np.random.default_rng(5)
    lam = 0.7
    kernel = "dual_coef" if alg.startswith("kernel") else "coef"
    size = len(y) if kernel == "dual_coef" else X.shape[1]
    theta = np.append(rng.normal(size=size) * 0.3, 0.2)

    def F(t):
        return objective_value(alg, X, y, {kernel: t[:-1], "intercept": t[-1]}, lam, **options)

    fd = np.array([(F(theta + h) - F(theta - h)) / 2e-6 for h in 1e-6 * np.eye(len(theta))])
    p = {kernel: theta[:-1], "intercept": theta[-1]}
    if kernel == "coef":
        b, b_c, _ = linear_parts(alg, X, y, p)
        grad = np.append(b + 2 * lam * theta[:-1], b_c)
    else:
        K = Kernel(**{k: v for k, v in options.items() if k != "fit_intercept"})(X)
        _, b, b_c = kernel_parts(alg, K, y, p)
        grad = np.append(b + 2 * lam * K @ theta[:-1], b_c)
    assert_allclose(fd, grad, rtol=1e-5, atol=1e-6 * np.abs(grad).max())


@pytest.mark.parametrize(("alg", "data", "activation"),
                         [("mlp_regression", "diabetes", "tanh"), ("mlp_classification", "iris3", "logistic"),
                          ("mlp_classification", "iris2", "identity")])
def test_mlp_test_gradient_matches_objective_value(alg, data, activation):
    X, y = DATA[data]()
    rng = np.random.default_rng(6)
    n_out = 3 if data == "iris3" else 1
    shapes = [(X.shape[1], 4), (4, n_out)]
    coefs = [rng.normal(size=s) * 0.5 for s in shapes]
    inter = [rng.normal(size=s[1]) * 0.5 for s in shapes]
    lam = 0.3
    theta = np.concatenate([a.ravel() for a in coefs + inter])
    sizes = [np.prod(s) for s in shapes] + [s[1] for s in shapes]
    cuts = np.cumsum(sizes)[:-1]

    def unpack(t):
        parts = np.split(t, cuts)
        return [parts[i].reshape(shapes[i]) for i in range(2)], parts[2:]

    def F(t):
        W, b = unpack(t)
        return objective_value(alg, X, y, {"coefs": W, "intercepts": b}, lam, activation=activation)

    fd = np.array([(F(theta + h) - F(theta - h)) / 2e-6 for h in 1e-6 * np.eye(len(theta))])
    if alg == "mlp_regression":
        Y, out = y[:, None], "identity"
    elif n_out == 1:
        Y, out = labels01(y)[:, None], "logistic"
    else:
        Y, out = np.eye(3)[y], "softmax"
    gW, gb = mlp_gradient(coefs, inter, X, Y, lam, activation, out)
    grad = np.concatenate([g.ravel() for g in gW + gb])
    assert_allclose(fd, grad, rtol=1e-5, atol=1e-6 * np.abs(grad).max())


# --------------------------------------------------------------------------- API


def test_returns_plain_arrays_and_floats():
    X, y = synthetic()
    for alg in DEFAULT_OPTIONS:
        if alg.startswith("mlp"):
            continue
        data = diabetes() if alg in ("ridge", "lasso", "elastic_net", "kernel_ridge") else (X, y)
        lam = (1.0, 1.0) if alg == "elastic_net" else 1.0
        p = train(alg, *data, lam)
        key = "dual_coef" if alg.startswith("kernel") else "coef"
        assert set(p) == {key, "intercept"}
        assert type(p[key]) is np.ndarray and p[key].dtype == float
        assert type(p["intercept"]) is float
        n_coef = len(data[1]) if key == "dual_coef" else data[0].shape[1]
        assert p[key].shape == (n_coef,)


def test_aliases_and_any_two_labels():
    X, y = iris2()
    names = np.array(["setosa", "versicolor"])[y]
    for alias, name in [("L2-LR", "logistic_l2"), ("SVM-SHL", "svm_squared_hinge"), ("l1_lr", "logistic_l1")]:
        a = train(alias, X, names, 0.5)
        b = train(name, X, y, 0.5)
        assert_allclose(a["coef"], b["coef"], rtol=1e-12, atol=1e-14)
    # the second class in sorted order is the positive one
    base = train("logistic_l2", X, y, 0.5)
    flipped = train("logistic_l2", X, 1 - y, 0.5)
    assert_allclose(flipped["coef"], -base["coef"], rtol=1e-8)
    assert flipped["intercept"] == pytest.approx(-base["intercept"], rel=1e-8)


def test_multi_output_ridge():
    X, y = diabetes()
    Y = np.column_stack([y, -2 * y])
    p = train("ridge", X, Y, 3.0)
    assert p["coef"].shape == (2, X.shape[1]) and p["intercept"].shape == (2,)
    single = train("ridge", X, y, 3.0)
    assert_allclose(p["coef"][1], -2 * single["coef"], rtol=1e-10)


def test_bad_inputs():
    X, y = iris2()
    with pytest.raises(TypeError, match="unknown option 'kernal'.*Did you mean 'kernel'"):
        train("kernel_svm_hinge", X, y, 1.0, kernal="rbf")
    with pytest.raises(TypeError, match="unknown option"):
        train("ridge", X, y, 1.0, random_state=0)
    with pytest.raises(InputError, match="lam"):
        train("ridge", X, y, -1.0)
    with pytest.raises(InputError, match="pair"):
        train("elastic_net", X, y, 1.0)
    with pytest.raises(InputError, match="fit_intercept=True"):
        train("logistic_l2", X, y, 1.0, fit_intercept=False, intercept_scaling=2.0)
    with pytest.raises(InputError, match="activation"):
        train("mlp_regression", X, y, 1.0, activation="sigmoid")
    with pytest.raises(InputError, match="distinct label"):
        train("svm_hinge", *iris3(), 1.0)
    with pytest.raises(InputError, match="Unknown algorithm"):
        train("ridge_regresion_x", X, y, 1.0)
