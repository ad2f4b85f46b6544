"""Run a section's independent cells: from the cache, in this process, or in worker processes."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import time
import traceback
from collections import deque
from multiprocessing import connection as mp_connection

__all__ = ["Progress", "run_cells"]


class Progress:
    """Rich progress bars (one per section), or nothing when ``enabled`` is False."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bar = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[note]}", style="dim"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def add(self, name: str, total: int):
        """Start a bar; returns a handle for :meth:`advance`."""
        if self._bar is None:
            return None
        return self._bar.add_task(name, total=total, note="")

    def advance(self, handle, note: str = ""):
        if self._bar is not None and handle is not None:
            self._bar.update(handle, advance=1, note=note)

    def log(self, message: str):
        if self._bar is not None:
            self._bar.console.print(message)


def _limit_threads():
    """Worker initialiser: one BLAS thread per process, so that jobs × threads fits the cores."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass


def run_one(module: str, spec: dict) -> dict:
    """Run one cell: ``hypersteal.experiments.<module>.run_cell(spec)``, with errors captured."""
    start = time.perf_counter()
    try:
        mod = importlib.import_module(f"hypersteal.experiments.{module}")
        result = mod.run_cell(spec)
        result.setdefault("status", "ok")
    except Exception as exc:  # a failing cell must not stop the run; it is reported and retried
        result = {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc(limit=6)}
    result["cell_seconds"] = time.perf_counter() - start
    return result


def _worker_main(conn, limit_threads: bool) -> None:  # pragma: no cover - runs in a child process
    """A worker: receive (index, module, spec), send back (index, result), until told None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends the workers
    if limit_threads:
        _limit_threads()
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        i, module, spec = msg
        conn.send((i, run_one(module, spec)))


class _Pool:
    """Worker processes started and ended by this run (by their own handles, never by name).

    Each cell runs in a worker; a cell past ``timeout`` seconds gets its worker killed and replaced,
    so even a long call into compiled code (libsvm, LAPACK) cannot hold up the run.
    """

    def __init__(self, jobs: int, limit_threads: bool):
        self.ctx = multiprocessing.get_context("fork")
        self.limit_threads = limit_threads
        self.slots = [self._start() for _ in range(jobs)]

    def _start(self) -> dict:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker_main, args=(child, self.limit_threads), daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "busy": None}

    def _stop(self, slot: dict, kill: bool) -> None:
        proc = slot["proc"]
        if kill:
            proc.kill()
        else:
            try:
                slot["conn"].send(None)
            except OSError:
                pass
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
        slot["conn"].close()

    def run(self, module: str, specs: list[dict], todo: list[int], timeout: float | None, finish) -> None:
        queue = deque(todo)
        while queue or any(s["busy"] for s in self.slots):
            for s in self.slots:
                if s["busy"] is None and queue:
                    i = queue.popleft()
                    s["conn"].send((i, module, specs[i]))
                    s["busy"] = (i, time.perf_counter())
            busy = [s for s in self.slots if s["busy"]]
            for conn in mp_connection.wait([s["conn"] for s in busy], timeout=0.25):
                s = next(x for x in busy if x["conn"] is conn)
                i = s["busy"][0]
                try:
                    j, res = conn.recv()
                except (EOFError, OSError):  # the worker died (e.g. killed for memory)
                    j, res = i, {"status": "error", "error": "the worker process died while running this cell",
                                 "cell_seconds": time.perf_counter() - s["busy"][1]}
                    self._replace(s, kill=True)
                s["busy"] = None
                finish(j, res)
            if timeout:
                now = time.perf_counter()
                for s in self.slots:
                    if s["busy"] and now - s["busy"][1] > timeout:
                        i = s["busy"][0]
                        self._replace(s, kill=True)
                        finish(i, {"status": "timeout", "error": f"stopped after the time limit of {timeout:g} s",
                                   "cell_seconds": now - s["busy"][1]})
                        s["busy"] = None

    def _replace(self, slot: dict, kill: bool) -> None:
        self._stop(slot, kill)
        fresh = self._start()
        slot.update(proc=fresh["proc"], conn=fresh["conn"])

    def close(self) -> None:
        for s in self.slots:
            self._stop(s, kill=s["busy"] is not None)


def _label(spec: dict) -> str:
    parts = [str(spec[k]) for k in ("algorithm", "dataset") if k in spec]
    if "lam" in spec:
        parts.append(f"λ={spec['lam']:g}")
    return " ".join(parts)


def run_cells(module: str, specs: list[dict], cache, progress: Progress, jobs: int = 1,
              title: str | None = None, timeout: float | None = None) -> list[dict]:
    """Results of every cell of a section, in the order of ``specs``.

    Cached cells are read back; the others run in this process (``jobs == 1`` without a time
    limit) or in ``jobs`` worker processes; a cell past ``timeout`` seconds gets its worker killed.
    Each finished, successful cell is cached at once, so an interrupted run loses at most the
    cells in flight; failed and timed-out cells are not cached, so a rerun tries them again. Each
    result gains ``"cached"`` (bool).
    """
    results: list[dict | None] = [None] * len(specs)
    todo = []
    handle = progress.add(title or module, len(specs))
    for i, spec in enumerate(specs):
        hit = cache.get(module, spec)
        if hit is not None:
            results[i] = {**hit, "cached": True}
            progress.advance(handle, "cached")
        else:
            todo.append(i)

    def finish(i, res):
        if res.get("status") == "ok":
            cache.put(module, specs[i], res)
        else:
            colour = "yellow" if res.get("status") == "timeout" else "red"
            progress.log(f"[{colour}]{module}: {_label(specs[i])}: {res.get('error')}")
        if res.get("status") != "ok":  # say which cell it was: its spec's identifying fields
            res = {**{k: specs[i][k] for k in ("algorithm", "dataset", "lam", "rows") if k in specs[i]}, **res}
        results[i] = {**res, "cached": False}
        progress.advance(handle, _label(specs[i]))

    if not todo:
        return results  # type: ignore[return-value]
    if jobs <= 1 and not timeout or not hasattr(os, "fork"):
        for i in todo:  # in this process: no time limit
            finish(i, run_one(module, specs[i]))
    else:
        pool = _Pool(min(jobs, len(todo)), limit_threads=jobs > 1)
        try:
            pool.run(module, specs, todo, timeout, finish)
        finally:
            pool.close()
    return results  # type: ignore[return-value]
