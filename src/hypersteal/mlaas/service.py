"""The platform's HTTP service (FastAPI) and its worker pool.

Import this module only to run a platform: it imports FastAPI.  :func:`create_app` builds the ASGI app;
its lifespan starts the :class:`Platform` (worker processes, monitor thread) and stops it.

Endpoints (all under ``/v1`` need ``Authorization: Bearer KEY``; a missing or unknown key → 401, a
resource of another tenant → 404, exactly as one that does not exist):

=======================================  ==========================================================
``GET /healthz``                          liveness (no key)
``GET /v1/algorithms``                    the learner catalogue and the price list
``POST /v1/datasets``                     multipart: ``file`` (CSV, Parquet or npz), ``target``, ``name``
``GET /v1/datasets``, ``/v1/datasets/{id}``
``POST /v1/models``                       train: Protocol I (the platform tunes λ) or II (λ given)
``GET /v1/models``, ``/v1/models/{id}``   status, bill, parameters when released
``POST /v1/models/{id}/predict``          black-box answers, billed per row
``GET /v1/billing``                       the tenant's meter readings and charges
=======================================  ==========================================================
"""

from __future__ import annotations

import contextlib
import functools
import json
import json as _json
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, Strict

from .settings import Settings
from .store import Store
from .training import LEARNERS, learner
from .uploads import Limits, ParserPool, UploadError

__all__ = ["create_app", "Platform"]

try:  # POSIX: one server per data directory
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


# ======================================================================================================
# The worker pool


class Platform:
    """The store, the training worker processes and the monitor that replaces dead workers."""

    def __init__(self, data_dir, settings: Settings | None = None):
        self.settings = settings or Settings.load(data_dir)
        self.store = Store(data_dir)
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
        """Replace dead workers (requeueing their job), requeue jobs whose lease ran out, and enforce the
        job time limit (billing the CPU the killed job used)."""
        while not self._stopping.wait(0.5):
            try:
                self._watch_once()
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


# ======================================================================================================
# Request and response bodies

Finite = Annotated[float, Field(allow_inf_nan=False)]


class ModelIn(BaseModel):
    """A training request."""

    model_config = ConfigDict(extra="forbid")
    dataset_id: str = Field(description="A dataset of yours.")
    algorithm: str = Field(description="A learner of GET /v1/algorithms, e.g. ridge, svm_squared_hinge.")
    protocol: Literal["I", "II"] = Field("I", description="I: the platform tunes λ by cross-validation; "
                                                          "II: you give λ.")
    lam: Annotated[float, Strict()] | None = Field(None, gt=0, allow_inf_nan=False,
                              description="λ in the paper's units (sum loss, penalty without ½); Protocol II only.")
    release: Literal["parameters", "predictions"] = Field(
        "parameters", description="parameters: GET returns the model; predictions: black-box, predict only.")
    decimals: int | None = Field(None, ge=0, le=15, description="Round released parameters (or, for a "
                                                                 "black-box model, answers) to this many decimals.")
    passes: int | None = Field(None, ge=1, description="SGD learners: passes over the data (default 10).")


class PredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[list[Finite]] = Field(description="Feature rows, one list per instance.", min_length=1)
    decimals: int | None = Field(None, ge=0, le=15, description="Round the answers to this many decimals.")


class Problem(BaseModel):
    detail: str | list[dict[str, Any]] = Field(description="What went wrong (a list for invalid request fields).")


class DatasetOut(BaseModel):
    id: str
    name: str | None
    format: str
    target: str | None
    rows: int
    columns: int
    bytes: int
    target_kind: str
    classes: list[Any] | None = None
    class_counts: list[int] | None = None
    created_at: str


class Bill(BaseModel):
    compute_seconds: float
    compute_cost: float
    prediction_rows: int
    prediction_cost: float
    total: float
    currency: str = "USD"


class Parameters(BaseModel):
    coef: list[float]
    intercept: float
    classes: list[Any] | None = None
    decimals: int | None = None


class ModelOut(BaseModel):
    id: str
    dataset_id: str
    algorithm: str
    protocol: str
    lam: float | None = Field(None, description="The λ you gave (Protocol II); Protocol I's λ is not disclosed.")
    release: str
    decimals: int | None
    passes: int | None
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: str
    started_at: float | None
    finished_at: float | None
    attempts: int
    error: str | None
    notes: list[str]
    learner: dict[str, Any]
    n_rows: int | None = None
    n_features: int | None = None
    classes: list[Any] | None = None
    bill: Bill
    parameters: Parameters | None = None


class PredictOut(BaseModel):
    model_id: str
    rows: int
    predictions: list[Any] = Field(description="Values (regression) or labels (classification).")
    scores: list[float] = Field(description="Regression: the value; logistic: P(classes[1]); SVM: decision value.")
    output: str
    classes: list[Any] | None = None
    cost: float


class BillingLine(BaseModel):
    model_id: str | None
    compute_seconds: float
    compute_cost: float
    prediction_rows: int
    prediction_cost: float
    total: float


class BillingOut(BaseModel):
    tenant: str
    price_list: dict[str, Any]
    compute_seconds: float
    compute_cost: float
    prediction_rows: int
    prediction_cost: float
    total: float
    currency: str = "USD"
    models: list[BillingLine]


# ======================================================================================================
# Helpers


def _json_safe(value):
    """Replace non-finite floats (not representable in JSON) by strings."""
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _bill(usage: dict) -> dict:
    cs, cc, _ = usage.get("training", (0.0, 0.0, 0))
    pr, pc, _ = usage.get("prediction", (0.0, 0.0, 0))
    return {"compute_seconds": cs, "compute_cost": cc, "prediction_rows": int(pr), "prediction_cost": pc,
            "total": cc + pc}


def _dataset_out(rec: dict) -> dict:
    meta = rec["meta"]
    return {k: rec[k] for k in ("id", "name", "format", "target", "rows", "columns", "bytes", "created_at")} | {
        "target_kind": meta.get("target_kind", "numeric"), "classes": meta.get("classes"),
        "class_counts": meta.get("class_counts")}


class BodyLimit:
    """Pure ASGI middleware: refuse request bodies over ``limit`` bytes (``upload_limit`` for uploads) with
    413, before buffering or parsing them."""

    def __init__(self, app, limit: int, upload_limit: int, upload_path: str = "/v1/datasets"):
        self.app, self.limit, self.upload_limit, self.upload_path = app, limit, upload_limit, upload_path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.upload_limit if scope.get("path", "").rstrip("/") == self.upload_path else self.limit
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return await self._refuse(send, limit)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"The request body exceeds the limit of {limit} bytes.")
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, send, limit):
        body = json.dumps({"detail": f"The request body exceeds the limit of {limit} bytes."}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# ======================================================================================================
# The app


def create_app(data_dir, settings: Settings | None = None) -> FastAPI:
    """The ASGI app of one platform; its lifespan starts and stops the worker pool."""
    settings = settings or Settings.load(data_dir)
    platform = Platform(data_dir, settings)
    store = platform.store

    @contextlib.asynccontextmanager
    async def lifespan(app):
        platform.start()
        try:
            yield
        finally:
            platform.stop()

    app = FastAPI(
        title="hypersteal MLaaS",
        version="1",
        description=(
            "A metered machine-learning-as-a-service platform in the style of Amazon Machine Learning, for "
            "studying hyperparameter stealing (Wang & Gong, IEEE S&P 2018, §IV-C). Protocol I tunes λ by "
            "the platform's secret cross-validation; Protocol II trains at your λ. Training is billed per "
            "CPU-second measured in the worker, predictions per row. Every /v1 call needs "
            "`Authorization: Bearer KEY`."
        ),
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.add_middleware(BodyLimit, limit=settings.max_json_bytes, upload_limit=settings.max_upload_bytes)
    bearer = HTTPBearer(auto_error=False, description="An API key from `hypersteal mlaas add-tenant`.")
    unauthorized = {401: {"model": Problem, "description": "Missing or unknown API key"}}
    missing = {404: {"model": Problem, "description": "No such resource of yours"}}
    malformed = {400: {"model": Problem, "description": "Malformed request body"}}

    quota = {429: {"model": Problem, "description": "A quota of yours is used up; retry after Retry-After "
                                                   "seconds"}}
    broken = {500: {"model": Problem, "description": "This model's stored files are unreadable"}}

    def too_many(message: str, retry_after: float) -> HTTPException:
        return HTTPException(429, message, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})

    def tenant(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> dict:
        who = None if creds is None else store.authenticate(creds.credentials)
        if who is None:
            raise HTTPException(401, "A valid API key is required: Authorization: Bearer KEY.",
                                headers={"WWW-Authenticate": "Bearer"})
        return who

    @app.get("/healthz", tags=["platform"])
    def healthz() -> dict:
        return {"status": "ok", "workers": settings.workers}

    @app.get("/v1/algorithms", tags=["platform"], responses=unauthorized)
    def algorithms(who: dict = Depends(tenant)) -> dict:
        """The learners (public documentation: objective, intercept handling, native mapping, cost model)."""
        return {"learners": [info.to_dict() for info in LEARNERS.values()], "price_list": settings.price_list(),
                "protocols": {"I": "the platform tunes λ by k-fold cross-validation over its own grid "
                                   "(grid and folds undisclosed)", "II": "λ given by the user"}}

    # ------------------------------------------------------------------ datasets
    @app.post("/v1/datasets", status_code=201, response_model=DatasetOut, tags=["datasets"],
              responses=unauthorized | malformed | quota | {413: {"model": Problem}, 415: {"model": Problem},
                                                            422: {"model": Problem}, 503: {"model": Problem}})
    def upload_dataset(file: UploadFile = File(..., description="CSV (.csv, .csv.gz), Parquet or npz"),
                       target: str | None = Form(None, description="Target column (CSV and Parquet)."),
                       name: str | None = Form(None, max_length=200), who: dict = Depends(tenant)) -> dict:
        """Upload a dataset. CSV/Parquet: every column but ``target`` is a numeric feature. npz: arrays X, y."""
        used = store.storage_bytes(who["id"])
        if used >= settings.max_storage_bytes:
            raise too_many(f"Your datasets use {used} of your {settings.max_storage_bytes} bytes of storage.", 60)
        src, out = store.tmp_path(".upload"), store.tmp_path(".npz")
        try:
            nbytes = 0
            with open(src, "wb") as fh:
                while chunk := file.file.read(2**20):
                    nbytes += len(chunk)
                    if nbytes > settings.max_upload_bytes:
                        raise HTTPException(413, f"The file exceeds the limit of {settings.max_upload_bytes} bytes.")
                    fh.write(chunk)
            limits = Limits(max_rows=settings.max_rows, max_columns=settings.max_columns,
                            max_bytes=settings.max_dataset_bytes)
            try:
                parsed = platform.parsers.parse(src, out, file.filename, target, limits)
            except UploadError as exc:
                headers = {"Retry-After": "5"} if exc.status == 503 else None
                raise HTTPException(exc.status, exc.message, headers=headers) from None
            if used + parsed["rows"] * parsed["columns"] * 8 > settings.max_storage_bytes:
                raise too_many(f"This dataset would take your storage past its {settings.max_storage_bytes} "
                               f"bytes ({used} used).", 60)
            rec = store.add_dataset_file(who["id"], out, rows=parsed["rows"], columns=parsed["columns"],
                                         name=name or file.filename, fmt=parsed["fmt"], target=parsed["target"],
                                         nbytes=nbytes, meta=parsed["meta"])
        finally:
            for p in (src, out):
                with contextlib.suppress(OSError):
                    p.unlink()
        return _dataset_out(rec)

    @app.get("/v1/datasets", response_model=list[DatasetOut], tags=["datasets"], responses=unauthorized)
    def list_datasets(who: dict = Depends(tenant)) -> list:
        return [_dataset_out(r) for r in store.list_datasets(who["id"])]

    @app.get("/v1/datasets/{dataset_id}", response_model=DatasetOut, tags=["datasets"],
             responses=unauthorized | missing)
    def get_dataset(dataset_id: str, who: dict = Depends(tenant)) -> dict:
        rec = store.get_dataset(who["id"], dataset_id)
        if rec is None:
            raise HTTPException(404, f"No dataset {dataset_id!r}.")
        return _dataset_out(rec)

    # ------------------------------------------------------------------ models
    def unreadable(model_id: str) -> HTTPException:
        return HTTPException(500, f"The stored parameters of model {model_id} are unreadable; the platform's "
                                  f"operator has to restore them (your other models are unaffected).")

    def model_params(model_id: str) -> dict:
        try:
            return platform.params(model_id)
        except Exception:
            raise unreadable(model_id) from None

    def model_out(rec: dict, strict: bool = True) -> dict:
        info = LEARNERS[rec["algorithm"]]
        meta = rec.get("meta") or {}
        out = {k: rec[k] for k in ("id", "dataset_id", "algorithm", "protocol", "release", "decimals", "passes",
                                   "status", "created_at", "started_at", "finished_at", "attempts", "error",
                                   "notes")}
        out["lam"] = rec["lam_given"] if rec["protocol"] == "II" else None
        out["learner"] = info.to_dict()
        out.update(n_rows=meta.get("n_rows"), n_features=meta.get("n_features"), classes=meta.get("classes"))
        out["bill"] = _bill(store.usage_by_model(rec["tenant_id"], rec["id"]).get(rec["id"], {}))
        if rec["status"] == "succeeded" and rec["release"] == "parameters":
            try:
                p = platform.params(rec["id"])
            except Exception:
                if strict:
                    raise unreadable(rec["id"]) from None
                out["error"] = unreadable(rec["id"]).detail
                return out
            coef, intercept = p["coef"].reshape(-1), float(p["intercept"])
            if rec["decimals"] is not None:
                coef, intercept = np.round(coef, rec["decimals"]), round(intercept, rec["decimals"])
            out["parameters"] = {"coef": coef.tolist(), "intercept": intercept, "decimals": rec["decimals"],
                                 "classes": p["classes"].tolist() if "classes" in p else None}
        return out

    @app.post("/v1/models", status_code=202, response_model=ModelOut, tags=["models"],
              responses=unauthorized | missing | malformed | quota | {422: {"model": Problem}})
    def create_model(body: ModelIn, who: dict = Depends(tenant)) -> dict:
        """Queue a training job. Poll GET /v1/models/{id} until status is succeeded or failed."""
        ds = store.get_dataset(who["id"], body.dataset_id)
        if ds is None:
            raise HTTPException(404, f"No dataset {body.dataset_id!r}.")
        try:
            info = learner(body.algorithm)
        except KeyError:
            raise HTTPException(422, f"Unknown algorithm {body.algorithm!r}; choose one of "
                                     f"{', '.join(LEARNERS)}.") from None
        if body.protocol == "II" and body.lam is None:
            raise HTTPException(422, "Protocol II needs lam (the λ to train with).")
        if body.protocol == "I" and body.lam is not None:
            raise HTTPException(422, "Protocol I tunes λ itself; leave lam out (or use protocol II).")
        passes = None
        if info.sgd:
            passes = body.passes or settings.default_passes
            if passes > settings.max_passes:
                raise HTTPException(422, f"passes must be <= {settings.max_passes}.")
        elif body.passes is not None:
            raise HTTPException(422, f"{info.name} is not an SGD learner; passes applies to "
                                     f"{', '.join(k for k, v in LEARNERS.items() if v.sgd)}.")
        meta = ds["meta"]
        folds = settings.cv_folds if body.protocol == "I" else 1
        if info.task == "regression":
            if meta.get("target_kind") != "numeric":
                raise HTTPException(422, f"{info.name} is a regression learner but the target holds labels.")
            if ds["rows"] < max(2, 2 * folds):
                raise HTTPException(422, f"{ds['rows']} rows are too few for this protocol.")
        else:
            if meta.get("n_distinct") != 2:
                raise HTTPException(422, f"{info.name} is a binary classifier but the target has "
                                         f"{meta.get('n_distinct')} distinct values.")
            if min(meta["class_counts"]) < folds:
                raise HTTPException(422, f"Each class needs at least {folds} rows for this protocol.")
        rec = store.add_model(who["id"], {"dataset_id": ds["id"], "algorithm": info.name, "protocol": body.protocol,
                                          "lam": body.lam, "release": body.release, "decimals": body.decimals,
                                          "passes": passes}, max_queued=settings.max_queued_jobs)
        if rec is None:
            raise too_many(f"You have {settings.max_queued_jobs} jobs queued, your limit; wait for some to start.", 10)
        platform.notify()
        return model_out(rec)

    @app.get("/v1/models", response_model=list[ModelOut], tags=["models"], responses=unauthorized)
    def list_models(who: dict = Depends(tenant)) -> list:
        return [model_out(r, strict=False) for r in store.list_models(who["id"])]

    @app.get("/v1/models/{model_id}", response_model=ModelOut, tags=["models"],
             responses=unauthorized | missing | broken)
    def get_model(model_id: str, who: dict = Depends(tenant)) -> dict:
        rec = store.get_model(who["id"], model_id)
        if rec is None:
            raise HTTPException(404, f"No model {model_id!r}.")
        return model_out(rec)

    @app.post("/v1/models/{model_id}/predict", response_model=PredictOut, tags=["models"],
              responses=unauthorized | missing | malformed | quota | broken | {
                  409: {"model": Problem}, 413: {"model": Problem}, 422: {"model": Problem}})
    def predict(model_id: str, body: PredictIn, who: dict = Depends(tenant)) -> dict:
        """Answer queries with a trained model; billed per row."""
        rec = store.get_model(who["id"], model_id)
        if rec is None:
            raise HTTPException(404, f"No model {model_id!r}.")
        if rec["status"] != "succeeded":
            raise HTTPException(409, f"Model {model_id} is {rec['status']}; it cannot predict.")
        m = len(body.rows)
        if m > settings.max_predict_rows:
            raise HTTPException(413, f"At most {settings.max_predict_rows} rows per request.")
        used = store.usage_this_minute(who["id"], "prediction")
        if used + m > settings.max_prediction_rows_per_minute:
            raise too_many(f"{used:.0f} rows predicted this minute; your limit is "
                           f"{settings.max_prediction_rows_per_minute} a minute.", 60 - time.time() % 60)
        p = model_params(model_id)
        coef = p["coef"].reshape(-1)
        if any(len(r) != coef.size for r in body.rows):
            raise HTTPException(422, f"Every row must have {coef.size} features.")
        X = np.asarray(body.rows, dtype=float)
        with np.errstate(all="ignore"):
            f = X @ coef + float(p["intercept"])
        info = LEARNERS[rec["algorithm"]]
        if info.output == "probability":
            scores = 0.5 * (1.0 + np.tanh(0.5 * f))  # σ(f) without overflow
        else:
            scores = f
        decimals = [d for d in (rec["decimals"] if rec["release"] == "predictions" else None, body.decimals)
                    if d is not None]
        if decimals:
            scores = np.round(scores, min(decimals))
        if not np.all(np.isfinite(scores)):
            raise HTTPException(422, "These rows overflow the model's arithmetic; send smaller values.")
        if info.task == "classification":
            classes = p["classes"]
            positive = scores > (0.5 if info.output == "probability" else 0.0)
            predictions = np.where(positive, classes[-1], classes[0]).tolist()
            classes_out = classes.tolist()
        else:
            predictions, classes_out = scores.tolist(), None
        cost = m * settings.price_per_prediction
        store.record_usage(who["id"], model_id, "prediction", m, "rows", cost)
        return {"model_id": model_id, "rows": m, "predictions": predictions, "scores": scores.tolist(),
                "output": info.output, "classes": classes_out, "cost": cost}

    # ------------------------------------------------------------------ billing
    @app.get("/v1/billing", response_model=BillingOut, tags=["billing"], responses=unauthorized)
    def billing(who: dict = Depends(tenant)) -> dict:
        """What you have been charged: CPU-seconds of training and predicted rows, per model and in total."""
        lines = []
        for model_id, usage in store.usage_by_model(who["id"]).items():
            lines.append({"model_id": model_id} | _bill(usage))
        total = {k: sum(line[k] for line in lines) for k in ("compute_seconds", "compute_cost", "prediction_rows",
                                                             "prediction_cost", "total")}
        return {"tenant": who["name"], "price_list": settings.price_list(), **total, "models": lines}

    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError):  # pragma: no cover - converted above
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # FastAPI echoes the input; NaN or infinity in it must not turn a 422 into a 500
        return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, status_code=422)

    return app
