"""The ``hypersteal steal`` command, run as a real subprocess on real files."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.neural_network import MLPRegressor
from sklearn.svm import SVC

from hypersteal.io import save_params


def run(*args):
    return subprocess.run([sys.executable, "-m", "hypersteal.cli", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 4))
    y = X @ [1.0, 2.0, -1.0, 0.5] + 0.2 * rng.normal(size=80)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(target=y)
    frame.to_csv(d / "train.csv", index=False)
    m = Ridge(alpha=3.0).fit(X, y)
    save_params(d / "ridge.npz", {"coef": m.coef_, "intercept": m.intercept_})
    (d / "ridge.json").write_text(json.dumps({"coef": m.coef_.tolist(), "intercept": float(m.intercept_)}))
    labels = (y > 0).astype(int)
    np.savez(d / "clf.npz", X=X, y=labels)
    svc = SVC(kernel="rbf", gamma=0.3, C=2.0, tol=1e-10).fit(X, labels)
    a = np.zeros(80)
    a[svc.support_] = svc.dual_coef_.ravel()
    save_params(d / "svc.npz", {"dual_coef": a, "intercept": svc.intercept_})
    mlp = MLPRegressor(hidden_layer_sizes=(3,), alpha=0.1, max_iter=50, random_state=0).fit(X, y)
    save_params(d / "mlp.npz", {"coefs": mlp.coefs_, "intercepts": mlp.intercepts_})
    return d


def test_steal_csv_npz_json(files):
    out = run("steal", "--algorithm", "RR", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(files / "ridge.npz"), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["lambdas"]["lambda"] == pytest.approx(3.0, rel=1e-9)
    assert result["identifiable"] is True
    text = run("steal", "-a", "ridge", "--data", str(files / "train.csv"), "--target", "target",
               "--params", str(files / "ridge.json"))
    assert text.returncode == 0 and "lambda" in text.stdout and "Recovered" in text.stdout


def test_steal_kernel_options(files):
    out = run("steal", "-a", "KSVM-RHL", "--data", str(files / "clf.npz"), "--params", str(files / "svc.npz"),
              "--kernel", "rbf", "--gamma", "0.3", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["lambdas"]["lambda"] == pytest.approx(1 / (2 * 2.0), rel=1e-8)


def test_mlp_params_roundtrip(files):
    out = run("steal", "-a", "mlp_regression", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(files / "mlp.npz"), "--json")
    assert out.returncode == 0, out.stderr
    # 50 Adam steps are far from a minimum: the residual must say so
    assert json.loads(out.stdout)["residual"] > 1e-3


def test_cli_errors_are_messages_not_tracebacks(files):
    out = run("steal", "-a", "ridge", "--data", str(files / "train.csv"), "--target", "targte",
              "--params", str(files / "ridge.npz"))
    assert out.returncode == 2
    assert "no column 'targte'. Did you mean 'target'?" in out.stderr
    assert "Traceback" not in out.stderr
    out = run("steal", "-a", "rigde", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(files / "ridge.npz"))
    assert out.returncode == 2 and "Did you mean 'ridge'?" in out.stderr
    bad = files / "bad.json"
    bad.write_text("{not json")
    out = run("steal", "-a", "ridge", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(bad))
    assert out.returncode == 2 and "not valid JSON" in out.stderr


def test_npz_with_objects_is_refused(files):
    """Parameter files are never unpickled."""
    evil = files / "evil.npz"
    np.savez(evil, coef=np.array([{"a": 1}], dtype=object))
    out = run("steal", "-a", "ridge", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(evil))
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_algorithms_listing():
    out = run("algorithms")
    assert out.returncode == 0 and "svm_hinge" in out.stdout and "SVM-RHL" in out.stdout


def test_skops_model_file(files, tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    data = np.load(files / "clf.npz")
    est = LogisticRegression(C=0.8, solver="newton-cg", tol=1e-12).fit(data["X"], data["y"])
    sio.dump(est, tmp_path / "lr.skops")
    out = run("steal", "--model", str(tmp_path / "lr.skops"), "--data", str(files / "clf.npz"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["native"]["C"] == pytest.approx(0.8, rel=1e-6)


def test_skops_untrusted_types_refused_unless_trusted(files, tmp_path):
    import skops.io as sio
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = np.load(files / "clf.npz")["X"], np.load(files / "clf.npz")["y"].astype(float)
    est = make_pipeline(FunctionTransformer(np.sinc), Ridge(alpha=2.0)).fit(X, y)  # a function skops won't trust
    sio.dump(est, tmp_path / "odd.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "odd.skops")
    assert untrusted == ["numpy.sinc"]
    out = run("steal", "--model", str(tmp_path / "odd.skops"), "--data", str(files / "clf.npz"))
    assert out.returncode == 2 and "does not trust: numpy.sinc" in out.stderr and "--trust numpy.sinc" in out.stderr
    out = run("steal", "--model", str(tmp_path / "odd.skops"), "--data", str(files / "clf.npz"), "--json",
              "--trust", "numpy.sinc")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["native"]["alpha"] == pytest.approx(2.0, rel=1e-9)


def test_pickle_refused(files, tmp_path):
    evil = tmp_path / "model.pkl"
    evil.write_bytes(b"not even read")
    out = run("steal", "--model", str(evil), "--data", str(files / "clf.npz"))
    assert out.returncode == 2 and "never unpickles" in out.stderr


def test_steal_through_a_prediction_api(tmp_path):
    """Black box: the CLI extracts the parameters over HTTP from the platform, then steals λ."""
    from sklearn.datasets import load_diabetes

    from hypersteal.mlaas import Client, embedded_platform

    X, y = load_diabetes(return_X_y=True)
    np.savez(tmp_path / "train.npz", X=X, y=y)
    with embedded_platform(workers=1) as (url, key):
        client = Client(url, key)
        dataset = client.upload(X, y)
        model = client.train(dataset["id"], "ridge", protocol="II", lam=3.0, release="predictions")
        out = run("steal", "-a", "ridge", "--data", str(tmp_path / "train.npz"), "--api",
                  f"{url}/v1/models/{model['id']}", "--api-key", key, "--json")
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["lambdas"]["lambda"] == pytest.approx(3.0, rel=1e-6)
        assert result["n_queries"] == X.shape[1] + 1
        bad = run("steal", "-a", "ridge", "--data", str(tmp_path / "train.npz"), "--api",
                  f"{url}/v1/models/{model['id']}", "--api-key", "wrong", "--json")
        assert bad.returncode == 2 and "answered 401" in bad.stderr
