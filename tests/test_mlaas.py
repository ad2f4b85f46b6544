"""The MLaaS platform against a real server on a loopback port (uvicorn in a thread, worker processes)."""

from __future__ import annotations

import io
import json
import threading

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")

from hypersteal.mlaas import Client, PlatformError, train_steal_retrain  # noqa: E402
from hypersteal.mlaas.embedded import EmbeddedPlatform  # noqa: E402
from hypersteal.mlaas.settings import Settings  # noqa: E402

MAX_UPLOAD = 1_000_000


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    settings = Settings(workers=2, max_upload_bytes=MAX_UPLOAD, max_predict_rows=2_000)
    with EmbeddedPlatform(tmp_path_factory.mktemp("mlaas"), settings=settings, tenant="alice") as p:
        yield p


@pytest.fixture(scope="module")
def client(platform):
    with Client(platform.url, platform.key) as c:
        yield c


def _tenant_client(platform, name):
    _, key = platform.store.add_tenant(name)
    return Client(platform.url, key)


def _regression(n=120, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)


def _classification(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X @ rng.normal(size=d) + 0.3 * rng.normal(size=n) > 0).astype(int)


def _stored_files(platform):
    return sorted(p.name for p in (platform.data_dir / "datasets").iterdir()) + sorted(
        p.name for p in (platform.data_dir / "tmp").iterdir())


# ---------------------------------------------------------------------------------------------- auth
def test_every_v1_call_needs_a_key(platform):
    with httpx.Client(base_url=platform.url) as http:
        assert http.get("/healthz").status_code == 200
        for method, path in [("GET", "/v1/algorithms"), ("GET", "/v1/datasets"), ("POST", "/v1/datasets"),
                             ("GET", "/v1/datasets/ds_x"), ("POST", "/v1/models"), ("GET", "/v1/models"),
                             ("GET", "/v1/models/mdl_x"), ("POST", "/v1/models/mdl_x/predict"),
                             ("GET", "/v1/billing")]:
            r = http.request(method, path)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers.get("www-authenticate") == "Bearer"
            for bad in ("Bearer nonsense", "Bearer hsk_000000000000_wrong", f"Basic {platform.key}"):
                assert http.request(method, path, headers={"Authorization": bad}).status_code == 401


@pytest.mark.slow
def test_tenants_cannot_see_each_other(platform, client):
    X, y = _regression()
    ds = client.upload(X, y)
    model = client.train(ds["id"], "ridge", protocol="II", lam=1.0)
    with _tenant_client(platform, "mallory") as other:
        for call in (lambda: other.dataset(ds["id"]), lambda: other.model(model["id"]),
                     lambda: other.predict(model["id"], X[:2]),
                     lambda: other.create_model(ds["id"], "ridge", protocol="II", lam=1.0)):
            with pytest.raises(PlatformError) as err:
                call()
            assert err.value.status == 404
        assert other.datasets() == [] and other.models() == []
        assert other.billing()["total"] == 0.0
    assert client.model(model["id"])["status"] == "succeeded"


def test_keys_are_stored_hashed(platform):
    raw = platform.store.db_path.read_bytes()
    assert platform.key.split("_", 2)[2].encode() not in raw


# ---------------------------------------------------------------------------------------------- uploads
@pytest.mark.parametrize(
    "filename, content, target, status",
    [
        ("data.csv", b"a,b,y\n1,2,3\n4,five,6\n", "y", 422),  # a non-numeric feature
        ("data.csv", b"a,b,y\n1,2,3\n4,5,6\n", "nope", 422),  # no such target
        ("data.csv", b"a,b,y\n1,2,3\n4,5,6\n", None, 422),  # target missing
        ("data.csv", b"", "y", 422),  # empty
        ("data.csv", b"\x00\xff\xfe garbage \x00", "y", 422),
        ("data.csv", b"a,b,y\n1,,3\n4,5,6\n", "y", 422),  # a missing value
        ("data.npz", b"PK\x03\x04 not really a zip", None, 422),
        ("data.parquet", b"PAR1 broken", "y", 422),
        ("data.xlsx", b"whatever", "y", 415),
        ("data", b"\x01\x02\x03", "y", 415),
        ("big.csv", b"a,y\n" + b"1,2\n" * (MAX_UPLOAD // 4 + 10), "y", 413),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(platform, filename, content, target, status):
    before = _stored_files(platform)
    with _tenant_client(platform, "uploader") as c:
        data = {"target": target} if target else {}
        r = c._http.post("/v1/datasets", files={"file": (filename, content)}, data=data)
        assert r.status_code == status, r.text
        assert isinstance(r.json()["detail"], (str, list))
        assert c.datasets() == []
    assert _stored_files(platform) == before


def test_npz_with_object_arrays_is_refused(client, platform):
    buf = io.BytesIO()
    np.savez(buf, X=np.array([[1, 2]], dtype=object), y=np.array([1], dtype=object))
    before = _stored_files(platform)
    r = client._http.post("/v1/datasets", files={"file": ("x.npz", buf.getvalue())})
    assert r.status_code == 422 and "pickle" in r.json()["detail"]
    assert _stored_files(platform) == before


def test_chunked_oversized_upload_is_refused(client, platform):
    before = _stored_files(platform)

    def body():  # a valid multipart stream without Content-Length: the limit is enforced while receiving
        yield b'--zzz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,y\n'
        for _ in range(3):
            yield b"1,2\n" * (MAX_UPLOAD // 8)
        yield b"\r\n--zzz--\r\n"

    r = client._http.post("/v1/datasets", content=body(),
                          headers={"Content-Type": "multipart/form-data; boundary=zzz"})
    assert r.status_code == 413
    assert _stored_files(platform) == before


def test_csv_parquet_and_npz_uploads(client):
    import pandas as pd

    X, y = _regression(n=30, d=3)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y)
    csv = client._http.post("/v1/datasets", files={"file": ("d.csv", frame.to_csv(index=False).encode())},
                            data={"target": "target", "name": "csv data"})
    assert csv.status_code == 201, csv.text
    buf = io.BytesIO()
    frame.to_parquet(buf)
    pq = client._http.post("/v1/datasets", files={"file": ("d.parquet", buf.getvalue())}, data={"target": "target"})
    assert pq.status_code == 201, pq.text
    npz = client.upload(X, y)
    for rec in (csv.json(), pq.json(), npz):
        assert (rec["rows"], rec["columns"], rec["target_kind"]) == (30, 3, "numeric")
        assert client.dataset(rec["id"]) == rec
    labels = frame.assign(target=np.where(y > 0, "yes", "no"))
    lab = client._http.post("/v1/datasets", files={"file": ("l.csv", labels.to_csv(index=False).encode())},
                            data={"target": "target"}).json()
    assert lab["target_kind"] == "labels" and lab["classes"] == ["no", "yes"]


# ---------------------------------------------------------------------------------------------- models
def test_protocol_two_releases_the_exact_model_and_bills_it(client, platform):
    from sklearn.linear_model import Ridge
    from sklearn.svm import LinearSVC

    X, y = _regression()
    ds = client.upload(X, y)
    rec = client.train(ds["id"], "ridge", protocol="II", lam=2.5)
    ref = Ridge(alpha=2.5).fit(X, y)
    np.testing.assert_allclose(rec["parameters"]["coef"], ref.coef_, rtol=1e-10)
    assert rec["lam"] == 2.5 and rec["bill"]["compute_seconds"] > 0
    assert rec["bill"]["compute_cost"] == pytest.approx(rec["bill"]["compute_seconds"] / 3600 * 0.42)

    Xc, yc = _classification()
    dc = client.upload(Xc, yc)
    svm = client.train(dc["id"], "SVM-SHL", protocol="II", lam=0.5, decimals=3)
    ref = LinearSVC(C=1.0, intercept_scaling=1.0).fit(Xc, yc)
    np.testing.assert_allclose(svm["parameters"]["coef"], np.round(ref.coef_[0], 3), atol=2e-3)
    assert svm["parameters"]["decimals"] == 3 and svm["classes"] == [0, 1]
    assert all(round(c, 3) == c for c in svm["parameters"]["coef"])

    before = client.billing()
    out = client.predict(svm["id"], Xc[:7])
    assert out["rows"] == 7 and out["cost"] == pytest.approx(7 * 0.0001)
    f = Xc[:7] @ np.asarray(svm["parameters"]["coef"]) + svm["parameters"]["intercept"]
    np.testing.assert_array_equal(out["predictions"], (f > 0).astype(int))
    after = client.billing()
    assert after["prediction_rows"] == before["prediction_rows"] + 7
    assert after["total"] == pytest.approx(before["total"] + 7 * 0.0001)
    assert client.model(svm["id"])["bill"]["prediction_rows"] == 7


def test_protocol_one_hides_lambda_and_black_box_hides_parameters(client):
    Xc, yc = _classification()
    ds = client.upload(Xc, yc)
    rec = client.train(ds["id"], "logistic_l2", protocol="I", release="predictions")
    assert rec["lam"] is None and rec["parameters"] is None
    assert not {"lam_used", "cv", "token", "worker", "meta"} & set(rec)
    out = client.predict(rec["id"], Xc[:5], decimals=2)
    assert np.all((out["scores"] >= 0) & (out["scores"] <= 1))
    np.testing.assert_array_equal(out["scores"], np.round(out["scores"], 2))


@pytest.mark.parametrize(
    "body, status",
    [
        ({"algorithm": "ridge", "protocol": "II"}, 422),  # no λ
        ({"algorithm": "ridge", "protocol": "I", "lam": 1.0}, 422),  # λ with Protocol I
        ({"algorithm": "no_such_learner", "protocol": "II", "lam": 1.0}, 422),
        ({"algorithm": "svm_hinge", "protocol": "II", "lam": 1.0}, 422),  # classifier on a real target
        ({"algorithm": "ridge", "protocol": "II", "lam": -1.0}, 422),
        ({"algorithm": "ridge", "protocol": "II", "lam": 1.0, "passes": 5}, 422),  # not an SGD learner
        ({"algorithm": "ridge", "protocol": "III"}, 422),
    ],
)
def test_model_requests_are_validated(client, body, status):
    X, y = _regression(n=40)
    ds = client.upload(X, y)
    r = client._http.post("/v1/models", json={"dataset_id": ds["id"], **body})
    assert r.status_code == status, r.text
    r = client._http.post("/v1/models", json={"dataset_id": "ds_missing", "algorithm": "ridge", "protocol": "II",
                                              "lam": 1.0})
    assert r.status_code == 404


def test_predict_checks_rows(client):
    X, y = _regression(n=40)
    rec = client.train(client.upload(X, y)["id"], "ridge", protocol="II", lam=1.0)
    http = client._http
    assert http.post(f"/v1/models/{rec['id']}/predict", json={"rows": [[1.0, 2.0]]}).status_code == 422
    assert http.post(f"/v1/models/{rec['id']}/predict", json={"rows": []}).status_code == 422
    assert http.post(f"/v1/models/{rec['id']}/predict", content=b'{"rows": [[NaN, 1, 1, 1, 1]]}',
                     headers={"Content-Type": "application/json"}).status_code == 422
    assert http.post(f"/v1/models/{rec['id']}/predict", json={"rows": [[0.0] * 5] * 2001}).status_code == 413


def test_sgd_learner_cost_grows_with_passes(client):
    Xc, yc = _classification(n=3000, d=20)
    ds = client.upload(Xc, yc)
    short = client.train(ds["id"], "sgd_logistic_l2", protocol="II", lam=1.0, passes=2)
    long = client.train(ds["id"], "sgd_logistic_l2", protocol="II", lam=1.0, passes=60)
    assert short["passes"] == 2 and long["passes"] == 60
    assert long["bill"]["compute_seconds"] > short["bill"]["compute_seconds"]


# ---------------------------------------------------------------------------------------------- concurrency
def test_twenty_concurrent_clients(platform):
    n_clients = 20
    keys = [platform.store.add_tenant(f"tenant-{i}")[1] for i in range(n_clients)]
    results, errors = [None] * n_clients, []

    def work(i):
        try:
            X, y = _regression(n=60 + i, d=3, seed=i)
            with Client(platform.url, keys[i]) as c:
                ds = c.upload(X, y)
                rec = c.train(ds["id"], "ridge", protocol="II", lam=1.0 + i, timeout=300)
                pred = c.predict(rec["id"], X[:10])
                expected = X[:10] @ np.asarray(rec["parameters"]["coef"]) + rec["parameters"]["intercept"]
                np.testing.assert_allclose(pred["scores"], expected, rtol=1e-12)
                assert [d["id"] for d in c.datasets()] == [ds["id"]]
                assert [m["id"] for m in c.models()] == [rec["id"]]
                bill = c.billing()
                assert bill["prediction_rows"] == 10
                results[i] = (rec["n_rows"], rec["lam"])
        except Exception as exc:  # collected and reported below
            errors.append((i, repr(exc)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert results == [(60 + i, 1.0 + i) for i in range(n_clients)]


# ---------------------------------------------------------------------------------------------- TRT
def test_train_steal_retrain_steals_the_tuned_lambda_exactly(client, platform):
    from hypersteal import datasets

    ds = datasets.load("diabetes")
    report = train_steal_retrain(client, ds.X, ds.y, "ridge", 0.3)
    M1, M2, M3 = (report["methods"][k] for k in ("M1", "M2", "M3"))
    tuned = platform.store.get_model(None, M2["model_id"])["lam_used"]  # the platform's secret
    assert M3["lam"] == pytest.approx(tuned, rel=1e-9)
    assert platform.store.get_model(None, M3["model_id"])["lam_used"] == pytest.approx(tuned, rel=1e-9)
    assert M3["steal"]["identifiable"] and M3["steal"]["queries"] == 0
    parts = M3["components"]
    assert M3["compute_seconds"] == pytest.approx(parts["tuning_seconds"] + parts["steal_seconds"]
                                                  + parts["retrain_seconds"])
    assert parts["tuning_seconds"] == client.model(M2["model_id"])["bill"]["compute_seconds"]
    assert M1["compute_seconds"] == client.model(M1["model_id"])["bill"]["compute_seconds"]
    assert report["speedup"]["M3"] == pytest.approx(M1["compute_seconds"] / M3["compute_seconds"])
    assert report["speedup"]["M2"] == pytest.approx(M1["compute_seconds"] / M2["compute_seconds"])
    assert report["relative_error"]["M3"] == pytest.approx(abs(M3["test_mse"] - M1["test_mse"]) / M1["test_mse"])
    assert (M1["rows"], M2["rows"], M3["rows"]) == (221, 66, 221)
    json.dumps(report)


def test_train_steal_retrain_black_box(client, platform):
    Xc, yc = _classification(n=600, d=6, seed=3)
    report = train_steal_retrain(client, Xc, yc, "logistic_l2", 0.2, black_box=True)
    M2, M3 = report["methods"]["M2"], report["methods"]["M3"]
    assert M3["steal"]["queries"] == 7  # d + 1 rows through the prediction API
    assert M3["components"]["query_bill"] == pytest.approx(7 * 0.0001)
    tuned = platform.store.get_model(None, M2["model_id"])["lam_used"]
    assert M3["lam"] == pytest.approx(tuned, rel=1e-2)  # lbfgs at tol 1e-6: close, not exact
    assert client.model(M3["model_id"])["parameters"] is None
    assert 0.0 <= report["relative_error"]["M3"] < 0.05


def test_cli_trt_against_a_running_server(platform, client):
    from typer.testing import CliRunner

    from hypersteal.mlaas.cli import main, trt

    report = trt("diabetes", "ridge", 0.5, server=platform.url, api_key=platform.key, as_json=True)
    assert set(report["methods"]) == {"M1", "M2", "M3"}
    import typer

    standalone = typer.Typer()
    standalone.command()(trt)
    result = CliRunner().invoke(standalone, ["--dataset", "diabetes", "--algorithm", "RR", "--fraction", "0.5",
                                             "--server", platform.url, "--json"],
                                env={"HYPERSTEAL_API_KEY": platform.key})
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"methods", "speedup", "relative_error"} <= set(out) and out["algorithm"] == "ridge"
    assert main is not None


def test_cli_add_tenant_prints_a_working_key(platform, tmp_path):
    from typer.testing import CliRunner

    from hypersteal.mlaas.cli import app

    result = CliRunner().invoke(app, ["add-tenant", "carol", "--data-dir", str(platform.data_dir)])
    assert result.exit_code == 0, result.output
    key = result.output.split()[-1]
    with Client(platform.url, key) as c:
        assert c.billing()["tenant"] == "carol"


@pytest.mark.slow
def test_cli_trt_with_an_embedded_platform(capsys):
    from hypersteal.mlaas.cli import trt

    report = trt("diabetes", "ridge", 0.5)
    text = capsys.readouterr().out
    assert text.startswith("Train-Steal-Retrain: ridge on diabetes") and "Stolen λ" in text
    assert report["methods"]["M3"]["steal"]["identifiable"]


def test_settings_file_and_overrides(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"price_per_compute_hour": 1.5, "grid": [0.5, 5.0]}))
    s = Settings.load(tmp_path, workers=3, price_per_prediction=None)
    assert (s.price_per_compute_hour, s.grid, s.workers, s.price_per_prediction) == (1.5, (0.5, 5.0), 3, 0.0001)
    (tmp_path / "settings.json").write_text(json.dumps({"no_such_setting": 1}))
    with pytest.raises(ValueError, match="unknown setting"):
        Settings.load(tmp_path)
