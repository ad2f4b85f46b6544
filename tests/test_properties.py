"""Properties that must hold for every input, checked with hypothesis: invariances of the attack, the
verdict's own consistency, and round trips of what it returns."""

from __future__ import annotations

import contextlib
import json
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hypersteal
from hypersteal import learners
from hypersteal.defenses import Rounding
from hypersteal.result import Status, StealResult

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _regression(seed, n=40, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + 0.3 * rng.normal(size=n)


def _classification(seed, n=50, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] - X[:, 1] + rng.normal(size=n) > 0).astype(int)


@contextlib.contextmanager
def _quiet():
    """Rounded parameters warn that they are not an exact minimum: the verdict is what these tests read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


lams = st.floats(min_value=1e-2, max_value=1e2)
seeds = st.integers(min_value=0, max_value=2**16)


@FAST
@given(seed=seeds, lam=lams, perm_seed=seeds)
def test_row_order_does_not_matter(seed, lam, perm_seed):
    X, y = _classification(seed)
    params = learners.train("logistic_l2", X, y, lam)
    p = np.random.default_rng(perm_seed).permutation(len(y))
    a = hypersteal.steal("logistic_l2", X, y, params)
    b = hypersteal.steal("logistic_l2", X[p], y[p], params)
    assert a.status is b.status is Status.EXACT
    assert b.lam == pytest.approx(a.lam, rel=1e-9)


@FAST
@given(seed=seeds, lam=lams, c=st.floats(min_value=0.05, max_value=20.0))
def test_ridge_scale_equivariance(seed, lam, c):
    """Ridge on (cX) with weights w/c has the same residuals, and its penalty λ'‖w/c‖² equals λ‖w‖² only at
    λ' = c²λ: the stolen λ must scale by c²."""
    X, y = _regression(seed)
    params = learners.train("ridge", X, y, lam)
    scaled = {"coef": params["coef"] / c, "intercept": params["intercept"]}
    r = hypersteal.steal("ridge", c * X, y, scaled)
    assert r.status is Status.EXACT
    assert r.lam == pytest.approx(c * c * lam, rel=1e-7)


@FAST
@given(seed=seeds, lam=lams, decimals=st.integers(min_value=0, max_value=4),
       algorithm=st.sampled_from(["ridge", "lasso", "logistic_l2", "logistic_l1"]))
def test_the_verdict_is_consistent_with_itself(seed, lam, decimals, algorithm):
    """Whatever the input (exact or rounded parameters): a value only with a value-status, inside its own
    interval; NaN natives exactly when there is no value; the status's rule and the fields agree."""
    X, y = _regression(seed) if algorithm in ("ridge", "lasso") else _classification(seed)
    params = Rounding(decimals)(learners.train(algorithm, X, y, lam))
    with _quiet():
        r = hypersteal.steal(algorithm, X, y, params)
    assert r.identifiable == r.status.has_value
    for k, v in r.lambdas.items():
        lo, hi = r.intervals[k]
        if r.status.has_value:
            assert np.isfinite(v) and lo <= v <= hi
        else:
            assert np.isnan(v)
    if r.status is Status.NOT_A_MINIMUM:
        assert all(np.isnan(v) for v in r.lambdas.values())


@FAST
@given(values=st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=1, max_size=20),
       decimals=st.integers(min_value=0, max_value=8))
def test_rounding_is_idempotent(values, decimals):
    params = {"coef": np.array([values]), "intercept": np.array([values[0]])}
    once = Rounding(decimals)(params)
    twice = Rounding(decimals)(once)
    np.testing.assert_array_equal(once["coef"], twice["coef"])
    np.testing.assert_array_equal(once["intercept"], twice["intercept"])


@FAST
@given(seed=seeds, lam=lams, decimals=st.sampled_from([None, 1, 3]),
       algorithm=st.sampled_from(["ridge", "lasso", "logistic_l2", "svm_hinge"]))
def test_results_round_trip_through_json_and_pickle(seed, lam, decimals, algorithm):
    X, y = _regression(seed) if algorithm in ("ridge", "lasso") else _classification(seed)
    params = learners.train(algorithm, X, y, lam)
    if decimals is not None:
        params = Rounding(decimals)(params)
    with _quiet():
        r = hypersteal.steal(algorithm, X, y, params)
    back = StealResult.from_dict(json.loads(json.dumps(r.to_dict())))
    for other in (back, pickle.loads(pickle.dumps(r))):
        assert other.status is r.status and other.algorithm == r.algorithm
        assert other.to_dict() == r.to_dict()


