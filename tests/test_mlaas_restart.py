"""The platform keeps datasets, models, queued and running jobs and bills across restarts and crashes."""

from __future__ import annotations

import sqlite3
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")

from hypersteal.mlaas import Client  # noqa: E402
from hypersteal.mlaas.embedded import EmbeddedPlatform  # noqa: E402
from hypersteal.mlaas.service import Platform  # noqa: E402


def _data(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)


@pytest.mark.slow
def test_restart_keeps_datasets_models_jobs_and_bills(tmp_path):
    data_dir = tmp_path / "platform"
    X, y = _data()
    # 1. a server trains a model, answers predictions and bills them
    with EmbeddedPlatform(data_dir, workers=1, tenant="alice") as p:
        key = p.key
        with Client(p.url, key) as c:
            ds = c.upload(X, y)
            done = c.train(ds["id"], "ridge", protocol="II", lam=2.0)
            c.predict(done["id"], X[:5])
            bill = c.billing()
            with pytest.raises(RuntimeError, match="Another"):  # one server per data directory
                Platform(data_dir).start()
    assert bill["prediction_rows"] == 5 and bill["compute_seconds"] > 0

    # 2. a server without workers accepts jobs; it stops before running them
    with EmbeddedPlatform(data_dir, workers=0, tenant=None) as p, Client(p.url, key) as c:
        queued = c.create_model(ds["id"], "ridge", protocol="I")
        crashed = c.create_model(ds["id"], "ridge", protocol="II", lam=3.0)
        assert c.model(queued["id"])["status"] == "queued"
    # ... and the second job was being trained when the machine died
    with sqlite3.connect(data_dir / "platform.db") as db:
        db.execute("UPDATE models SET status = 'running', worker = 'w0-dead', attempts = 1 WHERE id = ?",
                   (crashed["id"],))

    # 3. a new server on the same directory has everything and finishes both jobs
    with EmbeddedPlatform(data_dir, workers=1, tenant=None) as p, Client(p.url, key) as c:
        assert c.dataset(ds["id"]) == ds
        again = c.model(done["id"])
        assert again["parameters"] == done["parameters"]
        assert again["bill"]["compute_seconds"] == done["bill"]["compute_seconds"]
        assert again["bill"]["prediction_rows"] == 5
        assert [line for line in c.billing()["models"] if line["model_id"] == done["id"]] == \
               [line for line in bill["models"] if line["model_id"] == done["id"]]
        q = c.wait(queued["id"], timeout=120)
        r = c.wait(crashed["id"], timeout=120)
        assert q["status"] == r["status"] == "succeeded"
        assert r["attempts"] == 2 and any("restarted" in note for note in r["notes"])
        assert r["lam"] == 3.0
        after = c.billing()
        assert after["compute_seconds"] == pytest.approx(
            bill["compute_seconds"] + q["bill"]["compute_seconds"] + r["bill"]["compute_seconds"])

        # 4. a worker killed in the middle of a job: the monitor requeues the job and replaces the worker
        rng = np.random.default_rng(1)
        Xc = rng.normal(size=(5000, 20))
        dc = c.upload(Xc, (Xc[:, 0] + rng.normal(size=5000) > 0).astype(int))
        slow = c.create_model(dc["id"], "sgd_logistic_l2", protocol="I", passes=40)
        deadline = time.monotonic() + 60
        while c.model(slow["id"])["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        (victim,) = p.platform._workers.values()
        victim.kill()
        rec = c.wait(slow["id"], timeout=180)
        assert rec["status"] == "succeeded" and rec["attempts"] == 2
        assert any("worker died" in note for note in rec["notes"])
