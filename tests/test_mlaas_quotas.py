"""Quotas, metering that stays cheap with usage, damaged stored files and request-body limits."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")

from hypersteal.mlaas import Client, PlatformError  # noqa: E402
from hypersteal.mlaas.embedded import EmbeddedPlatform  # noqa: E402
from hypersteal.mlaas.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    settings = Settings(workers=1, parsers=1, max_json_bytes=64 * 1024, max_prediction_rows_per_minute=50,
                        max_storage_bytes=200_000)
    with EmbeddedPlatform(tmp_path_factory.mktemp("quotas"), settings=settings, tenant=None) as p:
        yield p


def _client(platform, name):
    return Client(platform.url, platform.store.add_tenant(name)[1])


def _data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d)


def test_prediction_rows_per_minute_and_usage_rows_stay_few(platform):
    with _client(platform, "predictor") as c:
        X, y = _data()
        model = c.train(c.upload(X, y)["id"], "ridge", protocol="II", lam=1.0)
        if time.time() % 60 > 55:  # all requests below in one minute's bucket
            time.sleep(61 - time.time() % 60)
        for i in range(40):
            c.predict(model["id"], X[i:i + 1])
        with pytest.raises(PlatformError) as err:
            c.predict(model["id"], X[:11])  # 40 + 11 > 50
        assert err.value.status == 429 and "limit is 50 a minute" in err.value.detail
        r = c._http.post(f"/v1/models/{model['id']}/predict", json={"rows": X[:11].tolist()})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        assert c.predict(model["id"], X[:10])["rows"] == 10  # exactly up to the limit
        bill = c.billing()
        assert bill["prediction_rows"] == 50 and bill["prediction_cost"] == pytest.approx(50 * 0.0001)
        assert c.model(model["id"])["bill"]["prediction_rows"] == 50
    with sqlite3.connect(platform.store.db_path) as db:
        for table in ("usage", "usage_minutes", "usage_totals"):
            n = db.execute(f"SELECT COUNT(*) FROM {table} WHERE model_id = ? AND kind = 'prediction'",
                           (model["id"],)).fetchone()[0]
            assert n <= 1, (table, n)  # 41 requests: one bucket, one total, no row per request


def test_storage_quota(platform):
    with _client(platform, "hoarder") as c:
        X, y = _data(n=3000, d=5)  # 120,000 bytes of features
        c.upload(X, y)
        r = c._http.post("/v1/datasets", files={"file": ("d.npz", _npz(X, y))})
        assert r.status_code == 429 and "storage" in r.json()["detail"] and r.headers["retry-after"]
        assert len(c.datasets()) == 1


def _concurrently(calls):
    """Run the calls at once (one thread each, released together); their results in order."""
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_storage_quota_holds_under_concurrent_uploads(platform):
    """A tenant 80,000 bytes below its quota sends eight 40,000-byte uploads at once: exactly two fit, and
    the stored total never passes the quota (each upload is checked where it is stored)."""
    _, key = platform.store.add_tenant("rushed")
    tenant = platform.store.authenticate(key)["id"]
    headers = {"Authorization": f"Bearer {key}"}
    X, y = _data(n=3000, d=5)  # 120,000 of the 200,000 bytes
    with httpx.Client(base_url=platform.url, headers=headers, timeout=60) as http:
        assert http.post("/v1/datasets", files={"file": ("d.npz", _npz(X, y))}).status_code == 201
    bodies = [_npz(*_data(n=1000, d=5, seed=i)) for i in range(8)]  # 40,000 bytes each

    def upload(body):
        with httpx.Client(base_url=platform.url, headers=headers, timeout=60) as http:
            return http.post("/v1/datasets", files={"file": ("d.npz", body)})

    answers = _concurrently([lambda b=b: upload(b) for b in bodies])
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * 2 + [429] * 6, statuses
    assert all("storage" in r.json()["detail"] and r.headers["retry-after"] for r in answers if r.status_code == 429)
    assert platform.store.storage_bytes(tenant) == 200_000
    stored = {p.stem for p in (platform.data_dir / "datasets").iterdir()}
    records = {d["id"] for d in platform.store.list_datasets(tenant)}
    assert len(records) == 3 and records <= stored  # a record for every stored file of the tenant's, no more
    assert not list((platform.data_dir / "tmp").iterdir())


def test_prediction_quota_holds_under_concurrent_requests(platform):
    """Forty 5-row requests at once against the 50-row-a-minute quota: ten are answered and billed (each
    request is checked where it is charged)."""
    with _client(platform, "eager") as c:
        X, y = _data()
        model = c.train(c.upload(X, y)["id"], "ridge", protocol="II", lam=1.0)
        if time.time() % 60 > 50:  # every request in one minute's bucket
            time.sleep(61 - time.time() % 60)

        def predict():
            with httpx.Client(base_url=platform.url, headers=c._http.headers, timeout=60) as http:
                return http.post(f"/v1/models/{model['id']}/predict", json={"rows": X[:5].tolist()}).status_code

        statuses = sorted(_concurrently([predict] * 40))
        assert statuses == [200] * 10 + [429] * 30, statuses
        assert c.billing()["prediction_rows"] == 50


def test_the_meter_checks_a_quota_where_it_charges(tmp_path):
    """The store's side of the prediction quota: 16 threads charging 7 rows at once against a limit of 50."""
    from hypersteal.mlaas.store import Store

    store = Store(tmp_path / "data")
    tenant, _ = store.add_tenant("t")
    if time.time() % 60 > 55:
        time.sleep(61 - time.time() % 60)
    charged = _concurrently([lambda: store.record_usage(tenant, "m", "prediction", 7, "rows", 0.0007, limit=50)] * 16)
    assert sum(charged) == 7 and store.usage_this_minute(tenant, "prediction") == 49
    assert store.usage_by_model(tenant)["m"]["prediction"][0] == 49


def _npz(X, y):
    import io

    buf = io.BytesIO()
    np.savez(buf, X=X, y=y)
    return buf.getvalue()


def test_damaged_parameters_break_only_their_model(platform):
    with _client(platform, "unlucky") as c:
        X, y = _data()
        ds = c.upload(X, y)
        good = c.train(ds["id"], "ridge", protocol="II", lam=1.0)
        bad = c.train(ds["id"], "ridge", protocol="II", lam=2.0)
        platform.store.params_path(bad["id"]).write_bytes(b"PK\x03\x04 not an npz any more")
        platform.platform.params.cache_clear()  # as after a restart: the damaged file is read again
        listed = {m["id"]: m for m in c.models()}
        assert listed[good["id"]]["parameters"] == good["parameters"]
        assert listed[bad["id"]]["parameters"] is None and "unreadable" in listed[bad["id"]]["error"]
        for call in (lambda: c.model(bad["id"]), lambda: c.predict(bad["id"], X[:2])):
            with pytest.raises(PlatformError) as err:
                call()
            assert err.value.status == 500 and bad["id"] in err.value.detail
            assert str(platform.data_dir) not in err.value.detail
        assert c.predict(good["id"], X[:2])["rows"] == 2
        assert c.billing()["models"]


def test_json_bodies_are_limited_before_parsing(platform):
    with _client(platform, "verbose") as c:
        big = b'{"rows": [' + b",".join([b"[1.0, 2.0, 3.0]"] * 20_000) + b"]}"  # 340 KB > 64 KiB
        t = time.perf_counter()
        r = c._http.post("/v1/models/mdl_none/predict", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "65536 bytes" in r.json()["detail"]

        def chunks():  # no Content-Length: refused while it arrives
            yield b'{"rows": ['
            for _ in range(200):
                yield b"[1.0, 2.0, 3.0]," * 100
            yield b"[1.0]]}"

        r = c._http.post("/v1/models/mdl_none/predict", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert time.perf_counter() - t < 5
        small = c._http.post("/v1/datasets", files={"file": ("d.npz", _npz(*_data()))})
        assert small.status_code == 201  # uploads keep their own (larger) limit


def test_model_request_validation(platform):
    with _client(platform, "sloppy") as c:
        ds = c.upload(*_data())
        for lam in (True, "1.0"):
            r = c._http.post("/v1/models", json={"dataset_id": ds["id"], "algorithm": "ridge", "protocol": "II",
                                                 "lam": lam})
            assert r.status_code == 422, (lam, r.text)
        r = c._http.post("/v1/models", json={"dataset_id": ds["id"], "algorithm": "ridge", "protocol": "II", "lam": 2})
        assert r.status_code == 202 and r.json()["lam"] == 2.0


def test_train_steal_retrain_checks_the_fraction(platform):
    from hypersteal.mlaas import train_steal_retrain

    with _client(platform, "student") as c:
        X, y = _data()
        for q in (0, 1.5, -0.1, True, float("nan")):
            with pytest.raises(ValueError, match=r"\(0, 1\]"):
                train_steal_retrain(c, X, y, "ridge", q)
        assert c.datasets() == []


@pytest.mark.slow
def test_queued_jobs_quota_and_usage_reads_with_a_million_predictions(tmp_path):
    from hypersteal.mlaas.store import Store

    data_dir = tmp_path / "legacy"
    store = Store(data_dir)
    tenant, key = store.add_tenant("busy")
    # a database of the earlier layout: one usage row per prediction request, a million of them
    with store.transaction() as db:
        for i in range(20):
            db.execute("INSERT INTO datasets (id, tenant_id, format, rows, columns, bytes, meta, created_at) "
                       "VALUES (?, ?, 'npz', 10, 2, 0, '{\"target_kind\": \"numeric\"}', '')", (f"ds_{i}", tenant))
            db.execute("INSERT INTO models (id, tenant_id, dataset_id, algorithm, protocol, release, status, "
                       "created_at, queued_at) VALUES (?, ?, ?, 'ridge', 'I', 'predictions', 'succeeded', '', ?)",
                       (f"mdl_{i}", tenant, f"ds_{i}", float(i)))
        db.execute("WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 999999) "
                   "INSERT INTO usage (tenant_id, model_id, kind, quantity, unit, amount, created_at) "
                   "SELECT ?, 'mdl_' || (i % 20), 'prediction', 2, 'rows', 0.0002, '' FROM c", (tenant,))
        db.execute("DELETE FROM usage_totals")
        db.execute("PRAGMA user_version = 0")
    settings = Settings(workers=0, parsers=1, max_queued_jobs=2)
    with EmbeddedPlatform(data_dir, settings=settings, tenant=None) as p, \
            httpx.Client(base_url=p.url, headers={"Authorization": f"Bearer {key}"}) as http:
        t = time.perf_counter()
        models = http.get("/v1/models").json()
        bill = http.get("/v1/billing").json()
        elapsed = time.perf_counter() - t
        assert len(models) == 20 and all(m["bill"]["prediction_rows"] == 100_000 for m in models)
        assert bill["prediction_rows"] == 2_000_000 and bill["prediction_cost"] == pytest.approx(200.0)
        assert elapsed < 1.0, elapsed  # the totals, not a scan of a million rows per model
        body = {"dataset_id": "ds_0", "algorithm": "ridge", "protocol": "II", "lam": 1.0}
        assert [http.post("/v1/models", json=body).status_code for _ in range(2)] == [202, 202]
        r = http.post("/v1/models", json=body)
        assert r.status_code == 429 and "2 jobs queued" in r.json()["detail"] and int(r.headers["retry-after"]) > 0


def test_running_jobs_quota_and_leases_in_the_store(tmp_path):
    from hypersteal.mlaas.store import Store

    store = Store(tmp_path / "data")
    assert (store.root.stat().st_mode & 0o777) == 0o700
    jobs = {}
    for name in ("a", "b"):
        tenant, _ = store.add_tenant(name)
        store.add_dataset(tenant, X=np.zeros((4, 1)), y=np.arange(4.0), feature_names=["x"], name="d", fmt="npz",
                          target=None, nbytes=0, meta={})
        ds = store.list_datasets(tenant)[0]["id"]
        jobs[name] = [store.add_model(tenant, {"dataset_id": ds, "algorithm": "ridge", "protocol": "II", "lam": 1.0,
                                               "release": "parameters"})["id"] for _ in range(2)]
    first = store.claim_job("w0", lease_s=60, max_running=1)
    assert first["id"] == jobs["a"][0]
    second = store.claim_job("w1", lease_s=60, max_running=1)
    assert second["id"] == jobs["b"][0]  # a has its one running job: b's turn, not a's second
    assert store.claim_job("w2", lease_s=60, max_running=1) is None  # both at their limit
    assert store.renew_lease(first["id"], first["token"], 60, cpu_seconds=1.5)
    # a lease that ran out is requeued (once); the worker that held it can no longer renew or finish it
    assert sorted(store.requeue_running(worker=None, reason="lease ended", max_attempts=3,
                                        expired_before=time.time() + 120)) == sorted([first["id"], second["id"]])
    assert not store.renew_lease(first["id"], first["token"], 60)
    assert not store.finish_job(first["id"], first["token"], status="succeeded", charge=(1.0, 0.1))
    assert store.get_model(None, first["id"])["status"] == "queued"
    assert store.usage_by_model(store.get_model(None, first["id"])["tenant_id"]) == {}


def test_the_server_checkpoints_the_wal_off_the_requests_path(tmp_path):
    """With background checkpoints, commits never checkpoint (the WAL grows past SQLite's 1000-page
    automatic checkpoint) until :meth:`Store.checkpoint` runs; after it the WAL is reused from its start."""
    from hypersteal.mlaas.store import Store

    def wal_pages(store, writes):
        tenant, _ = store.add_tenant("t")
        for i in range(writes):
            store.record_usage(tenant, f"m{i}", "prediction", 1, "rows", 0.0)
        return (store.db_path.parent / "platform.db-wal").stat().st_size / 4096

    assert wal_pages(Store(tmp_path / "inline"), 1500) < 1100  # SQLite's own checkpoint at 1000 pages
    store = Store(tmp_path / "background", background_checkpoints=True)
    grown = wal_pages(store, 1500)
    assert grown > 1500
    store.checkpoint()
    assert wal_pages(store, 300) == grown  # the checkpointed WAL is written again from its start, not grown
