"""Training worker processes: take jobs from the SQLite queue, train, meter, record.

Each worker is a separate process (``python -m hypersteal.mlaas.worker``, started by the server with
the thread-count variables set) that runs one job at a time with one BLAS/OpenMP thread, so a job's
CPU time is its own and bills are comparable across jobs.  The meter is ``time.process_time()`` of
the worker process (user + system CPU seconds) around the whole job: reading the dataset, Protocol
I's cross-validation, the final fit and writing the parameters.  Library imports and a warm-up fit
happen before the first job, outside every meter.

A worker lives only as long as its server: it exits when the server's pipe (its stdin) closes, when its
parent process is gone (a thread polls the parent pid; on Linux the kernel also sends SIGKILL on the
parent's death), and when it loses the lease of the job it is running (a thread renews the lease in
SQLite every ``lease_s / 4`` seconds, recording the CPU used so far). The settings, with the platform's
secret λ grid and seed, come as the first line on stdin, never on the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import sys
import threading
import time
import traceback

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def die_with_parent(interval: float = 0.25, *, kernel_signal: bool = False) -> None:
    """Exit as soon as the process that started this one (the server) is gone: a daemon thread polls the
    parent pid (it changes when the parent dies), so a worker in the middle of a job stops too.

    ``kernel_signal``: also ask Linux for SIGKILL when the parent dies (``PR_SET_PDEATHSIG``; it fires when
    the parent's *thread* that started this process ends, so only for processes started by threads that
    live as long as the server)."""
    parent = os.getppid()
    if kernel_signal and sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread below still works
            pass
        if os.getppid() != parent:  # pragma: no cover - the parent died before prctl took effect
            os._exit(3)

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


def _public_error(exc: BaseException, store) -> str:
    """What a tenant may see of a failed job: the error without the server's file paths."""
    import re
    import zipfile

    if isinstance(exc, (OSError, zipfile.BadZipFile, EOFError)) or (
            isinstance(exc, ValueError) and str(store.root) in str(exc)):
        return "The platform could not read this job's stored files; the operator has the details in the log."
    text = f"{type(exc).__name__}: {exc}".replace(str(store.root), "<data>")
    return re.sub(r"(?:[A-Za-z]:)?[\\/](?:[\w.\-]+[\\/])+[\w.\-]*", "<path>", text)[:2000]


class _Lease:
    """Renew a running job's lease in a daemon thread; exit the process if the job was taken away."""

    def __init__(self, store, job: dict, lease_s: float):
        self.store, self.job, self.lease_s = store, job, lease_s
        self.cpu_start = time.process_time()
        self._done = threading.Event()
        store.renew_lease(job["id"], job["token"], lease_s, cpu_start=self.cpu_start)
        self._thread = threading.Thread(target=self._run, name="job-lease", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._done.wait(self.lease_s / 4):
            try:
                ours = self.store.renew_lease(self.job["id"], self.job["token"], self.lease_s,
                                              cpu_seconds=time.process_time() - self.cpu_start)
            except Exception:  # pragma: no cover - a locked database: try again at the next beat
                traceback.print_exc()
                continue
            if not ours and not self._done.is_set():
                print(f"worker: job {self.job['id']} is no longer ours (requeued or timed out); exiting",
                      file=sys.stderr, flush=True)
                os._exit(4)

    def stop(self):
        self._done.set()
        self._thread.join(timeout=5)


def run_job(store, job: dict, settings) -> None:
    """Run one claimed job and record its outcome (only if this worker still owns it)."""
    import numpy as np

    from . import training

    lease = _Lease(store, job, settings.lease_s)
    t_cpu, t_wall = lease.cpu_start, time.perf_counter()
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
        status, error = "failed", _public_error(exc, store)
        traceback.print_exc()
    lease.stop()
    amount = cpu / 3600.0 * settings.price_per_compute_hour
    store.finish_job(job["id"], job["token"], status=status, lam_used=lam, cv=cv, compute_seconds=cpu,
                     wall_seconds=time.perf_counter() - t_wall, timings=timings, meta_update=meta, error=error,
                     charge=(cpu, amount))


def _closed(wake) -> bool:
    """Whether the server closed its end of the pipe (it stopped or died); consumes wake-up bytes."""
    if wake is None:
        return False
    ready, _, _ = select.select([wake], [], [], 0)
    return bool(ready) and not os.read(wake.fileno(), 4096)


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
        if _closed(wake):
            return  # never take a job for a server that is gone
        job = store.claim_job(worker_id, lease_s=settings.lease_s, max_running=settings.max_running_jobs)
        if job is not None:
            run_job(store, job, settings)
            continue
        if wake is None:
            time.sleep(0.2)
            continue
        ready, _, _ = select.select([wake], [], [], 1.0)
        if ready and not os.read(wake.fileno(), 4096):
            return  # the server closed the pipe (it stopped or died)


def _read_line(fd: int) -> bytes:
    """One line from a pipe, unbuffered (later bytes are the server's wake-ups)."""
    out = b""
    while not out.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        out += chunk
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="A hypersteal MLaaS training worker (started by the server; "
                                                 "the settings come as the first line on stdin).")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--worker-id", required=True)
    args = parser.parse_args(argv)
    die_with_parent(kernel_signal=True)
    with contextlib.suppress(OSError, AttributeError):  # training yields the CPU to the server's requests
        os.nice(5)
    line = _read_line(sys.stdin.fileno())
    if not line.strip():
        return  # the server went away before sending the settings
    worker_main(args.data_dir, args.worker_id, json.loads(line), wake=sys.stdin)


if __name__ == "__main__":
    main()
