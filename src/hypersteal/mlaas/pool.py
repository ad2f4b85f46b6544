"""The platform's processes: the training workers, the upload parsers and the monitor thread.

:class:`Platform` owns the :class:`~.store.Store`, starts the worker processes (``python -m
hypersteal.mlaas.worker``) and the :class:`~.uploads.ParserPool`, holds the data directory's lock (one
server per directory), replaces dead workers (requeueing their job), requeues jobs whose lease ran out
and enforces the job time limit. The HTTP layer (:mod:`.service`) starts and stops it with the app.
"""

from __future__ import annotations

import contextlib
import functools
import json as _json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from .settings import Settings
from .store import Store
from .uploads import ParserPool

__all__ = ["Platform"]

try:  # POSIX: one server per data directory
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class Platform:
    """The store, the training worker processes and the monitor that replaces dead workers."""

    def __init__(self, data_dir, settings: Settings | None = None):
        self.settings = settings or Settings.load(data_dir)
        self.store = Store(data_dir, background_checkpoints=True)  # the monitor checkpoints the WAL
        self._workers: dict[str, subprocess.Popen] = {}
        self.parsers = ParserPool(self.settings.parsers, memory_bytes=self.settings.parse_memory_bytes,
                                  timeout_s=self.settings.parse_timeout_s)
        self._monitor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock_fh = None
        self.started = False

    # ---------------------------------------------------------------- life cycle
    def start(self) -> None:
        self._take_lock()
        self.store.clean_tmp()
        # jobs of a previous server whose lease ran out; a lease still running (its worker was killed
        # with that server a moment ago) is requeued by the monitor when it ends, so no job runs twice
        self.store.requeue_running(worker=None, reason="requeued: the server restarted while it ran",
                                   max_attempts=self.settings.max_attempts, expired_before=time.time())
        self._stopping.clear()
        self.parsers.start()
        for i in range(self.settings.workers):
            self._spawn(i)
        self._monitor = threading.Thread(target=self._watch, name="mlaas-monitor", daemon=True)
        self._monitor.start()
        self.started = True
        self.notify()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the workers; a job still running stays 'running' in the store and is requeued on the
        next start."""
        if not self.started:
            return
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        for proc in self._workers.values():
            with contextlib.suppress(OSError):
                proc.stdin.close()  # idle workers exit at end of file
            with contextlib.suppress(OSError):
                proc.terminate()  # busy ones stop now; their job is requeued on the next start
        for proc in self._workers.values():
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:  # pragma: no cover - a worker ignoring SIGTERM
                proc.kill()
                proc.wait(timeout=5)
        with contextlib.suppress(Exception):  # their jobs are requeued at the next start, not a lease later
            self.store.end_leases(self._workers)
        self._workers.clear()
        self.parsers.stop()
        self._release_lock()
        self.started = False

    def notify(self) -> None:
        """Wake idle workers: a job was queued."""
        for proc in list(self._workers.values()):
            with contextlib.suppress(OSError, ValueError):
                proc.stdin.write(b"\n")
                proc.stdin.flush()

    def _take_lock(self) -> None:
        if fcntl is None:
            return
        fh = open(self.store.root / "server.lock", "a+")  # noqa: SIM115 - held for the server's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise RuntimeError(f"Another hypersteal MLaaS server is using {self.store.root}.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._lock_fh = fh

    def _release_lock(self) -> None:
        if self._lock_fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def _spawn(self, index: int) -> None:
        worker_id = f"w{index}-{uuid.uuid4().hex[:8]}"
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
            env[var] = "1"
        cmd = [sys.executable, "-m", "hypersteal.mlaas.worker", "--data-dir", str(self.store.root),
               "--worker-id", worker_id]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, env=env, bufsize=0)
        with contextlib.suppress(OSError):  # the secret settings travel on the pipe, not the command line
            proc.stdin.write((_json.dumps(self.settings.to_dict()) + "\n").encode())
        self._workers[worker_id] = proc

    def _watch(self) -> None:
        """Replace dead workers (requeueing their job), requeue jobs whose lease ran out, enforce the
        job time limit (billing the CPU the killed job used), and checkpoint the database's WAL (off the
        requests' path: see :class:`~.store.Store`)."""
        while not self._stopping.wait(0.5):
            try:
                self._watch_once()
                self.store.checkpoint()
            except Exception:  # pragma: no cover - e.g. a locked database: try again in half a second
                import traceback

                traceback.print_exc()

    def _watch_once(self) -> None:
        for worker_id, proc in list(self._workers.items()):
            if proc.poll() is None or self._stopping.is_set():
                continue
            self.store.requeue_running(worker=worker_id, reason=f"requeued: worker died (exit {proc.returncode})",
                                       max_attempts=self.settings.max_attempts)
            del self._workers[worker_id]
            self._spawn(int(worker_id[1:].split("-")[0]))
            self.notify()
        if self._stopping.is_set():
            return
        now = time.time()
        running = self.store.running_jobs()
        if any(j["worker"] not in self._workers and (j["lease_until"] or 0) < now for j in running):
            if self.store.requeue_running(worker=None, reason="requeued: the server restarted while it ran",
                                          max_attempts=self.settings.max_attempts, expired_before=now,
                                          exclude_workers=set(self._workers)):
                self.notify()
        limit = self.settings.job_timeout_s
        if limit:
            for job in running:
                proc = self._workers.get(job["worker"])
                if proc is None or not job["started_at"] or now - job["started_at"] <= limit:
                    continue
                cpu = _process_cpu(proc.pid)
                if cpu is not None and job["cpu_start"] is not None:
                    cpu = max(0.0, cpu - job["cpu_start"])
                else:  # the worker's last lease renewal
                    cpu = job["compute_seconds"]
                self.store.fail_running(job["id"], f"the job ran longer than the limit of {limit:g} s",
                                        cpu_seconds=cpu, price_per_compute_hour=self.settings.price_per_compute_hour)
                proc.kill()

    # ---------------------------------------------------------------- reading parameters
    @functools.lru_cache(maxsize=256)  # noqa: B019 - one Platform per server; parameters never change
    def params(self, model_id: str) -> dict:
        with np.load(self.store.params_path(model_id), allow_pickle=False) as f:
            return {k: f[k] for k in f.files}


def _process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux ``/proc``), as its own ``time.process_time()``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
