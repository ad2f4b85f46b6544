"""scipy.sparse training data: the linear learners take CSR/CSC X as they are (text and one-hot pipelines), and
answer as on the same X dense; the learners that need dense X say so instead of failing inside numpy."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

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


# ------------------------------------------------------------------ sparse data files and the CLI


def _cli(*args):
    """The real command in this process (typer's runner): its exit code and stdout/stderr apart."""
    from typer.testing import CliRunner

    from hypersteal.cli import app

    return CliRunner().invoke(app, list(args))


def test_save_data_round_trip_keeps_x_sparse(tmp_path):
    from hypersteal.io import load_data, save_data

    X, y = _data("classification")
    for fmt in ("csr", "csc", "coo"):
        save_data(tmp_path / f"{fmt}.npz", X.asformat(fmt), y)
        X2, y2 = load_data(tmp_path / f"{fmt}.npz")
        assert sp.issparse(X2) and X2.format == ("csc" if fmt == "csc" else "csr")
        assert (X2 != X).nnz == 0 and np.array_equal(y2, y)
    # scipy's own writer, y added beside its arrays: the same file layout
    sp.save_npz(tmp_path / "scipy.npz", X, compressed=True)
    with np.load(tmp_path / "scipy.npz") as f:
        np.savez(tmp_path / "scipy_y.npz", y=y, **{k: f[k] for k in f.files})
    X3, _ = load_data(tmp_path / "scipy_y.npz")
    assert (X3 != X).nnz == 0


@pytest.mark.parametrize("algorithm,lam", [("ridge", 2.0), ("logistic_l2", 0.5), ("lasso", 0.05)])
def test_cli_steals_from_a_sparse_file_as_from_the_dense_one(tmp_path, algorithm, lam):
    from hypersteal.io import save_data, save_params

    X, y = _data("regression" if algorithm in ("ridge", "lasso") else "classification")
    save_data(tmp_path / "sparse.npz", X, y)
    save_data(tmp_path / "dense.npz", X.toarray(), y)
    save_params(tmp_path / "params.npz", learners.train(algorithm, X.toarray(), y, lam))
    answers = []
    for name in ("sparse.npz", "dense.npz"):
        out = _cli("steal", "-a", algorithm, "--data", str(tmp_path / name), "--params",
                   str(tmp_path / "params.npz"), "--json")
        assert out.exit_code == 0, out.output
        answers.append(json.loads(out.stdout))
    sparse, dense = answers
    assert sparse["status"] == dense["status"] == "exact"
    assert sparse["lambdas"]["lambda"] == pytest.approx(dense["lambdas"]["lambda"], rel=1e-9)
    assert sparse["lambdas"]["lambda"] == pytest.approx(lam, rel=1e-6)


def test_cli_identify_on_a_sparse_file(tmp_path):
    """Linear parameters: identified on the sparse X as it is. Kernel parameters: one line saying what to do."""
    from hypersteal.io import save_data, save_params

    X, y = _data("regression")
    save_data(tmp_path / "sparse.npz", X, y)
    save_params(tmp_path / "params.npz", learners.train("ridge", X.toarray(), y, 1.0))
    out = _cli("identify", "--data", str(tmp_path / "sparse.npz"), "--params", str(tmp_path / "params.npz"))
    assert out.exit_code == 0 and "identified: ridge" in out.stdout, out.output
    save_params(tmp_path / "kernel.npz", learners.train("kernel_ridge", X.toarray(), y, 1.0, kernel="rbf"))
    out = _cli("identify", "--data", str(tmp_path / "sparse.npz"), "--params", str(tmp_path / "kernel.npz"),
               "--kernel", "rbf")
    line = out.stderr.strip()
    assert out.exit_code == 2 and len(line.splitlines()) == 1, out.output
    assert "hypersteal steal -a NAME" in line and "toarray" in line


def _malformed(d: Path) -> dict:
    """File name → (arrays, what the one-line error must say)."""
    X, y = _data("regression", n=20, d=6)
    good = {"data": X.data, "indices": X.indices, "indptr": X.indptr, "shape": np.array(X.shape),
            "format": np.array(b"csr"), "y": y}
    bad_indices = X.indices.copy()
    bad_indices[3] = 6
    falling = X.indptr.copy()
    falling[5] = falling[6] + 1
    return {
        "no_y": ({k: v for k, v in good.items() if k != "y"}, ["no array 'y'", "save_npz stores X alone",
                                                                 "hypersteal.io.save_data"]),
        "index_out_of_bounds": ({**good, "indices": bad_indices}, ["holds index 6, outside X's 6 columns"]),
        "negative_index": ({**good, "indices": -bad_indices - 1}, ["holds index -", "outside X's 6 columns"]),
        "short_indptr": ({**good, "indptr": X.indptr[:-1]}, ["'indptr'", "length 21"]),
        "falling_indptr": ({**good, "indptr": falling}, ["'indptr'", "without decreasing"]),
        "float_indices": ({**good, "indices": X.indices.astype(float)}, ["'indices'", "integer array"]),
        "bsr_format": ({**good, "format": np.array("bsr")}, ["format 'bsr'", "X.tocsr()"]),
        "bad_shape": ({**good, "shape": np.array([20, 6, 1])}, ["'shape'", "two integers"]),
        "zero_rows": ({**good, "shape": np.array([0, 6])}, ["shape (0, 6)"]),
        "string_data": ({**good, "data": X.data.astype(str)}, ["'data'", "numbers"]),
        "y_too_short": ({**good, "y": y[:-1]}, ["'y'", "X has 20 rows"]),
        "missing_indices": ({k: v for k, v in good.items() if k != "indices"}, ["no array 'indices'"]),
    }


@pytest.mark.parametrize("case", list(_malformed(Path("."))))
def test_malformed_sparse_files_get_one_line(tmp_path, case):
    arrays, expected = _malformed(tmp_path)[case]
    np.savez(tmp_path / f"{case}.npz", **arrays)
    np.savez(tmp_path / "params.npz", coef=np.zeros(6), intercept=0.0)
    out = _cli("steal", "-a", "ridge", "--data", str(tmp_path / f"{case}.npz"), "--params",
               str(tmp_path / "params.npz"))
    assert out.exit_code == 2, out.output
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert "Traceback" not in out.output


def test_a_sparse_matrix_pickled_into_an_npz_is_refused_with_the_fix(tmp_path):
    X, y = _data("regression", n=20, d=6)
    np.savez(tmp_path / "pickled.npz", X=np.array(X, dtype=object), y=y)  # what numpy.savez does with a matrix
    np.savez(tmp_path / "params.npz", coef=np.zeros(6))
    out = _cli("steal", "-a", "ridge", "--data", str(tmp_path / "pickled.npz"), "--params",
               str(tmp_path / "params.npz"))
    assert out.exit_code == 2 and "save_data" in out.stderr and "unpickling" in out.stderr


def test_save_data_refuses_what_would_need_pickle(tmp_path):
    from hypersteal.io import save_data

    X, _ = _data("regression", n=4, d=3)
    with pytest.raises(InputError, match="y holds Python objects"):
        save_data(tmp_path / "x.npz", X, np.array([1, "a", None, 2.0], dtype=object))


# ------------------------------------------------------------------ X is never densified


@pytest.mark.parametrize("kind", [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array])
def test_float64_csr_and_csc_are_used_without_a_copy(kind):
    from hypersteal._validation import check_sparse

    X = kind(_data("regression")[0])
    checked = check_sparse(X, "X")
    assert checked.format == X.format and np.shares_memory(checked.data, X.data)
    assert np.shares_memory(checked.indices, X.indices)
    as_int = check_sparse(kind(X.astype(np.int64)), "X")  # another dtype: converted once
    assert as_int.dtype == np.float64 and as_int.format == X.format


def _huge_sparse(n=1_000_000, d=100_000, nnz=1_000_000, seed=11):
    """An n × d CSR matrix whose dense form would need n·d·8 bytes (800 GB at the defaults)."""
    g = np.random.default_rng(seed)
    return sp.csr_matrix((g.random(nnz), (g.integers(0, n, nnz), g.integers(0, d, nnz))), shape=(n, d)), g


def _traced_peak(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_ridge_on_an_x_of_800_gb_dense_runs_in_memory_of_the_order_of_x(fmt):
    X, g = _huge_sparse()
    X = X.asformat(fmt)
    n, d = X.shape
    lam = 5.0
    r = g.normal(size=n)
    w = X.T @ r / lam  # 2Xᵀ(Xw − y) + 2λw = 0 holds exactly for y = Xw + r
    y = X @ w + r
    result, peak = _traced_peak(lambda: hypersteal.steal("ridge", X, y, {"coef": w}))
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert result.status is Status.EXACT and result.lam == pytest.approx(lam, rel=1e-9)
    # X and a few n- and d-vectors (measured: 1.06 × X); a dense X (or any dense n × d array) is 800 GB
    assert peak < x_bytes + 6 * 8 * (n + d), f"peak {peak / 1e6:.0f} MB, X {x_bytes / 1e6:.0f} MB"


def test_steal_from_estimator_on_an_x_of_800_gb_dense_runs_in_memory_of_the_order_of_x():
    """The estimator path (adapters) too: a Ridge holding the exact minimum (written into it: fitting one
    would cost more than the test)."""
    X, g = _huge_sparse()
    n, d = X.shape
    r = g.normal(size=n)
    w = X.T @ r / 4.0
    y = X @ w + r
    est = Ridge(alpha=4.0, fit_intercept=False)
    est.coef_, est.intercept_, est.n_features_in_ = w, 0.0, d
    result, peak = _traced_peak(lambda: hypersteal.steal_from_estimator(est, X, y))
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert result.status is Status.EXACT and result.native["alpha"] == pytest.approx(4.0, rel=1e-9)
    assert peak < x_bytes + 6 * 8 * (n + d), f"peak {peak / 1e6:.0f} MB, X {x_bytes / 1e6:.0f} MB"


@pytest.mark.parametrize("algorithm", ["logistic_l2", "svm_squared_hinge"])
def test_classifiers_on_an_x_of_800_gb_dense_run_in_memory_of_the_order_of_x(algorithm):
    X, g = _huge_sparse()
    n, d = X.shape
    w = g.normal(size=d)
    f = X @ w
    y = (f + g.normal(size=n) > np.median(f)).astype(int)
    result, peak = _traced_peak(lambda: hypersteal.steal(algorithm, X, y, {"coef": w, "intercept": 0.1}))
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert np.isfinite(result.residual)  # not a minimum (w is random): the attack still ran to its verdict
    assert peak < x_bytes + 6 * 8 * (n + d), f"peak {peak / 1e6:.0f} MB, X {x_bytes / 1e6:.0f} MB"
