"""hypersteal.defenses: rounding and noise applied to released parameters."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from hypersteal._validation import InputError
from hypersteal.defenses import Compose, GaussianNoise, Rounding


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "coef": rng.normal(size=7),
        "intercept": float(rng.normal()),
        "dual_coef": rng.normal(size=(1, 5)),
        "coefs": [rng.normal(size=(3, 4)), rng.normal(size=(4, 1))],
        "intercepts": [rng.normal(size=4), rng.normal(size=1)],
    }


def _assert_same(a, b):
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- rounding


@pytest.mark.parametrize("decimals", [0, 1, 2, 3, 5])
def test_rounding_matches_np_round(decimals):
    params = _params()
    out = Rounding(decimals)(params)
    assert list(out) == list(params)
    np.testing.assert_array_equal(out["coef"], np.round(params["coef"], decimals))
    np.testing.assert_array_equal(out["dual_coef"], np.round(params["dual_coef"], decimals))
    assert out["intercept"] == np.round(params["intercept"], decimals) and isinstance(out["intercept"], float)
    for got, raw in zip(out["coefs"] + out["intercepts"], params["coefs"] + params["intercepts"]):
        assert got.shape == raw.shape
        np.testing.assert_array_equal(got, np.round(raw, decimals))


def test_rounding_handles_lists_ints_and_passes_non_numbers_through():
    params = {
        "coef": [0.123456, 2, np.float32(1.5)],
        "intercept": (0.55, 1.449),
        "kernel": "rbf",
        "gamma": None,
        "fit_intercept": True,
        "mask": np.array([True, False]),
        "n": np.int64(3),
    }
    out = Rounding(1)(params)
    assert out["coef"] == [0.1, 2.0, 1.5] and out["intercept"] == (0.6, 1.4)
    assert out["kernel"] == "rbf" and out["gamma"] is None and out["fit_intercept"] is True
    np.testing.assert_array_equal(out["mask"], [True, False])
    assert out["n"] == 3.0
    np.testing.assert_array_equal(Rounding(2)(np.array([1.234, 5.678])), [1.23, 5.68])


# ---------------------------------------------------------------------------- noise


def test_absolute_noise_has_the_right_std_over_seeds():
    scale, base = 0.05, np.linspace(-3, 3, 2000)
    draws = np.concatenate(
        [GaussianNoise(scale, random_state=seed)({"coef": base})["coef"] - base for seed in range(10)]
    )
    n = draws.size  # 20000
    assert abs(draws.mean()) < 5 * scale / np.sqrt(n)
    # the sample std's relative standard error is about 1/sqrt(2n); allow 5 of them
    assert abs(draws.std() / scale - 1) < 5 / np.sqrt(2 * n)


def test_relative_noise_scales_with_each_arrays_rms():
    small, large = np.full(5000, 0.01), np.full(5000, -100.0)
    noise = GaussianNoise(0.1, relative=True, random_state=0)
    out = noise({"coefs": [small, large], "intercept": 0.0})
    n = small.size
    assert abs((out["coefs"][0] - small).std() / (0.1 * 0.01) - 1) < 5 / np.sqrt(2 * n)
    assert abs((out["coefs"][1] - large).std() / (0.1 * 100.0) - 1) < 5 / np.sqrt(2 * n)
    assert out["intercept"] == 0.0  # zero RMS: nothing added


def test_noise_seeding():
    params = _params()
    fixed = GaussianNoise(0.1, random_state=7)
    _assert_same(fixed(params), fixed(params))  # an int seed: the same release every time
    assert not np.array_equal(fixed(params)["coef"], GaussianNoise(0.1, random_state=8)(params)["coef"])
    gen = GaussianNoise(0.1, random_state=np.random.default_rng(0))
    assert not np.array_equal(gen(params)["coef"], gen(params)["coef"])  # a Generator advances
    fresh = GaussianNoise(0.1)
    assert not np.array_equal(fresh(params)["coef"], fresh(params)["coef"])
    assert np.array_equal(GaussianNoise(0.0, random_state=1)(params)["coef"], params["coef"])


# ---------------------------------------------------------------------------- composition


def test_compose_and_pipe_agree_and_flatten():
    params = _params()
    a = Compose([Rounding(3), GaussianNoise(1e-4, random_state=0)])
    b = Rounding(3) | GaussianNoise(1e-4, random_state=0)
    _assert_same(a(params), b(params))
    manual = GaussianNoise(1e-4, random_state=0)(Rounding(3)(params))
    _assert_same(a(params), manual)
    c = b | Rounding(2)
    assert len(c) == 3 and isinstance(c.steps[0], Rounding)
    # rounding last: the release has at most 2 decimals
    out = c(params)["coef"]
    np.testing.assert_array_equal(out, np.round(out, 2))
    assert repr(c) == (
        "Compose([Rounding(decimals=3), GaussianNoise(scale=0.0001, relative=False, random_state=0), "
        "Rounding(decimals=2)])"
    )


def test_order_matters_and_empty_compose_is_identity():
    params = {"coef": np.array([0.123456789, -1.987654321])}
    round_then_noise = (Rounding(2) | GaussianNoise(1e-3, random_state=0))(params)["coef"]
    noise_then_round = (GaussianNoise(1e-3, random_state=0) | Rounding(2))(params)["coef"]
    assert not np.array_equal(round_then_noise, noise_then_round)
    same = Compose([])(params)
    np.testing.assert_array_equal(same["coef"], params["coef"])
    assert same["coef"] is not params["coef"]
    assert (lambda p: p) | Rounding(1) is not None  # plain callables compose too


def test_inputs_are_not_mutated():
    params = _params()
    before = copy.deepcopy(params)
    for defence in (Rounding(1), GaussianNoise(0.5, random_state=0), Rounding(0) | GaussianNoise(1.0)):
        out = defence(params)
        _assert_same(params, before)
        assert out is not params and out["coefs"] is not params["coefs"]
        for got, raw in zip(out["coefs"], params["coefs"]):
            assert not np.shares_memory(got, raw)


# ---------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: Rounding(-1), InputError, "Rounding decimals must be >= 0"),
        (lambda: Rounding(2.5), TypeError, "Rounding decimals must be a whole number"),
        (lambda: Rounding(True), TypeError, "Rounding decimals must be a whole number"),
        (
            lambda: GaussianNoise(-0.1),
            InputError,
            "GaussianNoise scale must be a finite number >= 0, got -0.1",
        ),
        (lambda: GaussianNoise(float("nan")), InputError, "GaussianNoise scale must be a finite number"),
        (lambda: GaussianNoise("0.1"), TypeError, "GaussianNoise scale must be a number"),
        (lambda: GaussianNoise(0.1, relative="yes"), TypeError, "relative must be True or False"),
        (lambda: GaussianNoise(0.1, random_state="seed"), TypeError, "random_state must be"),
        (lambda: Compose([Rounding(1), 3]), TypeError, "Compose step 1 must be a defence"),
        (lambda: Compose(Rounding(1)), TypeError, "Compose expects a list of defences"),
        (lambda: Rounding(1) | 3, TypeError, "Compose step 1 must be a defence"),
    ],
)
def test_bad_arguments_raise_clear_messages(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_parameters_raise_clear_messages():
    with pytest.raises(TypeError, match="expects a parameter mapping"):
        Rounding(1)("coef")
    with pytest.raises(TypeError, match=r"params\['coef'\] holds complex numbers"):
        Rounding(1)({"coef": np.array([1 + 2j])})
    with pytest.raises(TypeError, match=r"params\['coefs'\]\[1\] must hold numbers"):
        Rounding(1)({"coefs": [np.ones(2), np.array(["a", "b"])]})


def test_reprs_are_readable():
    assert repr(Rounding(3)) == "Rounding(decimals=3)"
    assert (
        repr(GaussianNoise(0.01, relative=True))
        == "GaussianNoise(scale=0.01, relative=True, random_state=None)"
    )
    assert Rounding(3) == Rounding(3) and Rounding(3) != Rounding(2)
