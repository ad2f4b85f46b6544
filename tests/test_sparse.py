"""scipy.sparse training data: the linear learners take CSR/CSC X as they are (text and one-hot pipelines), and
answer as on the same X dense; the learners that need dense X say so instead of failing inside numpy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline

import hypersteal
from hypersteal import InputError, learners
from hypersteal.result import Status


def _data(task, n=200, d=30, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, random_state=seed, format="csr")
    f = X @ rng.normal(size=d)
    return X, (f + 0.1 * rng.normal(size=n) if task == "regression" else (f > np.median(f)).astype(int))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("algorithm,lam,options", [
    ("ridge", 1.0, {}), ("lasso", 0.05, {}), ("elastic_net", (0.05, 0.5), {}), ("logistic_l2", 0.5, {}),
    ("logistic_l1", 0.3, {}), ("logistic_l1", 0.3, {"intercept_scaling": 1.0}), ("svm_squared_hinge", 0.5, {}),
    ("svm_hinge", 0.5, {}),
])
def test_sparse_matches_dense(fmt, algorithm, lam, options):
    task = "regression" if algorithm in ("ridge", "lasso", "elastic_net") else "classification"
    X, y = _data(task)
    params = learners.train(algorithm, X.toarray(), y, lam, **options)
    dense = hypersteal.steal(algorithm, X.toarray(), y, params, **options)
    sparse = hypersteal.steal(algorithm, X.asformat(fmt), y, params, **options)
    assert sparse.status is dense.status
    for k, v in dense.estimate.items():
        assert sparse.estimate[k] == pytest.approx(v, rel=1e-9)
        np.testing.assert_allclose(sparse.intervals[k], dense.intervals[k], rtol=1e-9)
    if dense.status is Status.EXACT:
        truth = dict(zip(dense.lambdas, np.atleast_1d(lam)))
        for k, v in sparse.lambdas.items():
            assert v == pytest.approx(truth[k], rel=1e-6)


def test_a_tfidf_pipeline_is_stolen_from_its_sparse_features():
    docs = [f"{a} {b} {c}" for a in ("red", "blue", "green", "black") for b in ("cat", "dog", "bird")
            for c in ("runs", "sleeps", "eats", "sings", "flies")] * 2
    y = np.array([len(d) % 2 for d in docs])
    est = make_pipeline(TfidfVectorizer(), LogisticRegression(C=3.0, tol=1e-12, max_iter=10_000)).fit(docs, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = hypersteal.steal_from_estimator(est, docs, y)
    assert r.status is Status.EXACT and r.native["C"] == pytest.approx(3.0, rel=1e-5)


def test_ridge_on_sparse_input_through_the_estimator():
    X, y = _data("regression")
    est = Ridge(alpha=2.0, solver="sparse_cg", tol=1e-12).fit(X, y)
    r = hypersteal.steal_from_estimator(est, X, y)
    lo, hi = r.native_intervals["alpha"]
    assert lo <= 2.0 <= hi and r.native["alpha"] == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("algorithm,options", [("kernel_ridge", {"kernel": "rbf", "gamma": 0.1}),
                                               ("mlp_regression", {})])
def test_learners_that_need_dense_x_say_so(algorithm, options):
    X, y = _data("regression")
    params = {"dual_coef": np.zeros(X.shape[0]), "intercept": 0.0} if algorithm == "kernel_ridge" else \
        {"coefs": [np.zeros((X.shape[1], 3)), np.zeros((3, 1))], "intercepts": [np.zeros(3), np.zeros(1)]}
    with pytest.raises(InputError, match=r"scipy\.sparse matrix.*X\.toarray\(\)"):
        hypersteal.steal(algorithm, X, y, params, **options)


def test_sparse_x_with_nan_is_named():
    X, y = _data("regression")
    X = X.tolil()
    X[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        hypersteal.steal("ridge", X.tocsr(), y, {"coef": np.zeros(X.shape[1]), "intercept": 0.0})


def test_a_sparse_x_too_large_to_densify_is_attacked_as_it_is():
    """6·10⁷ cells (over the adapter's densification limit, 5·10⁷): refused before, attacked sparse now."""
    rng = np.random.default_rng(1)
    X = sp.random(20_000, 3_000, density=0.001, random_state=1, format="csr")
    y = X @ rng.normal(size=3_000) + 0.1 * rng.normal(size=20_000)
    est = Ridge(alpha=3.0, solver="sparse_cg", tol=1e-12, max_iter=10_000).fit(X, y)
    r = hypersteal.steal_from_estimator(est, X, y)
    assert not any("densified" in w for w in r.warnings)
    lo, hi = r.native_intervals["alpha"]
    assert lo <= 3.0 <= hi and r.native["alpha"] == pytest.approx(3.0, rel=1e-4)
