"""hypersteal benchmarks: one command, a table on stdout, every number in JSON.

    python benchmarks/run.py                 # quick: 10⁶×100 synthetic, 10⁷-row out-of-core set
    python benchmarks/run.py --full          # the issue's sizes: 10⁸ × 10 rows out of core
    python benchmarks/run.py --only speed    # sections: speed, out_of_core, extraction

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


def _params_for(algorithm, X, y, rng):
    """A model to attack: fitted on a sample (the attack's cost does not depend on how good it is)."""
    from hypersteal.learners import train

    idx = rng.choice(len(X), size=min(len(X), 1500), replace=False)
    if algorithm.startswith("mlp"):  # a few scikit-learn iterations: the attack's cost is the same
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        cls = MLPRegressor if algorithm == "mlp_regression" else MLPClassifier
        m = cls(hidden_layer_sizes=(8,), activation="tanh", max_iter=50, random_state=0).fit(X[idx], y[idx])
        return {"coefs": m.coefs_, "intercepts": m.intercepts_}, {"activation": "tanh"}
    lam = (1.0, 1.0) if algorithm == "elastic_net" else 1.0
    return train(algorithm, X[idx], y[idx], lam), {}


def speed(quick: bool, repeats: int):
    import hypersteal
    from hypersteal.datasets import load

    rng = np.random.default_rng(0)
    sets = {}
    for name in ("ujiindoorloc", "bank", "madelon"):
        ds = load(name)
        sets[name] = (ds.X, ds.y, ds.task)
    n = 1_000_000
    Xs = rng.normal(size=(n, 100))
    ys = Xs @ rng.normal(size=100) + rng.normal(size=n)
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
        for algorithm in algos:
            target = y_clf if algorithm in ("logistic_l2", "logistic_l1", "svm_squared_hinge", "svm_hinge",
                                            "mlp_classification") else y
            params, opts = _params_for(algorithm, X, target, rng)
            t = median_time(lambda a=algorithm, t_=target, p=params, o=opts: hypersteal.steal(a, X, t_, p, **o),
                            repeats)
            rows.append({"dataset": name, "n": X.shape[0], "d": X.shape[1], "algorithm": algorithm,
                         "numpy_pass_s": base, "attack_s": t, "ratio": t / base})
            print(f"  {name:<18} {algorithm:<20} attack {t:8.3f}s  numpy pass {base:7.3f}s  ratio {t / base:6.2f}",
                  flush=True)
    return rows


def _out_of_core_child(path: str, rows: int, chunk: int):
    """Runs in a fresh process so that its peak memory (ru_maxrss) is the attack's own."""
    import dask
    import dask.array as da

    import hypersteal

    X = da.from_npy_stack(os.path.join(path, "X"))
    y = da.from_npy_stack(os.path.join(path, "y"))
    w = np.load(os.path.join(path, "w.npy"))
    lam = float(np.load(os.path.join(path, "lam.npy")))
    with dask.config.set(scheduler="threads", num_workers=2):
        t = time.perf_counter()
        r = hypersteal.steal("ridge", X, y, {"coef": w})
        elapsed = time.perf_counter() - t
    sample = np.asarray(X[:chunk]), np.asarray(y[:chunk])
    base = median_time(lambda: sample[0].T @ (sample[0] @ w - sample[1]), 5)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": rows, "lam_true": lam, "lam": r.lam, "rel_error": abs(r.lam - lam) / lam,
                      "seconds": elapsed, "rows_per_s": rows / elapsed, "numpy_rows_per_s": chunk / base,
                      "peak_rss_bytes": peak}))


def out_of_core(quick: bool):
    """Ridge λ over rows × 10 float64 stored as chunked .npy files; rows/s and peak memory."""
    import dask
    import dask.array as da

    rows = 10_000_000 if quick else 100_000_000
    chunk = 1_000_000
    d = 10
    with tempfile.TemporaryDirectory(dir=os.environ.get("HYPERSTEAL_BENCH_DIR")) as tmp:
        X = da.random.RandomState(0).normal(size=(rows, d), chunks=(chunk, d))
        y = X @ np.arange(1.0, d + 1) + da.random.RandomState(1).normal(size=rows, chunks=chunk)
        lam = 1e5
        with dask.config.set(scheduler="threads", num_workers=2):
            t = time.perf_counter()
            da.to_npy_stack(os.path.join(tmp, "X"), X)
            da.to_npy_stack(os.path.join(tmp, "y"), y)
            Xd, yd = da.from_npy_stack(os.path.join(tmp, "X")), da.from_npy_stack(os.path.join(tmp, "y"))
            G, c = dask.compute(Xd.T @ Xd, Xd.T @ yd)  # ridge without intercept by its normal equations
            write_s = time.perf_counter() - t
        w = np.linalg.solve(G + lam * np.eye(d), c)
        np.save(os.path.join(tmp, "w.npy"), w)
        np.save(os.path.join(tmp, "lam.npy"), lam)
        print(f"  wrote {rows:,} × {d} rows ({rows * d * 8 / 2**30:.1f} GiB) and fitted ridge in {write_s:.0f}s",
              flush=True)
        child = subprocess.run([sys.executable, __file__, "--child", tmp, str(rows), str(chunk)],
                               capture_output=True, text=True, check=True)
        out = json.loads(child.stdout.strip().splitlines()[-1])
    out["data_bytes"] = rows * d * 8
    print(f"  {rows:,} rows: λ rel. error {out['rel_error']:.1e}, {out['rows_per_s']:.3g} rows/s "
          f"(in-memory numpy {out['numpy_rows_per_s']:.3g} rows/s), peak RSS {out['peak_rss_bytes'] / 2**30:.2f} GiB",
          flush=True)
    return out


def extraction():
    """Queries used vs unknowns per family, exact answers."""
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
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="the issue's sizes (10⁸-row out-of-core set)")
    parser.add_argument("--only", nargs="*", default=None, help="speed, out_of_core, extraction")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results.json")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)  # convergence notes of the sample fits
    if args.child:
        return _out_of_core_child(args.child[0], int(args.child[1]), int(args.child[2]))
    import dask
    import scipy
    import sklearn

    import hypersteal

    quick = not args.full
    sections = {"speed": lambda: speed(quick, args.repeats), "out_of_core": lambda: out_of_core(quick),
                "extraction": extraction}
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
