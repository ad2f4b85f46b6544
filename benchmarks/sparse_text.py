"""Sparse, text-sized data: the attack next to one pass of ``Xᵀ(Xw − y)`` on the same scipy.sparse X, and its memory.

    python benchmarks/sparse_text.py                       # 10⁵ rows × 10⁵ features, density 10⁻³ (10⁷ stored values)
    python benchmarks/sparse_text.py --rows 20000 --features 20000   # a smaller run
    python benchmarks/run.py --only sparse            # the same, as a section of the benchmark table

X is synthetic and text-like: every row holds ``density · features`` columns drawn uniformly (seeded; the
rare repeat is summed), with positive weights, each row scaled to unit L2 norm (as ``TfidfVectorizer`` does); a
sparse ground-truth w gives a regression target and a binary label. On it scikit-learn fits
``Ridge(solver="sparse_cg")`` and ``LogisticRegression`` (L2, newton-cg) at tight tolerances, with intercepts.

Each model is measured in its own process (so that its memory is its own), which builds X from the seed,
fits, then times (median of repeats) one plain pass ``Xᵀ(Xw − y)``, ``hypersteal.steal`` on the model's
``coef_``/``intercept_`` and ``hypersteal.steal_from_estimator`` on the fitted estimator. Memory: the
attack's traced peak (``tracemalloc``: numpy and scipy allocations during the attack) and the process's peak
resident set during the attacks (Linux ``VmHWM``, reset before them through ``/proc/self/clear_refs``; X is
resident throughout), both against X's own bytes (``data`` + ``indices`` + ``indptr``). Then, in a fresh process,
the command ``hypersteal steal --data data.npz --params params.npz --json`` on the same X and model written with
``hypersteal.io.save_data``: its wall time (reading the file included) and its peak resident set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

LAMBDA = {"ridge": 1.0, "logistic_l2": 0.5}  # hypersteal's λ: Ridge(alpha=1), LogisticRegression(C=1/(2λ)=1)


def text_like(rows: int, features: int, density: float, seed: int = 0):
    """A CSR matrix with about ``density·features`` columns per row, unit-norm rows, and two targets."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    g = np.random.default_rng(seed)
    k = max(1, round(density * features))
    cols = g.integers(0, features, size=rows * k, dtype=np.int32)  # a repeat (≈ k²/2d per row) is summed
    X = sp.csr_matrix((g.exponential(size=rows * k) + 0.1, (np.repeat(np.arange(rows, dtype=np.int32), k), cols)),
                      shape=(rows, features))
    del cols
    X = normalize(X, copy=False)  # unit L2 rows, as TfidfVectorizer leaves them
    w = np.zeros(features)
    support = g.choice(features, size=min(features, 2000), replace=False)
    w[support] = g.normal(size=len(support)) * 3.0
    f = X @ w
    y_reg = f + 0.1 * g.normal(size=rows) + 1.0
    y_clf = (f + 0.3 * g.normal(size=rows) > np.median(f)).astype(int)
    return X, y_reg, y_clf


def _rss() -> dict:
    """VmRSS and VmHWM of this process, in bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def _median(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def measure(algorithm: str, rows: int, features: int, density: float, repeats: int, tmp: str | None = None) -> dict:
    """Build, fit and measure one model (run this in a fresh process: its memory figures are its own); with
    ``tmp``, also write the data (``hypersteal.io.save_data``) and parameters there for the CLI's run."""
    from sklearn.linear_model import LogisticRegression, Ridge

    import hypersteal

    t = time.perf_counter()
    X, y_reg, y_clf = text_like(rows, features, density)
    build_s = time.perf_counter() - t
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    lam = LAMBDA[algorithm]
    t = time.perf_counter()
    if algorithm == "ridge":
        y = y_reg
        est = Ridge(alpha=lam, solver="sparse_cg", tol=1e-12, max_iter=100_000).fit(X, y)
    else:
        y = y_clf
        est = LogisticRegression(C=1 / (2 * lam), solver="newton-cg", tol=1e-12, max_iter=1000).fit(X, y)
    fit_s = time.perf_counter() - t
    params = {"coef": est.coef_, "intercept": est.intercept_}
    yf = y.astype(float)
    w = np.ravel(est.coef_)
    rss_before = _rss()["VmRSS"]
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS, so the peak below is the attacks'
        hwm_reset = True
    except OSError:
        hwm_reset = False
    pass_s, _ = _median(lambda: X.T @ (X @ w - yf), repeats)
    steal_s, r = _median(lambda: hypersteal.steal(algorithm, X, y, params), repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est_s, re = _median(lambda: hypersteal.steal_from_estimator(est, X, y), repeats)
    hwm = _rss()["VmHWM"]
    tracemalloc.start()
    hypersteal.steal(algorithm, X, y, params)
    traced_steal = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hypersteal.steal_from_estimator(est, X, y)
    traced_est = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if tmp is not None:
        from hypersteal.io import save_data, save_params

        save_data(Path(tmp, "data.npz"), X, y)
        save_params(Path(tmp, "params.npz"), params)
    native = "alpha" if algorithm == "ridge" else "C"
    truth = lam if algorithm == "ridge" else 1 / (2 * lam)
    return {
        "algorithm": algorithm, "rows": rows, "features": features, "nnz": int(X.nnz),
        "density": X.nnz / (rows * features), "x_bytes": int(x_bytes), "dense_bytes": rows * features * 8,
        "build_s": build_s, "fit_s": fit_s, "n_iter": np.ravel(getattr(est, "n_iter_", [0])).tolist(),
        "pass_s": pass_s, "steal_s": steal_s, "steal_from_estimator_s": est_s,
        "steal_ratio": steal_s / pass_s, "steal_from_estimator_ratio": est_s / pass_s,
        "lam": r.lam, "status": str(r.status.value), "rel_error": abs(r.lam - lam) / lam,
        "native": re.native.get(native), "native_status": str(re.status.value),
        "native_rel_error": abs(re.native.get(native, np.nan) - truth) / truth,
        "traced_peak_steal_bytes": traced_steal, "traced_peak_estimator_bytes": traced_est,
        "rss_before_bytes": rss_before, "rss_peak_bytes": hwm if hwm_reset else None,
    }


def cli_child(algorithm: str, data: str, params: str) -> dict:
    """``hypersteal steal -a ALGORITHM --data DATA --params PARAMS --json`` in this (fresh) process: its wall
    time, λ, and the process's peak resident set against its resident set once the command's modules are loaded."""
    import contextlib
    import io

    import numpy  # noqa: F401  (what the command imports before it reads anything)
    import scipy.sparse  # noqa: F401
    import sklearn  # noqa: F401

    import hypersteal.attack  # noqa: F401
    from hypersteal.cli import app

    rss_imports = _rss()["VmRSS"]
    buf = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        app(["steal", "-a", algorithm, "--data", data, "--params", params, "--json"], standalone_mode=False)
    wall = time.perf_counter() - t
    return {"cli_s": wall, "cli_lam": json.loads(buf.getvalue())["lambdas"]["lambda"],
            "cli_rss_after_imports_bytes": rss_imports, "cli_peak_rss_bytes": _rss()["VmHWM"],
            "file_bytes": Path(data).stat().st_size}


def run(rows: int = 100_000, features: int = 100_000, density: float = 1e-3, repeats: int = 3) -> dict:
    """Every model in its own process; prints one line per model and returns the numbers."""
    out = {"rows": rows, "features": features, "density": density, "repeats": repeats, "models": []}
    for algorithm in LAMBDA:
        with tempfile.TemporaryDirectory(prefix="hypersteal-sparse-") as tmp:
            res = _child("--child", algorithm, "--rows", str(rows), "--features", str(features), "--density",
                         str(density), "--repeats", str(repeats), "--tmp", tmp)
            res.update(_child("--cli-child", algorithm, str(Path(tmp, "data.npz")), str(Path(tmp, "params.npz"))))
        out["models"].append(res)
        mb = 2**20
        rss = f"{res['rss_peak_bytes'] / mb:.0f} MiB" if res["rss_peak_bytes"] else "n/a"
        print(f"  {algorithm:<12} {rows:,} × {features:,}, {res['nnz']:,} stored ({res['x_bytes'] / mb:.0f} MiB; "
              f"dense {res['dense_bytes'] / 2**30:.0f} GiB), fit {res['fit_s']:.1f} s: "
              f"pass {res['pass_s'] * 1e3:.0f} ms, "
              f"steal {res['steal_s'] * 1e3:.0f} ms (×{res['steal_ratio']:.2f}, {res['status']}, λ rel. error "
              f"{res['rel_error']:.1e}), steal_from_estimator {res['steal_from_estimator_s'] * 1e3:.0f} ms "
              f"(×{res['steal_from_estimator_ratio']:.2f}, {res['native_status']}); traced peak "
              f"{res['traced_peak_steal_bytes'] / res['x_bytes']:.2f} × X (estimator "
              f"{res['traced_peak_estimator_bytes'] / res['x_bytes']:.2f} × X); process peak RSS {rss} "
              f"(before the attacks {res['rss_before_bytes'] / mb:.0f} MiB); CLI on the .npz file "
              f"({res['file_bytes'] / mb:.0f} MiB): {res['cli_s']:.2f} s, λ {res['cli_lam']:.6g}, peak RSS "
              f"{res['cli_peak_rss_bytes'] / mb:.0f} MiB ({res['cli_rss_after_imports_bytes'] / mb:.0f} MiB "
              "after its imports)", flush=True)
    return out


def _child(*args) -> dict:
    child = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--density", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="also write the numbers as JSON here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cli-child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.rows, args.features, args.density, args.repeats, args.tmp)))
        return
    if args.cli_child:
        print(json.dumps(cli_child(*args.cli_child)))
        return
    print("sparse:", flush=True)
    res = run(args.rows, args.features, args.density, args.repeats)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
