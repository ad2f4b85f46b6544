"""Dask: the same attack chunk by chunk, on a real LocalCluster and on data larger than a chunk."""

import tracemalloc

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from dask.distributed import Client, LocalCluster

import hypersteal
from hypersteal import InputError
from hypersteal.learners import train


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            yield c


rng = np.random.default_rng(5)
X = rng.normal(size=(400, 6))
y_reg = X @ rng.normal(size=6) + 0.3 * rng.normal(size=400)
y_bin = (X @ rng.normal(size=6) + rng.normal(size=400) > 0).astype(int)
y_multi = np.digitize(X[:, 0] + 0.3 * rng.normal(size=400), [-0.5, 0.5])

CASES = [
    ("ridge", y_reg, {}, {}),
    ("lasso", y_reg, {}, {}),
    ("elastic_net", y_reg, {}, {}),
    ("logistic_l2", y_bin, {}, {}),
    ("logistic_l2", y_multi, {}, {}),
    ("logistic_l1", y_bin, {}, {}),
    ("svm_squared_hinge", y_bin, {}, {}),
    ("svm_squared_hinge", y_bin, {"intercept_scaling": 2.0}, {"intercept_scaling": 2.0}),
    ("mlp_regression", y_reg, {"hidden_layer_sizes": (4,), "activation": "tanh"}, {"activation": "tanh"}),
    ("mlp_classification", y_bin, {"hidden_layer_sizes": (4,), "activation": "tanh"}, {"activation": "tanh"}),
]


@pytest.mark.parametrize("algorithm,y,train_opts,steal_opts", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_dask_matches_numpy_on_local_cluster(client, algorithm, y, train_opts, steal_opts):
    lam = (0.7, 0.3) if algorithm == "elastic_net" else 0.7
    params = train(algorithm, X, y, lam, **train_opts)
    eager = hypersteal.steal(algorithm, X, y, params, **steal_opts)
    Xd = da.from_array(X, chunks=(64, 3))  # ragged row chunks, split columns: rechunked inside
    yd = da.from_array(y, chunks=50)
    lazy = hypersteal.steal(algorithm, Xd, yd, params, **steal_opts)
    for k, v in eager.estimate.items():
        assert lazy.estimate[k] == pytest.approx(v, rel=1e-10)
    assert lazy.identifiable == eager.identifiable
    assert lazy.residual == pytest.approx(eager.residual, rel=1e-6, abs=1e-14)
    assert client.scheduler_info()["workers"]  # the work ran on the cluster's workers


def test_dask_dataframe_input(client):
    import dask.dataframe as dd
    import pandas as pd

    params = train("ridge", X, y_reg, 2.0)
    frame = dd.from_pandas(pd.DataFrame(X), npartitions=4)
    r = hypersteal.steal("ridge", frame, dd.from_pandas(pd.Series(y_reg), npartitions=4), params)
    assert r.lam == pytest.approx(2.0, rel=1e-9)


def test_memory_stays_bounded_on_data_many_chunks_large():
    """2·10⁶ × 8 rows (128 MB) in 1/32-size chunks, never materialised: peak memory is a few chunks."""
    n, d, chunk = 2_000_000, 8, 62_500
    w_true = np.arange(1.0, d + 1)
    Xd = da.random.RandomState(0).normal(size=(n, d), chunks=(chunk, d))
    yd = Xd @ w_true + da.random.RandomState(1).normal(size=n, chunks=chunk)
    lam = 1e4
    with dask.config.set(scheduler="threads", num_workers=2):
        # fit ridge (no intercept) lazily by its normal equations, then steal
        G, c = dask.compute(Xd.T @ Xd, Xd.T @ yd)
        w = np.linalg.solve(G + lam * np.eye(d), c)
        tracemalloc.start()
        r = hypersteal.steal("ridge", Xd, yd, {"coef": w})
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    chunk_bytes = chunk * d * 8
    assert r.lam == pytest.approx(lam, rel=1e-6)
    assert peak < 8 * chunk_bytes, f"peak {peak / 1e6:.1f} MB vs chunk {chunk_bytes / 1e6:.1f} MB"
    assert peak < n * d * 8 / 4


def test_kernel_and_hinge_refuse_dask_with_reasons():
    Xd = da.from_array(X, chunks=100)
    with pytest.raises(InputError, match="n×n Gram matrix.*Nystroem"):
        hypersteal.steal("kernel_ridge", Xd, y_reg, {"dual_coef": np.zeros(400)})
    with pytest.raises(InputError, match="margin points needs every row's margin"):
        hypersteal.steal("svm_hinge", Xd, y_bin, {"coef": np.zeros(6)})


def test_dask_nan_is_reported():
    Xn = X.copy()
    Xn[10, 2] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        hypersteal.steal("ridge", da.from_array(Xn, chunks=100), y_reg, {"coef": np.ones(6)})


def test_cli_reads_parquet_lazily(tmp_path):
    import json
    import subprocess
    import sys

    import pandas as pd

    from hypersteal.io import save_params

    params = train("ridge", X, y_reg, 3.0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]).assign(target=y_reg)
    (tmp_path / "big").mkdir()
    for i in range(4):
        frame.iloc[i * 100:(i + 1) * 100].to_parquet(tmp_path / "big" / f"part-{i}.parquet")
    save_params(tmp_path / "ridge.npz", params)
    out = subprocess.run([sys.executable, "-m", "hypersteal.cli", "steal", "-a", "ridge", "--data",
                          str(tmp_path / "big" / "*.parquet"), "--target", "target", "--params",
                          str(tmp_path / "ridge.npz"), "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["lambdas"]["lambda"] == pytest.approx(3.0, rel=1e-9)


# ------------------------------------------------------------------ scipy.sparse chunks (linear learners)

Xs = sp.random(400, 12, density=0.3, random_state=4, format="csr")
ys_reg = Xs @ rng.normal(size=12) + 0.1 * rng.normal(size=400)
ys_bin = (ys_reg > np.median(ys_reg)).astype(int)
ys_multi = np.digitize(ys_reg, np.quantile(ys_reg, [1 / 3, 2 / 3]))
SPARSE_CASES = [("ridge", ys_reg, {}), ("lasso", ys_reg, {}), ("elastic_net", ys_reg, {}),
                ("logistic_l2", ys_bin, {}), ("logistic_l2", ys_multi, {}), ("logistic_l1", ys_bin, {}),
                ("svm_squared_hinge", ys_bin, {"intercept_scaling": 2.0})]


@pytest.mark.parametrize("algorithm,y,opts", SPARSE_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(SPARSE_CASES)])
def test_sparse_chunks_match_the_eager_sparse_attack(client, algorithm, y, opts):
    lam = (0.05, 0.3) if algorithm == "elastic_net" else 0.05 if algorithm == "lasso" else 0.7
    params = train(algorithm, Xs.toarray(), y, lam, **opts)
    eager = hypersteal.steal(algorithm, Xs, y, params, **opts)
    Xd = da.from_array(Xs, chunks=(64, 5), asarray=False)  # csr chunks, columns split: rechunked inside
    assert Xd.blocks[0, 0].compute().format == "csr"
    lazy = hypersteal.steal(algorithm, Xd, da.from_array(y, chunks=50), params, **opts)
    assert lazy.status is eager.status
    for k, v in eager.estimate.items():
        assert lazy.estimate[k] == pytest.approx(v, rel=1e-10)
    assert lazy.residual == pytest.approx(eager.residual, rel=1e-6, abs=1e-14)


def test_sparse_chunks_are_never_densified():
    """2·10⁵ × 10⁵ in two chunks: one chunk dense would be 80 GB; the attack's peak stays near X's own bytes."""
    n, d, nnz, lam = 200_000, 100_000, 400_000, 3.0
    g = np.random.default_rng(7)
    X = sp.csr_matrix((g.random(nnz), (g.integers(0, n, nnz), g.integers(0, d, nnz))), shape=(n, d))
    r = g.normal(size=n)
    w = X.T @ r / lam  # ridge's stationarity 2Xᵀ(Xw − y) + 2λw = 0 holds exactly for y = Xw + r
    y = X @ w + r
    Xd = da.from_array(X, chunks=(n // 2, -1), asarray=False)
    with dask.config.set(scheduler="threads", num_workers=2):
        tracemalloc.start()
        result = hypersteal.steal("ridge", Xd, da.from_array(y, chunks=n // 2), {"coef": w})
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert result.lam == pytest.approx(lam, rel=1e-9)
    assert peak < 4 * (x_bytes + 8 * (n + d)), f"peak {peak / 1e6:.1f} MB vs X {x_bytes / 1e6:.1f} MB"


def test_learners_that_need_dense_chunks_say_so():
    Xd = da.from_array(Xs, chunks=(100, -1), asarray=False)
    params = {"coefs": [np.zeros((12, 3)), np.zeros((3, 1))], "intercepts": [np.zeros(3), np.zeros(1)]}
    with pytest.raises(InputError, match=r"mlp_regression takes dense Dask chunks.*map_blocks"):
        hypersteal.steal("mlp_regression", Xd, ys_reg, params)


def test_nan_in_a_sparse_chunk_is_reported():
    Xn = Xs.copy()
    Xn.data[5] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        hypersteal.steal("ridge", da.from_array(Xn, chunks=(100, -1), asarray=False), ys_reg,
                         {"coef": np.ones(12)})
