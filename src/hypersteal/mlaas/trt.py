"""Train-Steal-Retrain (the paper's §IV-C): M1, M2 and M3 through a metered platform.

* **M1** — Protocol I on all training data: the platform tunes λ by cross-validation and trains.
* **M2** — Protocol I on a fraction p of the training data.
* **M3** — Protocol I on a fraction q (the *same* sample and job as M2 here), steal λ from the released
  parameters (or, for a black-box model, from parameters extracted through the prediction API), then
  Protocol II with the stolen λ on all training data.

Data are split 50/50 into training and test halves (stratified for classifiers; so are the samples).
Compute is what the platform metered (CPU-seconds of its worker processes) plus, for M3, the CPU
seconds of the attack itself, measured in the calling thread with one BLAS thread.  ``speedup[Mx]`` =
compute(M1) / compute(Mx); ``relative_error[Mx]`` = |metric(Mx) − metric(M1)| / metric(M1), metric =
test MSE (regression) or test accuracy (classification).
"""

from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["train_steal_retrain", "trt_curve"]


def _split(X, y, task, test_size, random_state):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, random_state=random_state,
                            stratify=y if task == "classification" else None)


def _sample(n, y, fraction, task, rng, min_rows):
    """Indices of a fraction of the training rows (stratified for classifiers), at least ``min_rows``."""
    m = min(n, max(min_rows, int(round(fraction * n))))
    if task != "classification":
        return np.sort(rng.choice(n, size=m, replace=False))
    classes, y_idx = np.unique(y, return_inverse=True)
    take = []
    for k in range(classes.size):
        members = np.flatnonzero(y_idx == k)
        want = max(min_rows // classes.size, int(round(m * members.size / n)))
        take.append(rng.choice(members, size=min(members.size, want), replace=False))
    return np.sort(np.concatenate(take))


def _evaluate(client, rec, X_test, y_test, task):
    """Test MSE or accuracy: locally from released parameters, else through the (billed) API."""
    params = rec.get("parameters")
    if params is not None:
        f = X_test @ np.asarray(params["coef"], dtype=float) + params["intercept"]
        if task == "regression":
            return float(np.mean((f - y_test) ** 2)), 0.0
        classes = np.asarray(params["classes"])
        pred = np.where(f > 0, classes[-1], classes[0])
        return float(np.mean(pred == y_test)), 0.0
    out = client.predict(rec["id"], X_test)
    if task == "regression":
        return float(np.mean((out["scores"] - y_test) ** 2)), out["cost"]
    return float(np.mean(out["predictions"].astype(y_test.dtype) == y_test)), out["cost"]


def _steal(client, rec, info, Xs, ys, black_box):
    """Steal λ of the sample model; returns (λ, report). CPU seconds are the calling thread's."""
    from threadpoolctl import threadpool_limits

    import hypersteal
    from hypersteal.extraction import steal_black_box

    options = {"intercept_scaling": info["intercept_scaling"]} if info["penalised_intercept"] else {}
    objective = info["objective"]
    queries, query_cost = 0, 0.0
    # the clock covers the attack alone, as the platform's meter covers its jobs alone (its workers import their
    # libraries before the first job): importing the attack's modules (hypersteal.steal loads on first use, 15 of
    # the 17 CPU-ms once counted for SVM-SHL on 1 % of Bank) and limiting BLAS threads come before it
    steal = hypersteal.steal
    with threadpool_limits(limits=1):
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        if black_box:
            spent = {"rows": 0, "cost": 0.0}

            def query(Q):
                out = client.predict(rec["id"], Q)
                spent["rows"] += out["rows"]
                spent["cost"] += out["cost"]
                return out["scores"]

            ext_opts = {"output": info["output"]}
            if info["output"] == "probability":
                ext_opts["saturated"] = "drop"
            result = steal_black_box(objective, query, Xs, ys, **ext_opts, **options)
            queries, query_cost = spent["rows"], spent["cost"]
        else:
            params = rec["parameters"]
            result = steal(objective, Xs, ys, {"coef": np.asarray(params["coef"]),
                                               "intercept": params["intercept"]}, **options)
        cpu = time.thread_time() - cpu0
    lam = result.lam
    how = "identified"
    if lam is None or not math.isfinite(lam):
        lam = float(next(iter(result.estimate.values())))
        how = "least-squares estimate (λ not pinned down exactly: inexact or rounded parameters)"
        if not (lam > 0):
            lo, hi = next(iter(result.intervals.values()))
            lam = math.sqrt(lo * hi) if lo > 0 and math.isfinite(hi) else max(lo, 1e-12)
            how = "midpoint of the consistent interval"
    interval = next(iter(result.intervals.values()), None)
    report = {"lam": float(lam), "how": how, "identifiable": bool(result.identifiable),
              "interval": None if interval is None else [float(interval[0]), float(interval[1])],
              "residual": float(result.residual), "objective": objective, "options": options,
              "cpu_seconds": cpu, "wall_seconds": time.perf_counter() - wall0, "queries": queries,
              "query_cost": query_cost}
    return float(lam), report


def _method(rec, metric_name, metric, eval_cost, **extra):
    bill = rec["bill"]
    return {"model_id": rec["id"], "protocol": rec["protocol"], "rows": rec["n_rows"],
            "compute_seconds": bill["compute_seconds"], "bill": bill["compute_cost"],
            f"test_{metric_name}": metric, "evaluation_cost": eval_cost} | extra


def trt_curve(client, X, y, algorithm: str, fractions, *, test_size: float = 0.5, random_state: int = 0,
              black_box: bool = False, decimals: int | None = None, passes: int | None = None,
              X_test=None, y_test=None, timeout: float = 7200.0, min_rows: int = 20) -> dict:
    """Train-Steal-Retrain at several fractions, sharing M1 and the uploads. Returns
    ``{"M1": {...}, "runs": [one train_steal_retrain result per fraction], ...}``."""
    fractions = list(fractions)
    bad = [q for q in fractions if not isinstance(q, (int, float)) or isinstance(q, bool) or not 0 < q <= 1]
    if not fractions or bad:
        raise ValueError(f"fractions must be numbers in (0, 1] (0.03 = 3%); got {bad or fractions}.")
    t0 = time.perf_counter()
    info = client.learner(algorithm)
    task = info["task"]
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X_test is None:
        X_train, X_test, y_train, y_test = _split(X, y, task, test_size, random_state)
    else:
        X_train, y_train = X, y
        X_test, y_test = np.asarray(X_test, dtype=float), np.asarray(y_test)
    release = "predictions" if black_box else "parameters"
    kw = {"release": release, "decimals": decimals, "passes": passes if info["sgd"] else None}
    rng = np.random.default_rng(random_state)
    metric_name = "mse" if task == "regression" else "acc"

    full = client.upload(X_train, y_train, name="train")
    m1_job = client.create_model(full["id"], info["name"], protocol="I", **kw)
    samples = []
    for q in fractions:
        idx = _sample(X_train.shape[0], y_train, float(q), task, rng, min_rows)
        ds = client.upload(X_train[idx], y_train[idx], name=f"sample-{q:g}")
        job = client.create_model(ds["id"], info["name"], protocol="I", **kw)
        samples.append((float(q), idx, job))

    runs = []
    retrains = []
    for q, idx, job in samples:
        rec = client.wait(job["id"], timeout=timeout)
        lam, steal = _steal(client, rec, info, X_train[idx], y_train[idx], black_box)
        m3_job = client.create_model(full["id"], info["name"], protocol="II", lam=lam, **kw)
        retrains.append((q, idx, rec, steal, m3_job))

    m1 = client.wait(m1_job["id"], timeout=timeout)
    m1_metric, m1_eval = _evaluate(client, m1, X_test, y_test, task)
    M1 = _method(m1, metric_name, m1_metric, m1_eval)
    for q, idx, rec, steal, m3_job in retrains:
        m3 = client.wait(m3_job["id"], timeout=timeout)
        m2_metric, m2_eval = _evaluate(client, rec, X_test, y_test, task)
        m3_metric, m3_eval = _evaluate(client, m3, X_test, y_test, task)
        M2 = _method(rec, metric_name, m2_metric, m2_eval)
        tuning, retrain = rec["bill"], m3["bill"]
        m3_compute = tuning["compute_seconds"] + steal["cpu_seconds"] + retrain["compute_seconds"]
        M3 = {"model_id": m3["id"], "protocol": "I on the sample, steal, II on all", "rows": m3["n_rows"],
              "lam": steal["lam"], "compute_seconds": m3_compute,
              "bill": tuning["compute_cost"] + steal["query_cost"] + retrain["compute_cost"],
              f"test_{metric_name}": m3_metric, "evaluation_cost": m3_eval,
              "components": {"tuning_model_id": rec["id"], "tuning_seconds": tuning["compute_seconds"],
                             "steal_seconds": steal["cpu_seconds"], "retrain_seconds": retrain["compute_seconds"],
                             "tuning_bill": tuning["compute_cost"], "query_bill": steal["query_cost"],
                             "retrain_bill": retrain["compute_cost"]},
              "steal": steal}
        methods = {"M1": M1, "M2": M2, "M3": M3}
        c1 = M1["compute_seconds"]

        def rel(m, base=m1_metric):
            return abs(m - base) / base if base else float("nan")

        runs.append({
            "algorithm": info["name"], "learner": info, "fraction": q, "n_train": int(X_train.shape[0]),
            "n_test": int(X_test.shape[0]), "n_sample": int(idx.size), "black_box": black_box, "decimals": decimals,
            "metric": metric_name, "methods": methods,
            "speedup": {k: c1 / methods[k]["compute_seconds"] if methods[k]["compute_seconds"] > 0 else float("inf")
                        for k in ("M2", "M3")},
            "bill_ratio": {k: M1["bill"] / methods[k]["bill"] if methods[k]["bill"] > 0 else float("inf")
                           for k in ("M2", "M3")},
            "relative_error": {"M2": rel(m2_metric), "M3": rel(m3_metric)},
        })
    return {"algorithm": info["name"], "fractions": [float(q) for q in fractions], "M1": M1, "runs": runs,
            "wall_seconds": time.perf_counter() - t0}


def train_steal_retrain(client, X, y, algorithm: str, fraction: float, **kwargs) -> dict:
    """Run M1, M2 and M3 (see the module doc) on a 50/50 split of (X, y) through ``client``'s platform.

    Parameters
    ----------
    client : hypersteal.mlaas.Client
    X, y : arrays
        All the data; half becomes the test set (pass ``X_test``/``y_test`` to use your own split).
    algorithm : str
        A platform learner (``ridge``, ``svm_squared_hinge``, ``sgd_logistic_l2``, ...).
    fraction : float
        q = p, the sampled fraction of the training half (0.03 = 3%).
    black_box : bool
        Train with ``release="predictions"``: M3 extracts the sample model's parameters through the
        (billed) prediction API before stealing λ; test metrics are then also measured through the API
        (reported as ``evaluation_cost``, not counted in the methods' bills).
    decimals, passes, test_size, random_state, timeout, min_rows
        Rounding of what the platform releases, SGD passes, the split, and job limits.

    Returns
    -------
    dict
        ``methods`` (M1, M2, M3: model id, compute seconds, bill, ``test_mse`` or ``test_acc``; M3 also
        the stolen λ and its components), ``speedup``, ``bill_ratio`` and ``relative_error`` for M2 and M3.
    """
    out = trt_curve(client, X, y, algorithm, [fraction], **kwargs)
    run = out["runs"][0]
    run["wall_seconds"] = out["wall_seconds"]
    return run
