"""Support vector regression: the ε-insensitive losses against finite differences, and λ stolen from real
scikit-learn fits (``LinearSVR``, ``SVR``, ``SGDRegressor``) at tight and at default settings.

Ground truth is the C (or alpha) each estimator was fitted with, mapped to λ by the formulas written out here
(½‖w‖² + C Σ ℓ = C (Σ ℓ + ‖w‖²/(2C)): λ = 1/(2C); SGD's (1/n) Σ ℓ + (alpha/2)‖w‖²: λ = n·alpha/2). The verdict
rule: a number within what the residual explains, or an interval that holds the truth — never a confident
wrong number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import SGDRegressor
from sklearn.svm import SVC, SVR, LinearSVR, NuSVC, NuSVR

import hypersteal
from hypersteal import InputError
from hypersteal.objectives import get_objective
from hypersteal.objectives.insensitive import EpsilonInsensitiveLoss, SquaredEpsilonInsensitiveLoss
from hypersteal.result import Status


def _data(n=80, d=4, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, scale * (X @ np.array([1.5, -2.0, 0.7, 0.0][:d]) + 0.3 + 0.5 * rng.normal(size=n))


X, Y = _data()


def _steal(est, X=X, y=Y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        return hypersteal.steal_from_estimator(est, X, y, **kw)


def _holds(r, lam, rel=1e-9):
    lo, hi = r.intervals["lambda"]
    return lo * (1 - rel) <= lam <= hi * (1 + rel)


def _verdict_holds(r, lam, rtol):
    """A number within max(rtol, 10·residual) of the truth, or no number and an interval that holds it."""
    if r.status.has_value:
        assert r.lam == pytest.approx(lam, rel=max(rtol, 10 * r.residual)), r.summary()
    else:
        assert np.isnan(r.lam) and _holds(r, lam), r.summary()


# ----------------------------------------------------------------------------------------- the losses


@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_epsilon_insensitive_gradient_and_kink_match_finite_differences(eps):
    L = EpsilonInsensitiveLoss(eps)
    rng = np.random.default_rng(2)
    F, Yt = rng.normal(size=(60, 1)), rng.normal(size=(60, 1))
    off = np.abs(np.abs(Yt - F) - eps) > 1e-3  # away from the kinks
    F, Yt = F[off][:, None], Yt[off][:, None]
    h = 1e-7
    fd = np.array([(L.value(F + h * e[:, None], Yt) - L.value(F - h * e[:, None], Yt)) / (2 * h)
                   for e in np.eye(len(F))])
    np.testing.assert_allclose(L.grad(F, Yt)[:, 0], fd, atol=1e-6)
    # on a kink: β = 0 is the derivative on the side where kink() > 0, β = 1 the one on the other side
    R = np.array([[eps or 0.0], [-eps or 0.0]])
    Yk, Fk = R + 1.0, np.ones((2, 1))
    delta = 1e-6
    for k in range(2):
        d_pos = -np.sign(L.kink(Fk[k:k + 1] + delta, Yk[k:k + 1]) - L.kink(Fk[k:k + 1], Yk[k:k + 1]))[0, 0]
        # the side of f where kink() grows, and where it shrinks
        f_pos, f_neg = Fk[k:k + 1] - d_pos * delta, Fk[k:k + 1] + d_pos * delta
        assert L.kink(f_pos, Yk[k:k + 1])[0, 0] > 0 > L.kink(f_neg, Yk[k:k + 1])[0, 0]
        g_pos = (L.value(f_pos + 1e-9, Yk[k:k + 1]) - L.value(f_pos - 1e-9, Yk[k:k + 1])) / 2e-9
        g_neg = (L.value(f_neg + 1e-9, Yk[k:k + 1]) - L.value(f_neg - 1e-9, Yk[k:k + 1])) / 2e-9
        base, col = L.kink_base(Fk[k:k + 1], Yk[k:k + 1])[0, 0], L.kink_column(f_neg, Yk[k:k + 1])[0, 0]
        assert base == pytest.approx(g_pos, abs=1e-5)
        assert base + col == pytest.approx(g_neg, abs=1e-5)


def test_squared_epsilon_insensitive_derivatives_match_finite_differences():
    L = SquaredEpsilonInsensitiveLoss(0.3)
    rng = np.random.default_rng(4)
    F, Yt = rng.normal(size=(50, 1)), rng.normal(size=(50, 1))
    off = np.abs(np.abs(Yt - F) - 0.3) > 1e-3
    F, Yt = F[off][:, None], Yt[off][:, None]
    h = 1e-6
    fd = np.array([(L.value(F + h * e[:, None], Yt) - L.value(F - h * e[:, None], Yt)) / (2 * h)
                   for e in np.eye(len(F))])
    np.testing.assert_allclose(L.grad(F, Yt)[:, 0], fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(L.hess(F, Yt), (L.grad(F + h, Yt) - L.grad(F - h, Yt)) / (2 * h), atol=1e-6)


@pytest.mark.parametrize("name,options", [
    ("svr_epsilon_insensitive", {"epsilon": 0.3}),
    ("svr_epsilon_insensitive", {"epsilon": 0.3, "intercept_scaling": 2.0}),
    ("svr_squared_epsilon_insensitive", {"epsilon": 0.3}),
    ("kernel_svr_epsilon_insensitive", {"epsilon": 0.3, "kernel": "rbf", "gamma": 0.3}),
    ("kernel_svr_epsilon_insensitive", {"epsilon": 0.0, "kernel": "poly", "degree": 2, "gamma": 0.3})])
def test_objective_gradients_match_finite_differences(name, options):
    objective = get_objective(name, **options)
    data = objective.prepare(X, Y)
    g = np.random.default_rng(1)
    params = {"dual_coef": 0.3 * g.normal(size=len(Y)), "intercept": 0.2} if name.startswith("kernel") else \
        {"coef": 0.4 * g.normal(size=X.shape[1]), "intercept": 0.1}
    params = objective.check_params(params, data)
    theta = objective.pack(params)
    h = 1e-7
    num = np.array([(objective.loss_value(data, objective.unpack(theta + h * e, params))
                     - objective.loss_value(data, objective.unpack(theta - h * e, params))) / (2 * h)
                    for e in np.eye(theta.size)])
    np.testing.assert_allclose(objective.loss_gradient(data, params), num, rtol=1e-5, atol=1e-5 * np.abs(num).max())


def test_a_kink_point_inside_the_system_is_its_column_at_beta_one():
    """A point outside the tube declared on its edge: its β column is what it adds to b at β = 1."""
    objective = get_objective("svr_epsilon_insensitive", epsilon=0.1, fit_intercept=True)
    data = objective.prepare(X, Y)
    params = objective.check_params({"coef": np.array([1.0, -1.5, 0.5, 0.1]), "intercept": 0.2}, data)
    delta = objective.margins(data, params)
    margin = np.zeros(delta.shape, dtype=bool)
    margin[int(np.flatnonzero(delta[:, 0] < 0)[0]), 0] = True
    with_point = objective.system(data, params, margin=margin)
    plain = objective.system(data, params)
    np.testing.assert_allclose(with_point.b + with_point.B[:, 0], plain.b, rtol=1e-12, atol=1e-12)


def test_a_negative_epsilon_is_refused():
    with pytest.raises(InputError, match="epsilon must be a finite number >= 0"):
        get_objective("svr", epsilon=-0.1)


# ----------------------------------------------------------------------------------------- real fits

C_VALUES = (0.01, 0.1, 1.0, 10.0, 100.0)


@pytest.mark.parametrize("C", C_VALUES)
@pytest.mark.parametrize("kernel,kw", [("linear", {}), ("rbf", {"gamma": 0.3}), ("poly", {"degree": 2, "coef0": 1.0}),
                                       ("rbf", {})])
def test_svr_exact(kernel, kw, C):
    """libsvm's dual: any point outside the tube has α = ±C, so λ = 1/(2C) comes out exactly, tight or default."""
    for tol in (1e-10, 1e-3):
        r = _steal(SVR(C=C, kernel=kernel, tol=tol, **kw))
        if r.status is Status.EXACT:
            assert r.lam == pytest.approx(1 / (2 * C), rel=1e-9), r.summary()
            assert r.native["C"] == pytest.approx(C, rel=1e-9)
        else:  # every point inside or on the tube: the same fit for an interval of λ
            est = SVR(C=C, kernel=kernel, tol=tol, **kw).fit(X, Y)
            assert np.all(np.abs(est.dual_coef_) < C * (1 - 1e-8)), r.summary()
            assert r.status is Status.NOT_IDENTIFIABLE and _holds(r, 1 / (2 * C)), r.summary()


def test_svr_on_targets_of_another_scale_and_its_epsilon():
    Xs, ys = _data(seed=3, scale=200.0)
    r = _steal(SVR(C=30.0, epsilon=15.0, gamma=0.2, tol=1e-10), Xs, ys)
    assert r.status is Status.EXACT and r.native["C"] == pytest.approx(30.0, rel=1e-9), r.summary()


def test_svr_with_the_wrong_epsilon_is_not_a_stolen_number():
    est = SVR(C=1.0, epsilon=0.1, tol=1e-10).fit(X, Y)
    a = np.zeros(len(Y))
    a[est.support_] = est.dual_coef_.ravel()
    gamma = 1 / (X.shape[1] * X.var())
    for eps in (0.0, 0.3):
        r = hypersteal.steal("kernel_svr", X, Y, {"dual_coef": a, "intercept": est.intercept_}, epsilon=eps,
                             gamma=gamma, fit_intercept=True)
        assert not r.status.has_value and r.residual > 0.1, r.summary()


@pytest.mark.parametrize("loss", ["epsilon_insensitive", "squared_epsilon_insensitive"])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_linear_svr(loss, eps):
    """liblinear (penalised intercept): the ε-insensitive loss gives a number or an interval with the truth; its
    square (smooth) a number within what the residual explains; at tight and at default tolerance."""
    for C in C_VALUES:
        for tight in (True, False):
            kw = {"tol": 1e-12, "max_iter": 10**6} if tight else {}
            r = _steal(LinearSVR(C=C, epsilon=eps, loss=loss, random_state=0, **kw))
            _verdict_holds(r, 1 / (2 * C), 1e-5)
            if loss == "squared_epsilon_insensitive" and tight:
                assert r.status.has_value, r.summary()


def test_linear_svr_exact_when_a_point_sits_outside_the_tube_with_fewer_edge_points_than_weights():
    r = _steal(LinearSVR(C=0.1, epsilon=0.1, tol=1e-12, max_iter=10**6, random_state=0))
    assert r.status is Status.EXACT and r.native["C"] == pytest.approx(0.1, rel=1e-9), r.summary()
    assert 0 < r.n_margin < X.shape[1] + 1


def test_linear_svr_without_intercept():
    r = _steal(LinearSVR(C=0.1, epsilon=0.1, fit_intercept=False, tol=1e-12, max_iter=10**6, random_state=0))
    _verdict_holds(r, 5.0, 1e-6)


@pytest.mark.parametrize("loss", ["epsilon_insensitive", "squared_epsilon_insensitive"])
def test_sgd_regressor(loss):
    """SGD is never exactly stationary: the value its training replays, or an interval that holds the truth."""
    alpha = 1e-3
    r = _steal(SGDRegressor(loss=loss, alpha=alpha, epsilon=0.1, max_iter=200, tol=None, random_state=0))
    if r.status.has_value:
        assert r.native["alpha"] == pytest.approx(alpha, rel=1e-6), r.summary()
    else:
        assert _holds(r, len(Y) * alpha / 2), r.summary()


def test_perturbed_parameters_are_not_a_minimum():
    est = LinearSVR(C=1.0, epsilon=0.0, loss="squared_epsilon_insensitive", tol=1e-12, max_iter=10**6).fit(X, Y)
    coef = est.coef_ * np.array([1.0, 1.3, 0.8, 1.0])
    r = hypersteal.steal("svr_squared", X, Y, {"coef": coef, "intercept": est.intercept_}, intercept_scaling=1.0)
    assert r.status is Status.NOT_A_MINIMUM, r.summary()


# ----------------------------------------------------------------------------- ε unknown, ν-formulations


def _dual(est, n=len(Y)):
    a = np.zeros(n)
    a[est.support_] = est.dual_coef_.ravel()
    return {"dual_coef": a, "intercept": est.intercept_}


@pytest.mark.parametrize("eps", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_unknown_epsilon_is_recovered_with_lambda(eps, C):
    """epsilon=None: a free support vector sits on the tube's edge and gives ε; without one, an interval."""
    for tol in (1e-10, 1e-3):
        est = SVR(C=C, epsilon=eps, gamma=0.3, tol=tol).fit(X, Y)
        r = hypersteal.steal("kernel_svr", X, Y, _dual(est), epsilon=None, gamma=0.3, fit_intercept=True)
        shape = r.shape["epsilon"]
        lo, hi = shape["interval"]
        assert lo * (1 - 1e-9) <= eps <= hi * (1 + 1e-9), r.summary()
        free = np.abs(est.dual_coef_) < C * (1 - 1e-6)
        assert shape["determined"] == bool(np.any(free)), r.summary()
        if shape["determined"]:  # libsvm's tol leaves the edge points within about tol of it
            assert shape["value"] == pytest.approx(eps, rel=1e-6 if tol < 1e-6 else 5e-3), r.summary()
        else:
            assert np.isnan(shape["value"])
        _verdict_holds(r, 1 / (2 * C), 1e-9)
        assert r.status.has_value == bool(np.any(~free)), r.summary()  # a point outside the tube pins λ


def test_unknown_epsilon_for_a_learner_without_dual_coefficients_is_refused():
    with pytest.raises(InputError, match="needs the ε it was fitted with"):
        hypersteal.steal("svr", X, Y, {"coef": np.ones(4), "intercept": 0.0}, epsilon=None)
    with pytest.raises(InputError, match="ridge has no ε"):
        hypersteal.steal("ridge", X, Y, {"coef": np.ones(4), "intercept": 0.0}, epsilon=None)


def test_unknown_epsilon_of_parameters_no_epsilon_explains():
    est = SVR(C=1.0, epsilon=0.3, gamma=0.3, tol=1e-10).fit(X, Y)
    p = _dual(est)
    p["dual_coef"] = -p["dual_coef"]  # every support vector on the wrong side
    r = hypersteal.steal("kernel_svr", X, Y, p, epsilon=None, gamma=0.3, fit_intercept=True)
    assert r.status is Status.NOT_A_MINIMUM and np.isnan(r.lam), r.summary()
    assert "opposite to their residual" in " ".join(r.warnings)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
@pytest.mark.parametrize("nu", [0.2, 0.5, 0.9])
def test_nu_svr_is_an_epsilon_svr_at_its_own_c(kernel, nu):
    """NuSVR's C is λ's (λ = 1/(2C)); its ε comes back too, and an SVR fitted at that C and ε is the same model."""
    est = NuSVR(nu=nu, C=2.0, kernel=kernel, tol=1e-10).fit(X, Y)
    r = hypersteal.steal_from_estimator(est, X, Y)
    assert r.status is Status.EXACT and r.native["C"] == pytest.approx(2.0, rel=1e-9), r.summary()
    eps = r.shape["epsilon"]
    lo, hi = eps["interval"]
    e = eps["value"] if eps["determined"] else 0.5 * (lo + hi)
    twin = SVR(C=2.0, epsilon=e, kernel=kernel, tol=1e-12).fit(X, Y)
    np.testing.assert_allclose(twin.predict(X), est.predict(X), atol=1e-6 * np.abs(Y).max())


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
@pytest.mark.parametrize("nu", [0.5, 0.9])
def test_nu_svc_is_the_svc_at_the_c_it_implies(kernel, nu):
    """NuSVC has no C: the stolen C is the C-SVM's its rescaled solution is; an SVC fitted there is the same model."""
    yc = (Y + np.random.default_rng(9).normal(size=len(Y)) > 0).astype(int)
    est = NuSVC(nu=nu, kernel=kernel, tol=1e-10).fit(X, yc)
    r = hypersteal.steal_from_estimator(est, X, yc)
    assert r.status is Status.EXACT, r.summary()
    assert any("NuSVC has no C" in w for w in r.warnings)
    twin = SVC(C=r.native["C"], kernel=kernel, tol=1e-12).fit(X, yc)
    np.testing.assert_allclose(twin.decision_function(X), est.decision_function(X), atol=1e-6)


def test_multiclass_nu_svc_is_refused():
    y3 = np.digitize(Y, np.quantile(Y, [1 / 3, 2 / 3]))
    with pytest.raises(InputError, match="each one-vs-one pair is rescaled by its own"):
        hypersteal.steal_from_estimator(NuSVC(nu=0.3).fit(X, y3), X, y3)
