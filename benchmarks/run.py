"""hypersteal benchmarks: one command, a table on stdout, every number in JSON.

    python benchmarks/run.py                 # quick: 10⁶×100 synthetic, 10⁷-row out-of-core set
    python benchmarks/run.py --full          # the issue's sizes: 10⁸ × 10 rows out of core (8.3 GB on disk)
    python benchmarks/run.py --only out_of_core --rows 100000000 --chunk 1000000 --workers 2
    python benchmarks/run.py --only speed    # sections: speed, out_of_core, extraction
    python benchmarks/run.py --only speed --datasets madelon bank --algorithms svm_hinge   # a subset
    python benchmarks/run.py --only extraction   # ReLU MLPs d ∈ {10, 50, 64, 100}; --full adds 100×128, 784×20
    python benchmarks/run.py --only sparse   # 10⁵ × 10⁵ scipy.sparse X, density 10⁻³ (benchmarks/sparse_text.py)
    python benchmarks/run.py --only multiclass   # one-vs-one SVC, one-vs-rest LinearSVC on digits (multiclass.py)

Out of core: ridge and logistic regression over rows × 10 float64 features kept as one .npy file per
chunk, written chunk by chunk (never all in memory) to a temporary directory (``$HYPERSTEAL_BENCH_DIR``
to choose where) and deleted afterwards; writing and fitting are timed apart from the attacks, each
attack runs in its own process so that its peak RSS is its own.

Speed is reported as ratios measured in one run (the machine is shared and noisy): the attack's
time over the time of one plain numpy pass ``Xᵀ(Xw − y)`` on the same data, medians of repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

LINEAR = ["ridge", "lasso", "elastic_net", "logistic_l2", "logistic_l1", "svm_squared_hinge", "svm_hinge"]


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _cached_hinge_fit(X, y, lam):
    """The hinge SVM's exact fit on every row, kept on disk between runs (10⁶ × 100 rows take over 13 minutes
    to fit on two cores): an .npz file named by a digest of X, y and λ, in ``$HYPERSTEAL_BENCH_CACHE`` (default
    ``~/.cache/hypersteal-bench``). The attack still runs on every row against that exact optimum."""
    import hashlib

    from hypersteal.learners import train

    digest = hashlib.sha256(np.ascontiguousarray(X).view(np.uint8))
    digest.update(np.ascontiguousarray(y, dtype=float).view(np.uint8))
    digest.update(repr((X.shape, lam)).encode())
    folder = Path(os.environ.get("HYPERSTEAL_BENCH_CACHE", Path.home() / ".cache" / "hypersteal-bench"))
    path = folder / f"svm_hinge-{digest.hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as f:
            return {"coef": f["coef"], "intercept": f["intercept"]}
    params = train("svm_hinge", X, y, lam)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(path, coef=params["coef"], intercept=params["intercept"])
    return params


def _params_for(algorithm, X, y, rng):
    """A model to attack: fitted on a sample (the attack's cost does not depend on how good it is), except the
    hinge SVM, fitted on every row: its cost follows its margin set, which only a minimum of the attacked data
    has (from a sample, the attack meets a non-minimum and its interval LP, which is not what users attack)."""
    from hypersteal.learners import train

    if algorithm == "svm_hinge":
        return _cached_hinge_fit(X, y, 1.0), {}
    idx = rng.choice(len(X), size=min(len(X), 1500), replace=False)
    if algorithm.startswith("mlp"):  # a few scikit-learn iterations: the attack's cost is the same
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        cls = MLPRegressor if algorithm == "mlp_regression" else MLPClassifier
        m = cls(hidden_layer_sizes=(8,), activation="tanh", max_iter=50, random_state=0).fit(X[idx], y[idx])
        return {"coefs": m.coefs_, "intercepts": m.intercepts_}, {"activation": "tanh"}
    lam = (1.0, 1.0) if algorithm == "elastic_net" else 1.0
    return train(algorithm, X[idx], y[idx], lam), {}


SPEED_SETS = ("ujiindoorloc", "bank", "madelon", "synthetic-1e6x100")


def speed(quick: bool, repeats: int, datasets=None, algorithms=None):
    """Attack time ÷ one numpy pass, per dataset and learner (``datasets``, ``algorithms``: a subset)."""
    import hypersteal
    from hypersteal.datasets import load

    rng = np.random.default_rng(0)
    sets = {}
    for name in ("ujiindoorloc", "bank", "madelon"):
        if not datasets or name in datasets:
            ds = load(name)
            sets[name] = (ds.X, ds.y, ds.task)
    n = 1_000_000
    Xs = rng.normal(size=(n, 100))  # drawn whether or not it is measured: the other sets' draws stay the same
    ys = Xs @ rng.normal(size=100) + rng.normal(size=n)
    if not datasets or "synthetic-1e6x100" in datasets:
        sets["synthetic-1e6x100"] = (Xs, ys, "both")
    rows = []
    for name, (X, y, task) in sets.items():
        X = np.ascontiguousarray(X, dtype=float)
        w = rng.normal(size=X.shape[1])
        yr = y if task != "classification" else y.astype(float)
        base = median_time(lambda X=X, w=w, yr=yr: X.T @ (X @ w - yr), repeats)
        algos = []
        if task in ("regression", "both"):
            algos += ["ridge", "lasso", "elastic_net", "mlp_regression"]
        if task in ("classification", "both"):
            algos += ["logistic_l2", "logistic_l1", "svm_squared_hinge", "svm_hinge", "mlp_classification"]
        y_clf = (ys > np.median(ys)).astype(int) if task == "both" else y
        for algorithm in (a for a in algos if not algorithms or a in algorithms):
            target = y_clf if algorithm in ("logistic_l2", "logistic_l1", "svm_squared_hinge", "svm_hinge",
                                            "mlp_classification") else y
            params, opts = _params_for(algorithm, X, target, rng)
            t = median_time(lambda X=X, a=algorithm, t_=target, p=params, o=opts: hypersteal.steal(a, X, t_, p, **o),
                            repeats)
            rows.append({"dataset": name, "n": X.shape[0], "d": X.shape[1], "algorithm": algorithm,
                         "numpy_pass_s": base, "attack_s": t, "ratio": t / base})
            print(f"  {name:<18} {algorithm:<20} attack {t:8.3f}s  numpy pass {base:7.3f}s  ratio {t / base:6.2f}",
                  flush=True)
    return rows


OOC_D = 10
OOC_LAM = {"ridge": 1e5, "logistic_l2": 1e3}


def _chunk_files(path: str, name: str, n_chunks: int) -> list[str]:
    return [os.path.join(path, f"{name}-{i:05d}.npy") for i in range(n_chunks)]


def _lazy_stack(files: list[str], rows_per_chunk: list[int], tail: tuple, dtype):
    """One Dask array over .npy chunk files, each read whole (measured faster than memory-mapping them)."""
    import dask
    import dask.array as da

    parts = [da.from_delayed(dask.delayed(np.load)(f), shape=(m,) + tail, dtype=dtype)
             for f, m in zip(files, rows_per_chunk, strict=True)]
    return da.concatenate(parts, axis=0)


def _chunk_rows(rows: int, chunk: int) -> list[int]:
    return [min(chunk, rows - i) for i in range(0, rows, chunk)]


def _write_chunks(path: str, rows: int, chunk: int, workers: int) -> dict:
    """rows × 10 float64 features, a regression target and 0/1 labels, written chunk by chunk.

    Every chunk comes from its own seed, so the data never exists in memory as a whole; the ridge
    normal equations are accumulated on the way.
    """
    from concurrent.futures import ThreadPoolExecutor

    from scipy.special import expit

    d = OOC_D
    w_reg = np.arange(1.0, d + 1)
    w_clf = np.linspace(-1.0, 1.0, d)
    sizes = _chunk_rows(rows, chunk)
    fx, fr, fc = (_chunk_files(path, n, len(sizes)) for n in ("X", "y_reg", "y_clf"))

    def one(i):
        rng = np.random.default_rng([7, i])
        X = rng.standard_normal((sizes[i], d))
        y = X @ w_reg + rng.standard_normal(sizes[i])
        labels = (rng.random(sizes[i]) < expit(X @ w_clf)).astype(np.int8)
        np.save(fx[i], X)
        np.save(fr[i], y)
        np.save(fc[i], labels)
        return X.T @ X, X.T @ y

    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(one, range(len(sizes))))
    G = sum(p[0] for p in parts)
    c = sum(p[1] for p in parts)
    return {"sizes": sizes, "X": fx, "y_reg": fr, "y_clf": fc, "G": G, "c": c}


def _fit_logistic_out_of_core(files: dict, lam: float, workers: int) -> np.ndarray:
    """Newton's method for Σ CE(y, σ(Xw)) + λ‖w‖², each step one pass over the chunk files."""
    from concurrent.futures import ThreadPoolExecutor

    from scipy.special import expit

    d = OOC_D

    def grad_hess(w, i):
        X = np.load(files["X"][i], mmap_mode="r")
        y = np.load(files["y_clf"][i]).astype(float)
        p = expit(X @ w)
        return X.T @ (p - y), (X * (p * (1.0 - p))[:, None]).T @ X

    # start from the fit on the first chunk, scaled to the full data: two or three full passes remain
    w = np.zeros(d)
    n0, n = files["sizes"][0], sum(files["sizes"])
    for _ in range(30):
        g, H = grad_hess(w, 0)
        step = np.linalg.solve(H + 2.0 * lam * n0 / n * np.eye(d), g + 2.0 * lam * n0 / n * w)
        w = w - step
        if np.linalg.norm(step) <= 1e-12 * np.linalg.norm(w):
            break
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(20):
            parts = list(pool.map(lambda i, w=w: grad_hess(w, i), range(len(files["sizes"]))))
            g = sum(p[0] for p in parts) + 2.0 * lam * w
            H = sum(p[1] for p in parts) + 2.0 * lam * np.eye(d)
            step = np.linalg.solve(H, g)
            w = w - step
            if np.linalg.norm(step) <= 1e-15 * np.linalg.norm(w):
                break
    return w


def _peak_rss() -> int:
    """This process's peak resident memory in bytes.

    Linux's VmHWM belongs to the process's own address space; ``ru_maxrss`` of a child started by
    fork and exec also counts the parent's memory at the fork (a benchmark holding 1 GB of data
    made every child report 1.6 GiB).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _out_of_core_child(path: str, algorithm: str, workers: int):
    """Runs in a fresh process so that its peak memory (ru_maxrss) is the attack's own."""
    import dask

    import hypersteal

    meta = json.loads(Path(path, "meta.json").read_text())
    sizes = meta["sizes"]
    target = "y_reg" if algorithm == "ridge" else "y_clf"
    X = _lazy_stack(_chunk_files(path, "X", len(sizes)), sizes, (OOC_D,), np.float64)
    y = _lazy_stack(_chunk_files(path, target, len(sizes)), sizes, (), np.float64 if algorithm == "ridge"
                    else np.int8)
    w = np.asarray(meta["w"][algorithm])
    lam = OOC_LAM[algorithm]
    rows = sum(sizes)
    with dask.config.set(scheduler="threads", num_workers=workers):
        t = time.perf_counter()
        r = hypersteal.steal(algorithm, X, y, {"coef": w})
        elapsed = time.perf_counter() - t
    peak = _peak_rss()
    # in-memory references on one chunk: a plain numpy pass, and the same attack on numpy arrays
    Xs, ys = np.load(_chunk_files(path, "X", 1)[0]), np.load(_chunk_files(path, target, 1)[0])
    yf = ys.astype(float)
    base = median_time(lambda: Xs.T @ (Xs @ w - yf), 5)
    eager = median_time(lambda: hypersteal.steal(algorithm, Xs, ys, {"coef": w}), 3)
    print(json.dumps({"algorithm": algorithm, "rows": rows, "chunk_rows": sizes[0], "lam_true": lam, "lam": r.lam,
                      "rel_error": abs(r.lam - lam) / lam, "seconds": elapsed, "rows_per_s": rows / elapsed,
                      "numpy_rows_per_s": len(Xs) / base, "in_memory_attack_rows_per_s": len(Xs) / eager,
                      "peak_rss_bytes": peak}))


def out_of_core(rows: int, chunk: int, workers: int):
    """Ridge and logistic λ over rows × 10 float64 stored as chunked .npy files; rows/s and peak memory.

    The files go to a temporary directory (``$HYPERSTEAL_BENCH_DIR`` or the system's), are written
    chunk by chunk and deleted afterwards; writing and fitting are timed apart from the attack.
    """
    with tempfile.TemporaryDirectory(prefix="hypersteal-ooc-", dir=os.environ.get("HYPERSTEAL_BENCH_DIR")) as tmp:
        t = time.perf_counter()
        files = _write_chunks(tmp, rows, chunk, workers)
        write_s = time.perf_counter() - t
        d = OOC_D
        t = time.perf_counter()
        w_ridge = np.linalg.solve(files["G"] + OOC_LAM["ridge"] * np.eye(d), files["c"])  # 2Xᵀ(Xw − y) + 2λw = 0
        w_logistic = _fit_logistic_out_of_core(files, OOC_LAM["logistic_l2"], workers)
        fit_s = time.perf_counter() - t
        meta = {"sizes": files["sizes"], "w": {"ridge": w_ridge.tolist(), "logistic_l2": w_logistic.tolist()}}
        Path(tmp, "meta.json").write_text(json.dumps(meta))
        size = sum(os.path.getsize(f) for f in files["X"] + files["y_reg"] + files["y_clf"])
        print(f"  wrote {rows:,} × {d} rows + 2 targets ({size / 2**30:.1f} GiB in {len(files['sizes'])} chunks) "
              f"in {write_s:.0f}s; fitted ridge and logistic (Newton, full passes) in {fit_s:.0f}s", flush=True)
        out = {"rows": rows, "chunk_rows": chunk, "workers": workers, "data_bytes": size, "write_s": write_s,
               "fit_s": fit_s, "models": []}
        for algorithm in ("ridge", "logistic_l2"):
            child = subprocess.run([sys.executable, __file__, "--child", tmp, algorithm, str(workers)],
                                   capture_output=True, text=True, check=True)
            res = json.loads(child.stdout.strip().splitlines()[-1])
            out["models"].append(res)
            print(f"  {algorithm:<12} {rows:,} rows: λ rel. error {res['rel_error']:.1e}, "
                  f"{res['rows_per_s']:.3g} rows/s "
                  f"in {res['seconds']:.1f}s (in memory: numpy pass {res['numpy_rows_per_s']:.3g} rows/s, attack "
                  f"{res['in_memory_attack_rows_per_s']:.3g} rows/s), peak RSS {res['peak_rss_bytes'] / 2**30:.2f} GiB",
                  flush=True)
    return out


def extraction(quick: bool = True):
    """Queries used vs unknowns per family, exact answers; then ReLU MLPs (see :func:`extraction_mlp`)."""
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.svm import SVC, LinearSVC

    from hypersteal import extract_parameters

    X, y = load_diabetes(return_X_y=True)
    Xi, yi = load_iris(return_X_y=True)
    Xb, yb = Xi[yi < 2], yi[yi < 2]
    cases = [
        ("ridge", Ridge(alpha=1.0).fit(X, y), X, "predict", {}, X.shape[1] + 1),
        ("logistic_l2", LogisticRegression(max_iter=1000).fit(Xb, yb), Xb, "proba", {}, Xb.shape[1] + 1),
        ("logistic_l2 (3 classes)", LogisticRegression(max_iter=1000).fit(Xi, yi), Xi, "proba3", {},
         3 * (Xi.shape[1] + 1)),
        ("svm_squared_hinge", LinearSVC().fit(Xb, yb), Xb, "score", {}, Xb.shape[1] + 1),
        ("kernel_ridge", KernelRidge(alpha=1.0, kernel="rbf", gamma=0.1).fit(X[:100], y[:100]), X[:100],
         "predict", {"kernel": "rbf", "gamma": 0.1, "X_train": X[:100]}, 100),
        ("kernel_svm_hinge", SVC(kernel="rbf", gamma=0.5).fit(Xb, yb), Xb, "score",
         {"kernel": "rbf", "gamma": 0.5, "X_train": Xb}, len(Xb) + 1),
    ]
    rows = []
    for label, model, data, kind, opts, unknowns in cases:
        algorithm = label.split(" ")[0]
        query = {"predict": lambda Q, m=model: m.predict(Q), "score": lambda Q, m=model: m.decision_function(Q),
                 "proba": lambda Q, m=model: m.predict_proba(Q)[:, 1],
                 "proba3": lambda Q, m=model: m.predict_proba(Q)}[kind]
        out = {"predict": "value", "score": "score", "proba": "probability", "proba3": "probability"}[kind]
        ext = extract_parameters(algorithm, query, data.shape[1], output=out, **opts)
        rows.append({"family": label, "unknowns": unknowns, "queries": ext.n_queries, "residual": ext.residual})
        print(f"  {label:<26} unknowns {unknowns:>5}  queries {ext.n_queries:>5}", flush=True)
    sizes = [(10, 20), (50, 50), (64, 32), (100, 50), (10, (20, 20))]
    if not quick:
        sizes += [(100, 128), (784, 20)]
    return {"linear_and_kernel": rows, "relu_mlp": extraction_mlp(sizes)}


def _victim(d: int, h, seed: int, lam: float):
    """A ReLU MLPClassifier trained (L-BFGS, alpha = 2λ: hypersteal's convention) on synthetic data or digits."""
    from sklearn.datasets import load_digits, make_classification
    from sklearn.neural_network import MLPClassifier

    if d == 64:
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
    else:
        X, y = make_classification(1000, d, n_informative=min(d // 2, 10), random_state=seed)
    model = MLPClassifier(hidden_layer_sizes=h, alpha=2 * lam, solver="lbfgs", tol=1e-10, max_iter=500,
                          random_state=seed).fit(X, y)
    return X, y, model


def _surrogate(ext, h, layout: str, seed: int):
    """The learning baseline: a scikit-learn ReLU MLP regressed on the same queries' logits."""
    from sklearn.neural_network import MLPRegressor

    P = np.clip(np.asarray(ext.answers, dtype=float), 1e-12, 1.0)
    if layout == "pos":
        P = np.column_stack([1 - P, P]).clip(1e-12, 1.0)
    T = np.log(P[:, 1:]) - np.log(P[:, :1])
    mu, sd = ext.queries.mean(0), ext.queries.std(0) + 1e-12
    reg = MLPRegressor(hidden_layer_sizes=h, max_iter=300, random_state=seed).fit((ext.queries - mu) / sd, T)

    def predict(Xf):
        F = reg.predict((Xf - mu) / sd).reshape(len(Xf), -1)
        F = np.column_stack([np.zeros(len(Xf)), F])
        E = np.exp(F - F.max(1, keepdims=True))
        return E / E.sum(1, keepdims=True)

    return predict


def extraction_mlp(sizes, seed: int = 0, lam: float = 1.0):
    """ReLU MLPs through their probabilities: hypersteal (kinks) vs a learning surrogate on the same queries,
    then λ stolen from the extracted network (steal_black_box) and from the victim's own parameters."""
    from hypersteal import steal, steal_black_box

    rows = []
    for d, h in sizes:
        X, y, model = _victim(d, h, seed, lam)
        hl = h if isinstance(h, tuple) else (h,)
        n_classes = len(np.unique(y))
        api = (lambda Q, m=model: m.predict_proba(Q)) if n_classes > 2 else \
            (lambda Q, m=model: m.predict_proba(Q)[:, 1])
        sd = X.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        Xf = X.mean(0) + sd * np.random.default_rng(99).normal(size=(10_000, d))
        ref = model.predict_proba(Xf)
        row = {"d": d, "h": list(hl), "classes": n_classes, "victim_alpha": 2 * lam}
        t0 = time.perf_counter()
        try:
            res = steal_black_box("mlp_classification", api, X, y, hidden_layer_sizes=hl, activation="relu",
                                  n_classes=n_classes, center=X.mean(0), scale=sd, saturated="drop",
                                  random_state=seed, progress=False)
        except Exception as exc:  # noqa: BLE001 - the table says what was refused and why
            row["refused"] = str(exc).split("\n")[0][:160]
            print(f"  d={d:<4} h={hl!s:<10} refused: {row['refused']}", flush=True)
            rows.append(row)
            continue
        ext = res.extraction
        row["time_s"] = time.perf_counter() - t0
        # the same attack on the victim's own parameters: what the victim's training allows (white box)
        own = steal("mlp_classification", X, y, {"coefs": model.coefs_, "intercepts": model.intercepts_},
                    activation="relu")
        row.update(own_lam_hat=float(own.lam), own_lam_identifiable=bool(getattr(own, "identifiable", True)),
                   own_lam_interval=[float(v) for v in getattr(own, "interval", (np.nan, np.nan))])
        got = ext.predict(Xf)
        got = got if got.ndim == 2 else np.column_stack([1 - got, got])
        sur = _surrogate(ext, hl, ext._spec["layout"], seed)(Xf)
        row.update(queries=ext.n_queries, agreement=float((got.argmax(1) == ref.argmax(1)).mean()),
                   max_prob_error=float(np.abs(got - ref).max()),
                   surrogate_agreement=float((sur.argmax(1) == ref.argmax(1)).mean()),
                   surrogate_max_prob_error=float(np.abs(sur - ref).max()),
                   lam_hat=float(res.lam), lam_rel_error=float(abs(res.lam - lam) / lam),
                   lam_identifiable=bool(getattr(res, "identifiable", True)),
                   lam_interval=[float(v) for v in getattr(res, "interval", (np.nan, np.nan))],
                   planes=next((n.split(" ")[0] for n in ext.notes if "located" in n), "0"))
        print(f"  d={d:<4} h={hl!s:<10} c={n_classes:<3} queries {row['queries']:>6}  time {row['time_s']:6.1f} s  "
              f"planes {row['planes']:>4}  agreement {row['agreement']:.4%}  max|Δp| {row['max_prob_error']:.1e}  "
              f"| surrogate {row['surrogate_agreement']:.4%}  max|Δp| {row['surrogate_max_prob_error']:.1e}  "
              f"| λ̂ {row['lam_hat']:.4g} (rel. error {row['lam_rel_error']:.1e}"
              + ("" if row["lam_identifiable"] else f"; not identifiable, interval {row['lam_interval']}") + ")"
              f"  | own parameters: λ̂ {row['own_lam_hat']:.4g}"
              + ("" if row["own_lam_identifiable"] else f" (not identifiable, interval {row['own_lam_interval']})"),
              flush=True)
        rows.append(row)
    return rows


def sparse(repeats: int):
    """Text-sized scipy.sparse data (10⁵ × 10⁵, density 10⁻³): see benchmarks/sparse_text.py."""
    return _sibling("sparse_text").run(repeats=repeats)


def multiclass(repeats: int):
    """Multi-class estimators on digits (45 one-vs-one SVC pairs, …): see benchmarks/multiclass.py."""
    return _sibling("multiclass").run(repeats=repeats)


def _sibling(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="the issue's sizes (10⁸-row out-of-core set)")
    parser.add_argument("--only", nargs="*", default=None, help="speed, out_of_core, extraction, sparse, multiclass")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results.json")
    parser.add_argument("--rows", type=int, default=None,
                        help="rows of the out-of-core set (default 10⁷, 10⁸ with --full)")
    parser.add_argument("--chunk", type=int, default=1_000_000, help="rows per chunk file of the out-of-core set")
    parser.add_argument("--workers", type=int, default=2, help="threads of the Dask scheduler (out of core)")
    parser.add_argument("--datasets", nargs="*", default=None, help=f"speed: a subset of {', '.join(SPEED_SETS)}")
    parser.add_argument("--algorithms", nargs="*", default=None, help="speed: a subset of the learners")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)  # convergence notes of the sample fits
    if args.child:
        return _out_of_core_child(args.child[0], args.child[1], int(args.child[2]))
    import dask
    import scipy
    import sklearn

    import hypersteal

    quick = not args.full
    rows = args.rows or (10_000_000 if quick else 100_000_000)
    sections = {"speed": lambda: speed(quick, args.repeats, args.datasets, args.algorithms),
                "out_of_core": lambda: out_of_core(rows, args.chunk, args.workers),
                "extraction": lambda: extraction(quick),
                "sparse": lambda: sparse(args.repeats),
                "multiclass": lambda: multiclass(args.repeats)}
    results = {
        "mode": "full" if args.full else "quick",
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "python": sys.version.split()[0]},
        "versions": {"hypersteal": hypersteal.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "scikit-learn": sklearn.__version__, "dask": dask.__version__},
    }
    for name, fn in sections.items():
        if args.only and name not in args.only:
            continue
        print(f"{name}:", flush=True)
        results[name] = fn()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
