"""The platform under attack: upload bombs, hostile files and oversized bodies against a real server process.

The server runs as its own process (``serve`` on a loopback port) so its memory can be measured: the peak
resident set (``VmHWM``) is reset before each attack through ``/proc/PID/clear_refs``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")

from hypersteal.mlaas.store import Store  # noqa: E402

MiB = 2**20
SETTINGS = {"workers": 1, "parsers": 1, "max_upload_bytes": 8 * MiB, "max_dataset_bytes": 32 * MiB,
            "max_rows": 1_000_000, "max_columns": 1_000, "max_json_bytes": 1 * MiB, "parse_memory_bytes": 2**30,
            "parse_timeout_s": 20}

linux_only = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``hypersteal.mlaas.embedded.serve`` in a child process, with one tenant."""

    def __init__(self, data_dir: Path, settings: dict, key: str | None = None):
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "settings.json").write_text(json.dumps(settings))
        self.data_dir = data_dir
        self.key = key or Store(data_dir).add_tenant("attacker")[1]
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        code = ("import sys; from hypersteal.mlaas.embedded import serve; "
                "serve(port=int(sys.argv[1]), data_dir=sys.argv[2], log_level='warning')")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(port), str(data_dir)],
                                     env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=60)
        # the first answer of the upload parser: it has loaded its libraries
        r = self.http.post("/v1/datasets", files={"file": ("a.csv", b"a,y\n")}, data={"target": "y"})
        assert r.status_code == 422

    def status(self, field: str) -> int:
        """A ``/proc/PID/status`` field in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def children(self) -> list[int]:
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    out.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return out

    def reset_peak(self) -> int:
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        return self.status("VmRSS")

    def close(self):
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("attacked") / "data", SETTINGS)
    yield s
    s.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _stored(server):
    return sorted(p.name for p in (server.data_dir / "datasets").iterdir()) + sorted(
        p.name for p in (server.data_dir / "tmp").iterdir())


# ---------------------------------------------------------------------------------------------- bombs
def _npy_header(shape, dtype="<f8") -> bytes:
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


def _npz_bomb() -> bytes:
    """0.1 MiB of deflate that inflates to 100 MB: X of 2500 × 5000 zeros (written as a stream)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as fh:
            fh.write(_npy_header((2500, 5000)))
            for _ in range(100):
                fh.write(bytes(1_000_000))
        y = io.BytesIO()
        np.save(y, np.zeros(2500))
        zf.writestr("y.npy", y.getvalue())
    return buf.getvalue()


def _npz_claiming(shape) -> bytes:
    """An npz whose X header claims ``shape`` but holds 80 bytes of data."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("X.npy", _npy_header(shape) + b"\0" * 80)
        y = io.BytesIO()
        np.save(y, np.zeros(10))
        zf.writestr("y.npy", y.getvalue())
    return buf.getvalue()


def _parquet_bomb() -> bytes:
    """2 million rows of zeros: a few KiB of Parquet."""
    import pandas as pd

    frame = pd.DataFrame(np.zeros((2_000_000, 4)), columns=["a", "b", "c", "y"])
    buf = io.BytesIO()
    frame.to_parquet(buf)
    return buf.getvalue()


def _gzip_bomb() -> bytes:
    """128 MiB of CSV rows in a fifth of a MiB of gzip."""
    buf = io.BytesIO()
    chunk = b"0,0,0,0\n" * (MiB // 8)
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        gz.write(b"a,b,c,y\n")
        for _ in range(128):
            gz.write(chunk)
    return buf.getvalue()


@linux_only
@pytest.mark.parametrize("name, make, target, status, words", [
    ("bomb.npz", _npz_bomb, None, 413, "decompress"),
    ("claims.npz", lambda: _npz_claiming((10**9, 10**3)), None, 422, "claims shape"),
    ("claims_fits.npz", lambda: _npz_claiming((1000, 100)), None, 422, "claims shape"),
    ("bomb.parquet", _parquet_bomb, "y", 413, "rows"),
    ("bomb.csv.gz", _gzip_bomb, "y", 413, "decompresses"),
])
def test_bombs_are_refused_with_bounded_server_memory(server, name, make, target, status, words):
    content = make()
    assert len(content) < MiB
    before = _stored(server)
    rss = server.reset_peak()
    r = server.http.post("/v1/datasets", files={"file": (name, content)}, data={"target": target} if target else {})
    growth = server.status("VmHWM") - rss
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert growth < 64 * MiB, f"the server grew by {growth / MiB:.0f} MiB"
    assert _stored(server) == before


def test_hostile_files_get_clear_errors(server):
    import pandas as pd

    npy = io.BytesIO()
    np.save(npy, np.zeros((5, 3)))
    buf = io.BytesIO()
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": pd.array([True, None, False], dtype="boolean")}).to_parquet(buf)
    cases = [
        ("array.npz", npy.getvalue(), None, 422, "numpy.savez"),
        ("nulls.parquet", buf.getvalue(), "y", 422, "missing values"),
        ("header.csv", b"a,b,y\n", "y", 422, "no data rows"),
        ("dups.csv", b"a,a,y\n1,2,3\n4,5,6\n", "y", 422, "unique"),
        ("huge.csv", b"a,y\n1e150,0\n-2e150,1\n3,1\n", "y", 422, "scale them"),
        ("semi.csv", b"a;b;y\n1;2;3\n4;5;6\n7;8;9\n", "nope", 422, "no column 'nope'"),
    ]
    before = _stored(server)
    for name, content, target, status, words in cases:
        r = server.http.post("/v1/datasets", files={"file": (name, content)}, data={"target": target} if target else {})
        assert r.status_code == status, (name, r.text)
        assert words in r.json()["detail"], (name, r.text)
        assert str(server.data_dir) not in r.text
    assert _stored(server) == before
    ok = server.http.post("/v1/datasets", files={"file": ("semi.csv", cases[-1][1])}, data={"target": "y"})
    assert ok.status_code == 201 and (ok.json()["rows"], ok.json()["columns"]) == (3, 2)


def test_a_hundred_thousand_columns_are_refused_at_once(server):
    header = ",".join(f"c{j}" for j in range(100_000)).encode() + b",y\n"
    content = header + b",".join([b"0"] * 100_001) + b"\n"
    t = time.perf_counter()
    r = server.http.post("/v1/datasets", files={"file": ("wide.csv", content)}, data={"target": "y"})
    elapsed = time.perf_counter() - t
    assert r.status_code == 413 and "columns" in r.json()["detail"]
    assert elapsed < 1.0, elapsed


# ---------------------------------------------------------------------------------------------- parsers
def test_a_parser_over_its_time_or_memory_limit_is_replaced(tmp_path):
    from hypersteal.mlaas.uploads import Limits, ParserPool, UploadError

    small = tmp_path / "small.csv"
    small.write_bytes(b"a,y\n1,2\n3,4\n5,7\n")
    big = tmp_path / "big.csv.gz"
    with gzip.open(big, "wb", compresslevel=1) as gz:
        gz.write(b"a,b,c,y\n")
        for _ in range(100):
            gz.write(b"1.5,2.5,3.5,4\n" * (MiB // 14))
    limits = Limits(max_rows=10**8, max_columns=100, max_bytes=2**30)
    pool = ParserPool(1, memory_bytes=640 * MiB, timeout_s=30)
    pool.start()
    try:
        with pytest.raises(UploadError) as err:  # 100 MiB of text and its frame do not fit in 640 MiB
            pool.parse(big, tmp_path / "out.npz", "big.csv.gz", "y", limits)
        assert err.value.status == 413 and "memory" in err.value.message
        assert pool.parse(small, tmp_path / "out.npz", "small.csv", "y", limits)["rows"] == 3
        pool.timeout_s = 0.01
        with pytest.raises(UploadError) as err:
            pool.parse(big, tmp_path / "out.npz", "big.csv.gz", "y", limits)
        assert err.value.status == 413 and "longer than" in err.value.message
        pool.timeout_s = 30
        assert pool.parse(small, tmp_path / "out.npz", "small.csv", "y", limits)["rows"] == 3
    finally:
        pool.stop()
    assert not pool._all


# ---------------------------------------------------------------------------------------------- workers
def _slow_classification(n=4000, d=20):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + rng.normal(size=n) > 0).astype(int)


@pytest.mark.slow
@linux_only
def test_kill_9_of_the_server_stops_its_workers_and_no_job_runs_twice(tmp_path):
    import sqlite3

    from hypersteal.mlaas import Client

    settings = SETTINGS | {"lease_s": 1.0, "max_upload_bytes": 8 * MiB}
    server = Server(tmp_path / "data", settings)
    try:
        with Client(server.url, server.key) as c:
            X, y = _slow_classification(n=20_000)
            ds = c.upload(X, y)
            jobs = [c.create_model(ds["id"], "sgd_logistic_l2", protocol="II", lam=1.0, passes=100)["id"]
                    for _ in range(2)]
            deadline = time.monotonic() + 60
            while c.model(jobs[0])["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        children = server.children()
        assert len(children) == 2  # one worker, one upload parser
        server.proc.kill()
        server.proc.wait()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children):
            assert time.monotonic() < deadline, "a worker outlived its server by 5 s"
            time.sleep(0.05)
        with sqlite3.connect(server.data_dir / "platform.db") as db:
            before = db.execute("SELECT id, status, attempts FROM models ORDER BY queued_at").fetchall()
        assert [row[1:] for row in before] == [("running", 1), ("queued", 0)]
        time.sleep(1.5)  # nobody takes the queued job, nobody finishes the running one
        with sqlite3.connect(server.data_dir / "platform.db") as db:
            assert db.execute("SELECT id, status, attempts FROM models ORDER BY queued_at").fetchall() == before
    finally:
        server.close()

    again = Server(tmp_path / "data", settings, key=server.key)
    try:
        with Client(again.url, again.key) as c:
            first, second = (c.wait(j, timeout=300) for j in jobs)
        assert first["status"] == second["status"] == "succeeded"
        assert first["attempts"] == 2 and any("restarted" in note for note in first["notes"])
        assert second["attempts"] == 1
        with sqlite3.connect(again.data_dir / "platform.db") as db:
            charges = db.execute("SELECT model_id, COUNT(*) FROM usage WHERE kind = 'training' "
                                 "GROUP BY model_id").fetchall()
        assert sorted(charges) == sorted((j, 1) for j in jobs)  # each job ran to the end once
    finally:
        again.close()


@pytest.mark.slow
def test_time_limit_bills_the_cpu_used_and_errors_hide_paths(tmp_path):
    from hypersteal.mlaas import Client
    from hypersteal.mlaas.embedded import EmbeddedPlatform

    with EmbeddedPlatform(tmp_path / "data", workers=1, job_timeout_s=1.0, lease_s=1.0) as p:
        assert (p.data_dir.stat().st_mode & 0o777) == 0o700
        (worker,) = p.platform._workers.values()
        cmdline = Path(f"/proc/{worker.pid}/cmdline").read_bytes() if Path("/proc").exists() else b""
        assert b"cv_seed" not in cmdline and b"grid" not in cmdline
        with Client(p.url, p.key) as c:
            X, y = _slow_classification(n=20_000)
            ds = c.upload(X, y)
            rec = c.wait(c.create_model(ds["id"], "sgd_logistic_l2", protocol="I", passes=100)["id"],
                         raise_on_failure=False, timeout=120)
            assert rec["status"] == "failed" and "longer than the limit of 1 s" in rec["error"]
            assert 0 < rec["bill"]["compute_seconds"] < 60
            assert c.billing()["compute_seconds"] == rec["bill"]["compute_seconds"]
            # a dataset file lost on the server: the job fails without showing where the file was
            ds2 = c.upload(X[:50], y[:50])
            p.store.dataset_path(ds2["id"]).unlink()
            bad = c.wait(c.create_model(ds2["id"], "logistic_l2", protocol="II", lam=1.0)["id"],
                         raise_on_failure=False, timeout=120)
            assert bad["status"] == "failed" and "stored files" in bad["error"]
            assert str(p.data_dir) not in bad["error"] and "/" not in bad["error"]
