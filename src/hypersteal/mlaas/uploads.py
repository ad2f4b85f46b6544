"""Parsing uploaded datasets in bounded parser processes (the server never parses an upload itself).

The server writes the uploaded file to ``DATA_DIR/tmp`` and hands it to a :class:`ParserPool` process
(``python -m hypersteal.mlaas.uploads``) that runs under an address-space limit (``RLIMIT_AS`` =
``Settings.parse_memory_bytes``) and a wall-clock limit (``parse_timeout_s``, after which the server kills
it). The parser checks and reads the file (:mod:`.formats`: sizes from headers and metadata first) and
writes the arrays to an npz file in ``tmp/`` that the server moves into place; nothing is stored when
anything fails.

A parser that runs out of memory answers 413 and is replaced; one that dies or overruns its time is
killed and replaced, and the upload gets a 413 naming the limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time

from .formats import Limits, Parsed, UploadError, _mib, parse_file, write_dataset

__all__ = ["UploadError", "Parsed", "Limits", "parse_file", "ParserPool"]

# ------------------------------------------------------------------------------------------------ processes
def _handle(request: dict) -> dict:
    """One parse request of the server: write the dataset to ``request['out']``; the answer as a dict."""
    limits = Limits(**request["limits"])
    try:
        parsed = parse_file(request["path"], request.get("filename"), request.get("target"), limits)
        write_dataset(request["out"], parsed.X, parsed.y, parsed.feature_names)
    except UploadError as exc:  # library messages may name the server's temporary files: never shown
        message = exc.message.replace(request["path"], "the file").replace(request["out"], "the dataset")
        return {"status": exc.status, "message": message}
    n, d = parsed.X.shape
    return {"status": 201, "fmt": parsed.fmt, "target": parsed.target, "rows": int(n), "columns": int(d),
            "meta": parsed.meta}


def parser_main(memory_bytes: int | None) -> None:
    """Serve parse requests (one JSON line each on stdin, one JSON answer line on stdout) until stdin
    closes or the server dies."""
    from .worker import die_with_parent

    die_with_parent()
    with contextlib.suppress(OSError, AttributeError):  # parsing yields the CPU to the server's requests
        os.nice(10)
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the answers
    if memory_bytes:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    import pandas  # noqa: F401 - loaded before the first request
    import pyarrow.parquet  # noqa: F401

    for line in sys.stdin:
        if not line.strip():
            continue
        exhausted = False
        try:
            answer = _handle(json.loads(line))
        except MemoryError:
            limit = f" of {_mib(memory_bytes)}" if memory_bytes else ""
            answer = {"status": 413, "message": f"Parsing the file needs more memory than the platform's "
                                                f"limit{limit}; upload a smaller file.", "retire": True}
            exhausted = True
        except Exception as exc:  # a library failing on hostile input: a clear 422, never a crash
            answer = {"status": 422, "message": f"The file could not be parsed ({type(exc).__name__})."}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
        if exhausted:
            return  # the server starts a fresh parser


class ParserPool:
    """Parser processes the server hands uploads to (one upload at a time each).

    ``parse`` blocks the calling thread (never the event loop) until a parser answers, a limit is hit, or
    no parser frees up within ``wait_s`` (503)."""

    def __init__(self, size: int, *, memory_bytes: int | None, timeout_s: float, wait_s: float = 30.0):
        self.size, self.memory_bytes, self.timeout_s, self.wait_s = size, memory_bytes, timeout_s, wait_s
        self._idle: queue.Queue = queue.Queue()
        self._all: set = set()
        self._lock = threading.Lock()
        self._stopped = True

    def start(self) -> None:
        self._stopped = False
        for _ in range(self.size):
            self._idle.put(self._spawn())

    def _spawn(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "hypersteal.mlaas.uploads", "--memory-bytes", str(self.memory_bytes or 0)]
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ARROW_NUM_THREADS"):
            env[var] = "1"
        # Arrow's own allocators reserve about 1 GiB of address space up front; the system allocator
        # (with few arenas) keeps the address space close to what is used, so RLIMIT_AS measures use
        env.update(ARROW_DEFAULT_MEMORY_POOL="system", MALLOC_ARENA_MAX="2")
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
        with self._lock:
            self._all.add(proc)
        return proc

    def _retire(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)
        for fh in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                fh.close()
        with self._lock:
            self._all.discard(proc)

    def parse(self, path, out, filename: str | None, target: str | None, limits: Limits) -> dict:
        """Parse ``path`` into the npz ``out``; the parser's answer (``status`` 201, rows, meta, ...)."""
        try:
            proc = self._idle.get(timeout=self.wait_s)
        except queue.Empty:
            raise UploadError(503, "Every upload parser is busy; retry in a few seconds.") from None
        healthy = False
        try:
            request = {"path": str(path), "out": str(out), "filename": filename, "target": target,
                       "limits": limits.__dict__}
            try:
                proc.stdin.write((json.dumps(request) + "\n").encode())
                proc.stdin.flush()
            except OSError:
                raise UploadError(503, "An upload parser was restarting; retry the upload.") from None
            line = self._read_line(proc, time.monotonic() + self.timeout_s)
            if line is None:
                raise UploadError(413, f"The file took longer than the limit of {self.timeout_s:g} s to parse; "
                                       f"upload a smaller file.")
            if not line:
                limit = f" (memory limit {_mib(self.memory_bytes)})" if self.memory_bytes else ""
                raise UploadError(413, f"The file could not be parsed within the platform's limits{limit}; "
                                       f"upload a smaller file.")
            answer = json.loads(line)
            healthy = proc.poll() is None and not answer.get("retire")
            if answer["status"] != 201:
                raise UploadError(answer["status"], answer["message"])
            return answer
        finally:
            if healthy and not self._stopped:
                self._idle.put(proc)
            else:
                self._retire(proc)
                if not self._stopped:
                    self._idle.put(self._spawn())

    @staticmethod
    def _read_line(proc, deadline: float) -> bytes | None:
        """One answer line; b"" if the parser died, None past the deadline."""
        fd, buf = proc.stdout.fileno(), b""
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return b""
            buf += chunk
        return buf

    def stop(self) -> None:
        self._stopped = True
        with self._lock:
            procs = list(self._all)
        for proc in procs:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        deadline = time.monotonic() + 2
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self._retire(proc)
        while not self._idle.empty():
            self._idle.get_nowait()


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="A hypersteal MLaaS upload parser (started by the server).")
    parser.add_argument("--memory-bytes", type=int, default=0)
    args = parser.parse_args(argv)
    parser_main(args.memory_bytes or None)


if __name__ == "__main__":
    main()
