"""Training worker processes: take jobs from the SQLite queue, train, meter, record.

Each worker is a separate process (``python -m hypersteal.mlaas.worker``, started by the server with
the thread-count variables set) that runs one job at a time with one BLAS/OpenMP thread, so a job's
CPU time is its own and bills are comparable across jobs.  The meter is ``time.process_time()`` of
the worker process (user + system CPU seconds) around the whole job: reading the dataset, Protocol
I's cross-validation, the final fit and writing the parameters.  Library imports and a warm-up fit
happen before the first job, outside every meter.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
import threading
import time
import traceback

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def die_with_parent(interval: float = 0.25) -> None:
    """Exit as soon as the process that started this one (the server) is gone: a daemon thread polls the
    parent pid (it changes when the parent dies), so a worker in the middle of a job stops too."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _single_thread() -> None:
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # for libraries already loaded; the env vars cover later ones


def _warm_up() -> None:
    """Import the training stack and run each learner once, so no job pays for it."""
    import numpy as np

    from .training import LEARNERS, fit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    yr = X @ np.ones(3)
    yc = (yr > 0).astype(int)
    for name, info in LEARNERS.items():
        fit(name, X, yr if info.task == "regression" else yc, 1.0, passes=2)


def run_job(store, job: dict, settings) -> None:
    """Run one claimed job and record its outcome (only if this worker still owns it)."""
    import numpy as np

    from . import training

    t_cpu, t_wall = time.process_time(), time.perf_counter()
    info = training.LEARNERS[job["algorithm"]]
    passes = int(job["passes"] or settings.default_passes)
    timings: dict = {}
    try:
        X, y = store.load_dataset(job["dataset_id"])
        X = np.asarray(X, dtype=float)
        timings["load"] = time.process_time() - t_cpu
        cv = None
        n_warn = 0
        if job["protocol"] == "I":
            t = time.process_time()
            lam, cv, n_warn = training.tune(job["algorithm"], X, y, settings.grid, settings.cv_folds,
                                            seed=settings.cv_seed, passes=passes)
            timings["tuning"] = time.process_time() - t
        else:
            lam = float(job["lam_given"])
        t = time.process_time()
        est, w = training.fit(job["algorithm"], X, y, lam, passes=passes, seed=settings.cv_seed)
        n_warn += w
        params = training.model_params(est, info.task)
        for key in ("coef", "intercept"):
            if not np.all(np.isfinite(params[key])):
                raise FloatingPointError(f"training at this λ gave non-finite {key}; the data may need scaling")
        tmp = store.tmp_path(".npz")
        with open(tmp, "wb") as fh:
            np.savez(fh, **params)
        os.replace(tmp, store.params_path(job["id"]))
        timings["training"] = time.process_time() - t
        cpu = time.process_time() - t_cpu
        meta = {"n_rows": int(X.shape[0]), "n_features": int(X.shape[1]), "convergence_warnings": n_warn}
        if info.task == "classification":
            meta["classes"] = params["classes"].tolist()
        status, error = "succeeded", None
    except Exception as exc:  # a user's data can fail a learner: record it, bill what was used
        cpu = time.process_time() - t_cpu
        lam, cv, meta = None, None, {}
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    amount = cpu / 3600.0 * settings.price_per_compute_hour
    store.finish_job(job["id"], job["token"], status=status, lam_used=lam, cv=cv, compute_seconds=cpu,
                     wall_seconds=time.perf_counter() - t_wall, timings=timings, meta_update=meta, error=error,
                     charge=(cpu, amount))


def worker_main(data_dir: str, worker_id: str, settings_dict: dict, wake=None) -> None:
    """Take jobs until ``wake`` (a readable file, the server's pipe) reaches end of file.

    The server writes a byte to ``wake`` when it queues a job; without it the worker polls."""
    _single_thread()
    from .settings import Settings
    from .store import Store

    settings = Settings(**settings_dict)
    store = Store(data_dir)
    try:
        _warm_up()
    except Exception:  # pragma: no cover - a broken install shows up in the first job instead
        traceback.print_exc()
    while True:
        job = store.claim_job(worker_id)
        if job is not None:
            run_job(store, job, settings)
            continue
        if wake is None:
            time.sleep(0.2)
            continue
        ready, _, _ = select.select([wake], [], [], 1.0)
        if ready and not os.read(wake.fileno(), 4096):
            return  # the server closed the pipe (it stopped or died)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="A hypersteal MLaaS training worker (started by the server).")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--settings", required=True, help="Settings as JSON.")
    args = parser.parse_args(argv)
    worker_main(args.data_dir, args.worker_id, json.loads(args.settings), wake=sys.stdin)


if __name__ == "__main__":
    main()
