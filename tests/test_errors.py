"""Bad input gets a clear error that names the problem and the fix."""

import numpy as np
import pytest

import hypersteal
from hypersteal import InputError

rng = np.random.default_rng(0)
X = rng.normal(size=(30, 3))
y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=30)
labels = (X[:, 0] > 0).astype(int)
P = {"coef": np.array([1.0, -2.0, 0.5]), "intercept": 0.0}


def test_unknown_algorithm_suggests_and_lists():
    with pytest.raises(InputError, match=r"Unknown algorithm 'rige'\. Did you mean 'ridge'\?.*kernel_ridge \(KRR\)"):
        hypersteal.steal("rige", X, y, P)


@pytest.mark.parametrize("name", ["RR", "rr", "Ridge", "SVM-RHL", "svm_rhl", "l2-lr", "KSVM-SHL", "L1-KLR"])
def test_paper_names_case_insensitive(name):
    assert hypersteal.canonical_name(name) in hypersteal.ALGORITHMS


def test_algorithm_must_be_string():
    with pytest.raises(TypeError, match="algorithm must be a string"):
        hypersteal.steal(3, X, y, P)


def test_params_must_be_mapping():
    with pytest.raises(TypeError, match="params must be a mapping.*steal_from_estimator"):
        hypersteal.steal("ridge", X, y, [1, 2, 3])


def test_nan_in_X():
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(InputError, match=r"X contains 1 NaN or infinite value\(s\); impute or drop"):
        hypersteal.steal("ridge", Xn, y, P)


def test_inf_in_params():
    with pytest.raises(InputError, match=r"params\['coef'\] contains 1 NaN or infinite"):
        hypersteal.steal("ridge", X, y, {"coef": [1.0, np.inf, 0.0]})


def test_X_one_dimensional():
    with pytest.raises(InputError, match=r"X must be 2-D.*reshape\(-1, 1\)"):
        hypersteal.steal("ridge", X[:, 0], y, {"coef": [1.0]})


def test_rows_mismatch():
    with pytest.raises(InputError, match="X has 30 rows but y has 29"):
        hypersteal.steal("ridge", X, y[:-1], P)


def test_coef_width_mismatch():
    with pytest.raises(InputError, match="params\\['coef'\\] has 2 feature weights but X has 3 columns"):
        hypersteal.steal("ridge", X, y, {"coef": [1.0, 2.0]})


def test_missing_coef():
    with pytest.raises(InputError, match=r"ridge needs params\['coef'\].*got keys \['weights'\]"):
        hypersteal.steal("ridge", X, y, {"weights": [1.0, 2.0, 3.0]})


def test_intercept_count():
    with pytest.raises(InputError, match="one intercept per row of coef"):
        hypersteal.steal("ridge", X, y, {"coef": [1.0, 2.0, 3.0], "intercept": [0.0, 1.0]})


def test_binary_learner_with_one_class():
    with pytest.raises(InputError, match="single class"):
        hypersteal.steal("logistic_l2", X, np.ones(30), P)


def test_binary_kernel_learner_with_three_classes():
    y3 = np.arange(30) % 3
    with pytest.raises(InputError, match="is binary but y has 3 classes"):
        hypersteal.steal("kernel_svm_hinge", X, y3, {"dual_coef": np.zeros(30)})


def test_multiclass_needs_one_row_per_class():
    y3 = np.arange(30) % 3
    with pytest.raises(InputError, match="has 1 row\\(s\\) but y has 3 classes"):
        hypersteal.steal("logistic_l2", X, y3, P)


def test_any_two_labels_are_accepted():
    words = np.where(labels == 1, "spam", "ham")
    a = hypersteal.steal("logistic_l2", X, words, P)
    b = hypersteal.steal("logistic_l2", X, labels, P)
    assert a.estimate == b.estimate


def test_unknown_option_suggests():
    with pytest.raises(TypeError, match=r"unknown option 'gama'\. Did you mean 'gamma'\?"):
        hypersteal.steal("kernel_ridge", X, y, {"dual_coef": np.zeros(30)}, gama=0.1)


def test_unknown_kernel():
    with pytest.raises(InputError, match="Unknown kernel 'rfb'. Did you mean 'rbf'"):
        hypersteal.steal("kernel_ridge", X, y, {"dual_coef": np.zeros(30)}, kernel="rfb")


def test_callable_kernel_refused():
    with pytest.raises(TypeError, match="kernel='precomputed'"):
        hypersteal.steal("kernel_ridge", X, y, {"dual_coef": np.zeros(30)}, kernel=lambda a, b: a @ b.T)


def test_dual_coef_length():
    with pytest.raises(InputError, match="has 5 entries but there are 30 training points.*support_"):
        hypersteal.steal("kernel_ridge", X, y, {"dual_coef": np.zeros(5)})


def test_precomputed_gram_must_be_square():
    with pytest.raises(InputError, match="square Gram matrix"):
        hypersteal.steal("kernel_ridge", X, y, {"dual_coef": np.zeros(30)}, kernel="precomputed")


def test_mlp_layers_do_not_chain():
    params = {"coefs": [np.ones((3, 4)), np.ones((5, 1))], "intercepts": [np.zeros(4), np.zeros(1)]}
    with pytest.raises(InputError, match="layers do not chain"):
        hypersteal.steal("mlp_regression", X, y, params)


def test_mlp_unknown_activation():
    params = {"coefs": [np.ones((3, 4)), np.ones((4, 1))], "intercepts": [np.zeros(4), np.zeros(1)]}
    with pytest.raises(InputError, match="Unknown activation 'tanhh'. Did you mean 'tanh'"):
        hypersteal.steal("mlp_regression", X, y, params, activation="tanhh")


def test_string_features_refused():
    with pytest.raises(TypeError, match="encode categorical columns"):
        hypersteal.steal("ridge", np.array([["a", "b", "c"]] * 30), y, P)


def test_bad_identifiable_rtol():
    with pytest.raises(InputError, match="identifiable_rtol must be a finite number > 0"):
        hypersteal.steal("ridge", X, y, P, identifiable_rtol=-1)


def test_not_a_minimum_is_flagged():
    """Parameters that are no minimum of the objective: a warning and a large residual, not silence."""
    r = hypersteal.steal("ridge", X, y, {"coef": [5.0, 5.0, 5.0]})
    assert r.residual > 0.1
    assert any("not an exact minimum" in w or "negative" in w for w in r.warnings)
