"""Load benchmark of the MLaaS platform: one command, a table on stdout, every number in JSON.

    python benchmarks/load.py                       # 20 and 50 clients, 20 s each, plus the slow-upload check
    python benchmarks/load.py --clients 20 --duration 10 --json load.json
    python benchmarks/load.py --clients --duration 10     # only the slow-upload check

A real server runs in its own process (``hypersteal.mlaas.embedded.serve`` on a loopback port, 2 training
workers, 2 upload parsers, a fresh data directory deleted afterwards); the clients are asyncio tasks with
httpx in this process, one tenant each. Every client repeats a mix of requests for ``--duration`` seconds:

* 80 % predictions (10 rows) against the tenant's model,
* 10 % uploads (a 200 × 10 npz dataset),
* 10 % trainings (``POST /v1/models``, ridge, Protocol II; the job runs in the background).

Reported per run: requests per second, latency p50/p90/p99 for all requests and per kind, and the count
of 5xx answers and of connection errors. The slow-upload check measures 10 clients' prediction p99 while
idle, then while another tenant uploads a large CSV (``--upload-mb``) over and over from a process of its own,
in ``--rounds`` alternating pairs of windows that share ``--duration`` seconds each side.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, settings: dict) -> tuple[subprocess.Popen, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(json.dumps(settings))
    port = _free_port()
    code = ("import sys; from hypersteal.mlaas.embedded import serve; "
            "serve(port=int(sys.argv[1]), data_dir=sys.argv[2], log_level='warning')")
    proc = subprocess.Popen([sys.executable, "-c", code, str(port), str(data_dir)],
                            env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.1)


def _npz(n: int, d: int, seed: int) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    buf = io.BytesIO()
    np.savez(buf, X=X, y=X @ rng.normal(size=d))
    return buf.getvalue(), X


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


async def _setup_tenant(url: str, key: str, seed: int) -> dict:
    """A dataset and a trained model for one tenant."""
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as http:
        data, X = _npz(200, 10, seed)

        async def ok(method, path, **kwargs):
            r = await http.request(method, path, **kwargs)
            if r.status_code >= 400:
                raise RuntimeError(f"setup: {method} {path} → {r.status_code}: {r.text}")
            return r.json()

        ds = await ok("POST", "/v1/datasets", files={"file": ("d.npz", data)})
        model = await ok("POST", "/v1/models", json={"dataset_id": ds["id"], "algorithm": "ridge", "protocol": "II",
                                                     "lam": 1.0})
        while model["status"] not in ("succeeded", "failed"):
            await asyncio.sleep(0.2)
            model = (await http.get(f"/v1/models/{model['id']}")).json()
        return {"key": key, "dataset": ds["id"], "model": model["id"], "rows": X[:10].tolist(), "upload": data}


async def _client(url, tenant, until, mix, out, rng):
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {tenant['key']}"},
                                 timeout=120) as http:
        while time.monotonic() < until:
            kind = rng.choices(list(mix), weights=list(mix.values()))[0]
            t = time.perf_counter()
            try:
                if kind == "predict":
                    r = await http.post(f"/v1/models/{tenant['model']}/predict", json={"rows": tenant["rows"]})
                elif kind == "upload":
                    r = await http.post("/v1/datasets", files={"file": ("d.npz", tenant["upload"])})
                else:
                    r = await http.post("/v1/models", json={"dataset_id": tenant["dataset"], "algorithm": "ridge",
                                                            "protocol": "II", "lam": rng.uniform(0.1, 10)})
                out.append((kind, time.perf_counter() - t, r.status_code))
            except httpx.HTTPError as exc:
                out.append((kind, time.perf_counter() - t, type(exc).__name__))


def _summary(samples, seconds) -> dict:
    lat = [s[1] for s in samples if isinstance(s[2], int)]
    res = {"requests": len(samples), "throughput_rps": len(samples) / seconds,
           "p50_ms": _pct(lat, 50), "p90_ms": _pct(lat, 90), "p99_ms": _pct(lat, 99),
           "status": {}, "connection_errors": sum(1 for s in samples if not isinstance(s[2], int)),
           "server_errors": sum(1 for s in samples if isinstance(s[2], int) and s[2] >= 500), "by_kind": {}}
    for s in samples:
        res["status"][str(s[2])] = res["status"].get(str(s[2]), 0) + 1
    for kind in sorted({s[0] for s in samples}):
        k = [s[1] for s in samples if s[0] == kind and isinstance(s[2], int)]
        res["by_kind"][kind] = {"n": len(k), "p50_ms": _pct(k, 50), "p90_ms": _pct(k, 90), "p99_ms": _pct(k, 99)}
    return res


async def run_load(url, tenants, duration, mix, seed=0) -> dict:
    out: list = []
    until = time.monotonic() + duration
    t = time.perf_counter()
    await asyncio.gather(*(_client(url, tn, until, mix, out, random.Random(seed + i)) for i, tn in enumerate(tenants)))
    return _summary(out, time.perf_counter() - t)


def _uploader(url, key, path, go, stop, in_flight, out) -> None:
    """Upload the CSV at ``path`` over and over while ``go`` is set, until ``stop`` is set. It runs in its own
    process (another tenant's machine), so sending 15 MiB does not stall the measuring clients' event loop;
    ``in_flight`` is 1 while an upload is under way."""
    data = Path(path).read_bytes()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as http:
        while not stop.is_set():
            if not go.wait(0.05):
                continue
            in_flight.value = 1
            t = time.perf_counter()
            r = http.post("/v1/datasets", files={"file": ("big.csv", data)}, data={"target": "y"})
            in_flight.value = 0
            out.put((time.perf_counter() - t, r.status_code))
    out.put(None)


def _merge(windows: list[list]) -> dict:
    samples = [s for w in windows for s in w[0]]
    return _summary(samples, sum(w[1] for w in windows))


async def _window(url, tenants, duration, mix) -> tuple[list, float]:
    out: list = []
    until = time.monotonic() + duration
    t = time.perf_counter()
    await asyncio.gather(*(_client(url, tn, until, mix, out, random.Random(i)) for i, tn in enumerate(tenants)))
    return out, time.perf_counter() - t


async def slow_upload_check(url, tenants, upload_key, upload_mb, duration, tmp, rounds=3) -> dict:
    """Prediction latency of 10 clients, idle and while another tenant uploads a large CSV over and over:
    ``rounds`` pairs of windows (idle, then uploading) of ``duration / rounds`` seconds each, so a change
    in the machine's other load during the check falls on both sides alike."""
    import multiprocessing

    predict_only = {"predict": 1.0}
    rng = np.random.default_rng(0)
    rows = int(upload_mb * 2**20 / 100)
    frame = rng.normal(size=(rows, 5))
    text = "a,b,c,d,y\n" + "\n".join(",".join(f"{v:.12f}" for v in row) for row in frame) + "\n"
    path = Path(tmp) / "big.csv"
    path.write_text(text)
    ctx = multiprocessing.get_context("spawn")
    go, stop, in_flight, results = ctx.Event(), ctx.Event(), ctx.Value("i", 0), ctx.Queue()
    proc = ctx.Process(target=_uploader, args=(url, upload_key, str(path), go, stop, in_flight, results))
    proc.start()
    idle, busy = [], []
    try:
        for _ in range(rounds):
            go.clear()
            while in_flight.value:  # the last upload of the busy window has finished
                await asyncio.sleep(0.02)
            idle.append(await _window(url, tenants, duration / rounds, predict_only))
            go.set()
            await asyncio.sleep(0.5)  # the first upload is under way
            busy.append(await _window(url, tenants, duration / rounds, predict_only))
    finally:
        stop.set()
        go.set()
    uploads = []
    while (item := await asyncio.to_thread(results.get)) is not None:
        uploads.append(item)
    proc.join(timeout=60)
    idle_s, busy_s = _merge(idle), _merge(busy)
    return {"upload_bytes": len(text), "rounds": rounds, "uploads": [{"seconds": s, "status": c} for s, c in uploads],
            "idle": idle_s, "during_upload": busy_s, "p99_ratio": busy_s["p99_ms"] / idle_s["p99_ms"],
            "p99_ratio_by_round": [_summary(b[0], b[1])["p99_ms"] / _summary(i[0], i[1])["p99_ms"]
                                   for i, b in zip(idle, busy)]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, nargs="*", default=[20, 50],
                    help="Clients of each mixed-load run (none: only the slow-upload check).")
    ap.add_argument("--duration", type=float, default=20.0, help="Seconds of load per run.")
    ap.add_argument("--upload-mb", type=float, default=20.0, help="CSV size of the slow-upload check (0: skip).")
    ap.add_argument("--rounds", type=int, default=3, help="Idle/uploading window pairs of the slow-upload check.")
    ap.add_argument("--json", type=Path, help="Write every number here.")
    args = ap.parse_args(argv)
    mix = {"predict": 0.8, "upload": 0.1, "train": 0.1}
    n_tenants = max([*args.clients, 10])
    settings = {"workers": 2, "parsers": 2, "max_queued_jobs": 10**6, "max_storage_bytes": 2**40,
                "max_prediction_rows_per_minute": 10**9}
    report = {"cpus": os.cpu_count(), "load_before": os.getloadavg(), "duration_s": args.duration, "mix": mix,
              "runs": []}
    with tempfile.TemporaryDirectory(prefix="hypersteal-load-") as tmp:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from hypersteal.mlaas.store import Store

        data_dir = Path(tmp) / "data"
        keys = [Store(data_dir).add_tenant(f"client-{i}")[1] for i in range(n_tenants + 1)]
        proc, url = start_server(data_dir, settings)
        try:
            async def setup():
                sem = asyncio.Semaphore(10)

                async def one(i, k):
                    async with sem:
                        return await _setup_tenant(url, k, i)

                return await asyncio.gather(*(one(i, k) for i, k in enumerate(keys[:n_tenants])))

            tenants = asyncio.run(setup())
            for n in args.clients:
                res = asyncio.run(run_load(url, tenants[:n], args.duration, mix))
                res["clients"] = n
                report["runs"].append(res)
            if args.upload_mb > 0:
                report["slow_upload"] = asyncio.run(slow_upload_check(url, tenants[:10], keys[-1], args.upload_mb,
                                                                      args.duration, tmp, args.rounds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    report["load_after"] = os.getloadavg()

    print(f"{'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'5xx':>4} "
          f"{'conn err':>8}   per kind p50/p99 ms")
    for r in report["runs"]:
        kinds = ", ".join(f"{k} {v['p50_ms']:.0f}/{v['p99_ms']:.0f} (n={v['n']})" for k, v in r["by_kind"].items())
        print(f"{r['clients']:>7} {r['requests']:>8} {r['throughput_rps']:>7.1f} {r['p50_ms']:>8.1f} "
              f"{r['p90_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['server_errors']:>4} {r['connection_errors']:>8}   {kinds}")
    if "slow_upload" in report:
        s = report["slow_upload"]
        up = s["uploads"]
        print(f"slow upload ({s['upload_bytes'] / 2**20:.1f} MiB CSV, {len(up)} uploads, "
              f"{np.median([u['seconds'] for u in up]) if up else float('nan'):.1f} s each, statuses "
              f"{sorted({u['status'] for u in up})}): 10 clients' predict p99 {s['idle']['p99_ms']:.1f} ms idle, "
              f"{s['during_upload']['p99_ms']:.1f} ms during uploads (×{s['p99_ratio']:.2f}; by round "
              f"{', '.join(f'×{r:.2f}' for r in s['p99_ratio_by_round'])}); "
              f"throughput {s['idle']['throughput_rps']:.0f} → {s['during_upload']['throughput_rps']:.0f} req/s")
    print(f"load average before {report['load_before'][0]:.1f}, after {report['load_after'][0]:.1f} "
          f"on {report['cpus']} CPUs")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
