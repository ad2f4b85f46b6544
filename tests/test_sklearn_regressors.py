"""steal_from_estimator on scikit-learn regressors beyond the paper's, against real fits: the value the estimator
was fitted at (or chose) comes back at tight and at default settings, and a fit that pins λ only to a set, or is
no minimum at all, says so instead of giving a confident wrong number."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import (
    GammaRegressor,
    HuberRegressor,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    PoissonRegressor,
    TweedieRegressor,
)

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


# ------------------------------------------------------------------------------------------- GLMs


@pytest.fixture(scope="module")
def glm_data():
    """A log-linear mean on 200 rows: Poisson counts, Gamma targets, and zero-inflated Gamma (Tweedie 1 < p < 2)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    mu = np.exp(X @ np.array([0.3, -0.2, 0.1, 0.0, 0.25]) + 0.5)
    gamma = rng.gamma(2.0, mu / 2.0)
    return X, {"count": rng.poisson(mu).astype(float), "positive": gamma,
               "zeros": np.where(rng.random(200) < 0.3, 0.0, gamma)}


#: (id, estimator at alpha with settings, target kind of the synthetic data, learner)
GLMS = [
    ("Poisson", lambda a, **kw: PoissonRegressor(alpha=a, **kw), "count", "poisson_regression"),
    ("Gamma", lambda a, **kw: GammaRegressor(alpha=a, **kw), "positive", "gamma_regression"),
    ("Tweedie(1.5)", lambda a, **kw: TweedieRegressor(power=1.5, alpha=a, **kw), "zeros", "tweedie_regression"),
    ("Tweedie(0, identity)", lambda a, **kw: TweedieRegressor(power=0, alpha=a, **kw), "positive",
     "tweedie_regression"),
    ("Tweedie(2, identity)", lambda a, **kw: TweedieRegressor(power=2, link="identity", alpha=a, **kw), "positive",
     "tweedie_regression"),
    ("Tweedie(3)", lambda a, **kw: TweedieRegressor(power=3, alpha=a, **kw), "positive", "tweedie_regression"),
]
GLM_IDS = [g[0] for g in GLMS]


def _glm_fit(request, data, make, kind, alpha, **settings):
    if data == "diabetes":
        X, y = request.getfixturevalue("diabetes")
    else:
        X, targets = request.getfixturevalue("glm_data")
        y = targets[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make(alpha, **settings).fit(X, y), X, y


def _verdict_holds(r, alpha, lam):
    """The verdict's rule at any setting (tests/test_native_table.py's): a number within what the residual
    explains (Theorem 2's first-order bound, 10 × the relative residual; 1e-6 at least), or an interval that
    holds the truth."""
    lo, hi = r.intervals["lambda"]
    inside = lo * (1 - 1e-9) <= lam <= hi * (1 + 1e-9)
    if r.status is Status.EXACT and not inside:
        rel = abs(r.native["alpha"] - alpha) / alpha
        assert rel <= max(1e-6, 10 * r.residual), r.summary()
    else:
        assert inside, r.summary()


#: newton-cholesky's Hessian is positive definite here (convex, log link up to p = 2): it converges to round-off
NEWTON_EXACT = ("Poisson", "Gamma", "Tweedie(1.5)", "Tweedie(0, identity)")


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 10.0])
@pytest.mark.parametrize("data,solver", [
    ("synthetic", "lbfgs"), ("synthetic", "newton-cholesky"), ("diabetes", "newton-cholesky"),
    pytest.param("diabetes", "lbfgs", marks=pytest.mark.slow),  # 1-3 s a fit: diabetes' X has a tiny scale
])
@pytest.mark.parametrize("name,make,kind,learner", GLMS, ids=GLM_IDS)
def test_glm_tight_fits_give_alpha(request, name, make, kind, learner, data, solver, alpha):
    """Tight fits (tol=1e-12): λ = n·alpha/2 comes back; newton-cholesky to round-off, L-BFGS (which also stops on
    the objective's relative decrease) to 10 × its residual."""
    est, X, y = _glm_fit(request, data, make, kind, alpha, solver=solver, tol=1e-12, max_iter=10_000)
    r = steal(est, X, y, replay=False)
    assert r.algorithm == learner
    assert r.status is Status.EXACT, r.summary()
    assert r.lam == pytest.approx(len(y) * r.native["alpha"] / 2, rel=1e-12)
    _verdict_holds(r, alpha, len(y) * alpha / 2)
    if solver == "newton-cholesky" and name in NEWTON_EXACT:
        assert r.native["alpha"] == pytest.approx(alpha, rel=1e-8), r.summary()


@pytest.mark.parametrize("alpha", [1e-3, 1.0])
@pytest.mark.parametrize("data", ["synthetic", pytest.param("diabetes", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name,make,kind,learner", GLMS, ids=GLM_IDS)
def test_glm_default_fits_never_give_a_confident_wrong_number(request, name, make, kind, learner, data, alpha):
    """scikit-learn's defaults (lbfgs, tol=1e-4, max_iter=100) stop short: without replay, a number only within
    what the residual explains, else an interval holding the truth."""
    est, X, y = _glm_fit(request, data, make, kind, alpha)
    r = steal(est, X, y, replay=False)
    _verdict_holds(r, alpha, len(y) * alpha / 2)


@pytest.mark.slow
@pytest.mark.parametrize("name,make,kind,learner", GLMS[:3], ids=GLM_IDS[:3])
def test_glm_default_fit_replayed(request, name, make, kind, learner):
    """The same default fit, with replay: training again reproduces the released parameters at alpha."""
    est, X, y = _glm_fit(request, "synthetic", make, kind, 1e-3)
    r = steal(est, X, y, replay=300)  # seconds: a shared machine may be slow
    assert r.interval_source == "replay" and r.identifiable, r.summary()
    assert r.native["alpha"] == pytest.approx(1e-3, rel=1e-6), r.summary()


def test_glm_wrong_learner_or_power_is_not_a_minimum(glm_data):
    X, targets = glm_data
    y = targets["positive"]
    est = PoissonRegressor(alpha=0.1, solver="newton-cholesky", tol=1e-12).fit(X, y)
    params = {"coef": est.coef_, "intercept": est.intercept_}
    assert hypersteal.steal("poisson", X, y, params).status is Status.EXACT
    others = (("gamma", {}), ("tweedie", {"power": 1.5}), ("tweedie", {"power": 1, "link": "identity"}))
    for algorithm, options in others:
        r = hypersteal.steal(algorithm, X, y, params, **options)
        assert r.status is Status.NOT_A_MINIMUM, (algorithm, options, r.summary())
    r = hypersteal.steal("poisson", X, y, {"coef": est.coef_, "intercept": 0.0})  # the intercept left out
    assert r.status is Status.NOT_A_MINIMUM, r.summary()


def test_glm_bad_input_is_refused(glm_data):
    X, targets = glm_data
    params = {"coef": np.zeros(5), "intercept": 0.0}
    with pytest.raises(InputError, match=r"gamma_regression \(power 2\) needs targets y > 0"):
        hypersteal.steal("gamma", X, targets["zeros"], params)
    with pytest.raises(InputError, match=r"poisson_regression \(power 1\) needs targets y ≥ 0"):
        hypersteal.steal("poisson", X, -targets["count"] - 1, params)
    with pytest.raises(InputError, match=r"power=0.5 lies in \(0, 1\)"):
        hypersteal.steal("tweedie", X, targets["positive"], params, power=0.5)
    with pytest.raises(InputError, match=r"tweedie_regression needs its power: pass power=p"):
        hypersteal.steal("tweedie", X, targets["positive"], params)
    with pytest.raises(InputError, match="link must be 'auto', 'log' or 'identity', got 'logit'"):
        hypersteal.steal("tweedie", X, targets["positive"], params, power=1.5, link="logit")


@pytest.mark.parametrize("power", [0, 1, 1.5, 2, 3, -1])
@pytest.mark.parametrize("link", ["log", "identity"])
def test_tweedie_loss_derivatives_match_finite_differences(power, link):
    """The loss's value, gradient and second derivative in the linear predictor, on μ > 0."""
    from hypersteal.objectives.glm import TweedieLoss

    rng = np.random.default_rng(2)
    F = rng.uniform(0.2, 2.0, size=30)
    Y = rng.gamma(2.0, 1.0, size=30)
    L, h = TweedieLoss(power, link), 1e-6
    g = L.grad(F, Y)
    fd1 = np.array([(L.value(F + h * e, Y) - L.value(F - h * e, Y)) / (2 * h) for e in np.eye(len(F))])
    np.testing.assert_allclose(g, fd1, rtol=1e-6, atol=1e-9 * np.max(np.abs(fd1)))
    fd2 = (L.grad(F + h, Y) - L.grad(F - h, Y)) / (2 * h)
    np.testing.assert_allclose(L.hess(F, Y), fd2, rtol=1e-5, atol=1e-8)
    assert L.value(np.log(Y) if link == "log" else Y, Y) == pytest.approx(0.0, abs=1e-12)  # zero deviance at μ = y


@pytest.mark.parametrize("power", [1, 1.5, 2])
def test_identity_link_objective_gradients(power):
    """The objective's b and a for the identity link with μ > 0, against central differences."""
    from test_gradients import fd_check

    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 5))
    y = rng.gamma(2.0, 2.0, size=40)
    objective = hypersteal.objectives.get_objective("tweedie", power=power, link="identity")
    data = objective.prepare(X, y)
    params = objective.check_params({"coef": 0.2 * rng.normal(size=5), "intercept": 4.0}, data)
    assert np.all(objective.scores(data, params) > 0)
    fd_check(objective, data, params)


# ------------------------------------------------------------------------------------------- Huber


@pytest.fixture(scope="module")
def heavy_tails():
    """Student-t noise (2 degrees of freedom): a share of rows beyond ε·σ, the case Huber is for."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    return X, X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 1.0 + rng.standard_t(2, size=200)


def _huber_objective(theta, X, y, epsilon, alpha):
    """Σ_i (σ + σ·H_ε(r_i/σ)) + alpha‖w‖² and its gradient in (w, c, σ), written out here independently."""
    d = X.shape[1]
    w, c, s = theta[:d], theta[d], theta[d + 1]
    z = (y - X @ w - c) / s
    inside = np.abs(z) <= epsilon
    h = np.where(inside, z ** 2, 2 * epsilon * np.abs(z) - epsilon ** 2)
    dh = np.where(inside, 2 * z, 2 * epsilon * np.sign(z))
    value = np.sum(s + s * h) + alpha * w @ w
    grad = np.concatenate([-X.T @ dh + 2 * alpha * w, [-dh.sum()], [np.sum(1 + h - z * dh)]])
    return value, grad


def _polished(est, X, y):
    """The estimator's (w, c, σ) carried to the minimum of the same objective by Newton's method (scikit-learn's
    L-BFGS-B stops on the objective's relative decrease, about 2e-9, whatever tol says). Near the minimum the
    rows beyond ε·σ keep their side, and the objective is smooth there; its Hessian in (w, c, σ) is
    Σ_inside (2/σ)[x̃; −z][x̃; −z]ᵀ + 2·alpha on w (x̃ = (x, 1))."""
    n, d = X.shape
    theta = np.concatenate([est.coef_, [est.intercept_, est.scale_]])
    Xt = np.column_stack([X, np.ones(n)])
    for _ in range(200):
        _, g = _huber_objective(theta, X, y, est.epsilon, est.alpha)
        s = theta[-1]
        z = (y - Xt @ theta[:-1]) / s
        inside = np.abs(z) <= est.epsilon
        V = np.column_stack([Xt, -z])[inside]
        H = 2 / s * V.T @ V
        H[np.arange(d), np.arange(d)] += 2 * est.alpha
        step = np.linalg.solve(H, g)
        f0, t = _huber_objective(theta, X, y, est.epsilon, est.alpha)[0], 1.0
        while _huber_objective(theta - t * step, X, y, est.epsilon, est.alpha)[0] > f0 and t > 1e-12:
            t /= 2  # a row changed side: back off
        theta = theta - t * step
        if np.max(np.abs(t * step)) <= 1e-15 * np.max(np.abs(theta)):
            break
    return {"coef": theta[:d], "intercept": theta[d], "scale": theta[d + 1]}, np.max(np.abs(g))


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 10.0, 1000.0])
@pytest.mark.parametrize("epsilon", [1.1, 1.35, 2.0])
@pytest.mark.parametrize("data", ["heavy_tails", "diabetes"])
def test_huber_at_its_minimum_gives_alpha(request, data, epsilon, alpha):
    """scikit-learn's fit polished to the minimum of the same objective (w, c and σ): λ = alpha to 1e-6."""
    X, y = request.getfixturevalue(data)
    est = HuberRegressor(alpha=alpha, epsilon=epsilon, max_iter=1000).fit(X, y)
    params, gradient = _polished(est, X, y)
    r = hypersteal.steal("huber", X, y, params, epsilon=epsilon)
    assert r.status is Status.EXACT, (gradient, r.summary())
    assert r.lam == pytest.approx(alpha, rel=1e-6), r.summary()


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 10.0, 1000.0])
@pytest.mark.parametrize("data", ["heavy_tails", "diabetes"])
def test_huber_as_fitted_never_gives_a_confident_wrong_number(request, data, alpha):
    """HuberRegressor as scikit-learn leaves it (tight tol or not, L-BFGS-B stops on the relative decrease): a
    number within what the residual explains, or an interval holding the truth."""
    X, y = request.getfixturevalue(data)
    est = HuberRegressor(alpha=alpha, max_iter=1000).fit(X, y)
    r = steal(est, X, y, replay=False)
    _verdict_holds(r, alpha, alpha)


@pytest.mark.slow
def test_huber_default_fit_replayed(heavy_tails):
    X, y = heavy_tails
    est = HuberRegressor(alpha=1e-3).fit(X, y)
    r = steal(est, X, y, replay=300)
    assert r.interval_source == "replay" and r.identifiable, r.summary()
    assert r.native["alpha"] == pytest.approx(1e-3, rel=1e-6), r.summary()


def test_huber_wrong_scale_epsilon_or_intercept_is_not_a_minimum(heavy_tails):
    """The scale's and the intercept's equations hold no λ, but an exact fit meets them: break one and the
    parameters are no minimum."""
    X, y = heavy_tails
    est = HuberRegressor(alpha=0.1, max_iter=1000).fit(X, y)
    params, _ = _polished(est, X, y)
    assert hypersteal.steal("huber", X, y, params).status is Status.EXACT
    for wrong, options in (({**params, "scale": 1.5 * params["scale"]}, {}), (params, {"epsilon": 2.0}),
                           ({**params, "intercept": params["intercept"] + 0.5}, {})):
        r = hypersteal.steal("huber", X, y, wrong, **options)
        assert r.status is Status.NOT_A_MINIMUM, r.summary()


def test_huber_needs_its_scale_and_a_valid_epsilon(heavy_tails):
    X, y = heavy_tails
    params = {"coef": np.zeros(5), "intercept": 0.0}
    with pytest.raises(InputError, match=r"needs params\['scale'\].*scale_"):
        hypersteal.steal("huber", X, y, params)
    with pytest.raises(InputError, match="epsilon must be ≥ 1"):
        hypersteal.steal("huber", X, y, {**params, "scale": 1.0}, epsilon=0.5)


def test_huber_objective_gradients():
    """b and a of the Huber objective against central differences, rows on both sides of ε·σ."""
    from test_gradients import fd_check

    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 5))
    y = X @ rng.normal(size=5) + rng.standard_t(2, size=40)
    objective = hypersteal.objectives.get_objective("huber")
    data = objective.prepare(X, y)
    params = objective.check_params({"coef": 0.3 * rng.normal(size=5), "intercept": 0.2, "scale": 0.8}, data)
    z = np.abs(y - X @ params["coef"][0] - 0.2) / 0.8
    assert np.any(z > 1.35) and np.any(z < 1.35)
    fd_check(objective, data, params)
