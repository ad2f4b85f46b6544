"""The ``hypersteal steal`` command, run as a real subprocess on real files."""

import json
import os
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


@pytest.mark.slow
def test_skops_model_file(files, tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    data = np.load(files / "clf.npz")
    est = LogisticRegression(C=0.8, solver="newton-cg", tol=1e-12).fit(data["X"], data["y"])
    sio.dump(est, tmp_path / "lr.skops")
    out = run("steal", "--model", str(tmp_path / "lr.skops"), "--data", str(files / "clf.npz"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["native"]["C"] == pytest.approx(0.8, rel=1e-6)


@pytest.mark.slow
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


@pytest.mark.slow
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


# ------------------------------------------------------------------ the command line itself


def test_version_and_python_m():
    import hypersteal

    out = subprocess.run([sys.executable, "-m", "hypersteal", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"hypersteal {hypersteal.__version__}"
    out = subprocess.run([sys.executable, "-m", "hypersteal", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Usage: python -m hypersteal" in out.stdout and "steal" in out.stdout


def test_completion_is_enabled():
    out = run("--help")
    assert "--install-completion" in out.stdout and "--show-completion" in out.stdout
    # typer detects the user's shell; its own switch makes the shell an explicit value (no shell here)
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    code = "from hypersteal.cli import main; main(['--show-completion', 'bash'])"  # as the console script
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "complete -o default -F _hypersteal_completion hypersteal" in out.stdout
    assert "_HYPERSTEAL_COMPLETE=complete_bash" in out.stdout


def test_help_needs_no_numerical_stack():
    """`hypersteal --help` imports neither numpy nor scikit-learn, scipy or pandas (the CPU time is in
    benchmarks/cli_startup.py); the public names still load on first use."""
    code = ("import sys; from hypersteal.cli import main\n"
            "try:\n    main(['steal', '--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'sklearn', 'scipy', 'pandas', 'pydantic', 'rich') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n"
            "import hypersteal; hypersteal.steal; hypersteal.StealResult; hypersteal.datasets.load\n"
            "print('LAZY', 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout and "LAZY True" in out.stdout


def test_lazy_package_keeps_every_public_name():
    import hypersteal

    for name in hypersteal.__all__:
        assert getattr(hypersteal, name) is not None
    assert set(hypersteal.__all__) <= set(dir(hypersteal))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        hypersteal.nonexistent  # noqa: B018


def test_flag_help_is_clean():
    for args in (("--help",), ("steal", "--help"), ("reproduce", "--help"), ("mlaas", "serve", "--help"),
                 ("trt", "--help")):
        out = run(*args)
        assert out.returncode == 0, (args, out.stderr)
        assert "<bool>" not in out.stdout, args
        if args[0] in ("--help", "steal", "reproduce"):  # every value has a named metavar
            assert "<str>" not in out.stdout and "<path>" not in out.stdout, args


def test_steal_help_states_the_params_schema():
    out = run("steal", "--help").stdout
    for word in ("coef", "intercept", "dual_coef", "coefs_0", "intercepts_0", "skops", '"coef": [0.5'):
        assert word in out, word


def test_reproduce_help_lists_every_section_and_the_default_mode():
    from hypersteal.experiments import SECTIONS

    out = run("reproduce", "--help").stdout
    assert "--quick (the default)" in out
    for name in SECTIONS:
        assert f"\n    {name} " in out, name


def test_algorithms_listing_has_no_rst_markup():
    out = run("algorithms").stdout
    assert "``" not in out and ":class:" not in out
    assert "Σ_i (y_i − x_iᵀw − c)² + λ‖w‖²" in out


@pytest.mark.slow
def test_reproduce_only_accepts_the_library_names(tmp_path):
    out = run("reproduce", "--only", "fig99", "--out", str(tmp_path))
    assert out.returncode == 2 and "Unknown section 'fig99'" in out.stderr and "theorem2" in out.stderr
    out = run("reproduce", "--only", "fig6", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["only"] == ["theorem2"] and results["sections"]["theorem2"]["status"] == "ok"
    lines = out.stdout.strip().splitlines()
    bars = max(i for i, line in enumerate(lines) if line.startswith("theorem2") and "━" in line)
    wrote = next(i for i, line in enumerate(lines) if line.startswith("wrote ") and "index.html" in line)
    assert bars < wrote < len(lines) - 1 and lines[-1].startswith("Report:")


@pytest.mark.slow
def test_steal_progress_goes_to_stderr(files):
    out = run("steal", "-a", "ridge", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(files / "ridge.npz"), "--json", "--progress")
    assert out.returncode == 0, out.stderr
    assert "reading train.csv" in out.stderr and "stealing λ (ridge)" in out.stderr and "done in" in out.stderr
    assert json.loads(out.stdout)["lambdas"]["lambda"] == pytest.approx(3.0, rel=1e-9)
    quiet = run("steal", "-a", "ridge", "--data", str(files / "train.csv"), "--target", "target",
                "--params", str(files / "ridge.npz"), "--json")  # not a terminal: no progress by default
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_wrong_algorithm_for_the_parameters_is_pointed_out(files):
    out = run("steal", "-a", "lasso", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(files / "ridge.npz"))
    assert "far from a minimum of lasso's objective" in out.stderr and "--algorithm" in out.stderr
    out = run("steal", "-a", "lasso", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(files / "ridge.npz"), "--json")
    assert json.loads(out.stdout)["status"] in ("not_a_minimum", "interval_only")
    assert json.loads(out.stdout)["lambdas"]["lambda"] is None  # no confident number


# ------------------------------------------------------------------ bad input: one line, the fix, exit 2


def _bad_inputs(d):
    (d / "empty.csv").write_bytes(b"")
    (d / "header.csv").write_text("a,b,target\n")
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "colour": ["red", "green", "red"], "target": [1.0, 2.0, 3.0]}).to_csv(
        d / "strings.csv", index=False)
    (d / "text.npz").write_text("X,y\n1,2\n")
    (d / "folder").mkdir(exist_ok=True)
    long_path = str(d / ("x" * 5000 + ".csv"))
    return {
        "empty CSV": (["--data", str(d / "empty.csv"), "--target", "target"],
                      ["empty.csv' is empty (0 bytes)", "pass the file"]),
        "5000-character path": (["--data", long_path, "--target", "target"],
                                ["characters) cannot be used: file name too long", "shorter path"]),
        "string column": (["--data", str(d / "strings.csv"), "--target", "target"],
                          ["Feature column 'colour' of strings.csv holds text (e.g. 'red')", "encode it"]),
        "header-only CSV": (["--data", str(d / "header.csv"), "--target", "target"],
                            ["header.csv has a header but no data rows"]),
        "text file named .npz": (["--data", str(d / "text.npz")],
                                 ["text.npz is not an .npz archive", "numpy.savez"]),
        "directory": (["--data", str(d / "folder"), "--target", "target"],
                      ["is a directory; pass a file with --data"]),
    }


@pytest.mark.parametrize("case", ["empty CSV", "5000-character path", "string column", "header-only CSV",
                                  "text file named .npz", "directory"])
def test_bad_data_file(files, case):
    args, expected = _bad_inputs(files)[case]
    out = run("steal", "-a", "ridge", *args, "--params", str(files / "ridge.npz"))
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert "allow_pickle" not in out.stderr and "Traceback" not in out.stderr
    assert len(lines[0]) < 400  # the 5000-character path is shortened


def test_text_file_named_npz_as_params(files):
    out = run("steal", "-a", "ridge", "--data", str(files / "train.csv"), "--target", "target",
              "--params", str(_bad_inputs(files) and files / "text.npz"))
    assert out.returncode == 2 and "text.npz is not an .npz archive" in out.stderr
    assert "allow_pickle" not in out.stderr and "pickled" not in out.stderr


def test_unsupported_estimator_in_skops_file_is_named_before_any_trust_advice(files, tmp_path):
    import skops.io as sio
    from sklearn.linear_model import TheilSenRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    data = np.load(files / "clf.npz")
    est = make_pipeline(FunctionTransformer(np.sinc), TheilSenRegressor(random_state=0))
    est.fit(data["X"], data["y"].astype(float))
    sio.dump(est, tmp_path / "theil_sen.skops")
    assert sio.get_untrusted_types(file=tmp_path / "theil_sen.skops")  # skops would ask for --trust first
    out = run("steal", "--model", str(tmp_path / "theil_sen.skops"), "--data", str(files / "clf.npz"))
    assert out.returncode == 2
    line = out.stderr.strip()
    assert "holds a TheilSenRegressor, which hypersteal does not support" in line and "Ridge" in line
    assert "--trust" not in line and len(line.splitlines()) == 1


def test_data_help_says_sparse_npz_files_are_read():
    out = run("steal", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "scipy.sparse.save_npz" in text and "hypersteal.io.save_data(path, X, y)" in text
    assert "X dense or scipy.sparse" in " ".join(run("identify", "--help").stdout.split())


def test_sample_weight_from_a_column_or_a_file(files, tmp_path):
    """A weighted ridge fit: exact with its weights (a column of the CSV, which is then not a feature, or a .npy
    / .csv file), not a minimum without them; bad weights are one-line errors."""
    frame = pd.read_csv(files / "train.csv")
    X, y = frame[["a", "b", "c", "d"]].to_numpy(), frame["target"].to_numpy()
    w = np.random.default_rng(5).uniform(0.2, 3.0, len(y))
    m = Ridge(alpha=3.0).fit(X, y, sample_weight=w)
    save_params(tmp_path / "wridge.npz", {"coef": m.coef_, "intercept": m.intercept_})
    frame.assign(w=w).to_csv(tmp_path / "weighted.csv", index=False)
    np.save(tmp_path / "w.npy", w)
    pd.DataFrame({"weight": w}).to_csv(tmp_path / "w.csv", index=False)
    common = ("steal", "-a", "ridge", "--target", "target", "--params", str(tmp_path / "wridge.npz"), "--json")
    for data, source in [(tmp_path / "weighted.csv", "w"), (files / "train.csv", str(tmp_path / "w.npy")),
                         (files / "train.csv", str(tmp_path / "w.csv"))]:
        out = run(*common, "--data", str(data), "--sample-weight", source)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["lambdas"]["lambda"] == pytest.approx(3.0, rel=1e-9)
    blind = run(*common, "--data", str(files / "train.csv"))
    assert blind.returncode == 0 and json.loads(blind.stdout)["status"] != "exact"
    missing = run(*common, "--data", str(files / "train.csv"), "--sample-weight", "wieght")
    assert missing.returncode == 2 and "no column of that name" in missing.stderr
    assert "Traceback" not in missing.stderr
    short = tmp_path / "short.npy"
    np.save(short, w[:10])
    wrong = run(*common, "--data", str(files / "train.csv"), "--sample-weight", str(short))
    assert wrong.returncode == 2 and "sample_weight has 10 values but X has 80 rows" in wrong.stderr
