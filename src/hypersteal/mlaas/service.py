"""The platform's HTTP service (FastAPI): its routes, authentication and request-body limits.

Import this module only to run a platform: it imports FastAPI.  :func:`create_app` builds the ASGI app;
its lifespan starts the :class:`~.pool.Platform` (worker processes, parsers, monitor thread) and stops it.
The bodies (the OpenAPI schema) are in :mod:`.schemas`.

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
import json
import math
import time

import numpy as np
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .pool import Platform
from .schemas import (
    BillingOut,
    DatasetOut,
    ModelIn,
    ModelOut,
    PredictIn,
    PredictOut,
    Problem,
    bill_out,
    dataset_out,
    json_safe,
)
from .settings import Settings
from .store import StorageFull
from .training import LEARNERS, NotOffered, learner
from .uploads import Limits, UploadError

__all__ = ["create_app", "Platform"]


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
            try:  # the quota is checked again in the transaction that stores it: concurrent uploads cannot pass it
                rec = store.add_dataset_file(who["id"], out, rows=parsed["rows"], columns=parsed["columns"],
                                             name=name or file.filename, fmt=parsed["fmt"], target=parsed["target"],
                                             nbytes=nbytes, meta=parsed["meta"],
                                             max_storage_bytes=settings.max_storage_bytes)
            except StorageFull as exc:
                raise too_many(str(exc), 60) from None
        finally:
            for p in (src, out):
                with contextlib.suppress(OSError):
                    p.unlink()
        return dataset_out(rec)

    @app.get("/v1/datasets", response_model=list[DatasetOut], tags=["datasets"], responses=unauthorized)
    def list_datasets(who: dict = Depends(tenant)) -> list:
        return [dataset_out(r) for r in store.list_datasets(who["id"])]

    @app.get("/v1/datasets/{dataset_id}", response_model=DatasetOut, tags=["datasets"],
             responses=unauthorized | missing)
    def get_dataset(dataset_id: str, who: dict = Depends(tenant)) -> dict:
        rec = store.get_dataset(who["id"], dataset_id)
        if rec is None:
            raise HTTPException(404, f"No dataset {dataset_id!r}.")
        return dataset_out(rec)

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
        out["bill"] = bill_out(store.usage_by_model(rec["tenant_id"], rec["id"]).get(rec["id"], {}))
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
        except NotOffered as exc:
            raise HTTPException(422, str(exc)) from None
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
        limit = settings.max_prediction_rows_per_minute
        if not store.record_usage(who["id"], model_id, "prediction", m, "rows", cost, limit=limit):
            # checked again where it is charged: concurrent requests cannot pass the quota together
            raise too_many(f"These {m} rows would take your predictions this minute past your limit; your limit "
                           f"is {limit} a minute.",
                           60 - time.time() % 60)
        return {"model_id": model_id, "rows": m, "predictions": predictions, "scores": scores.tolist(),
                "output": info.output, "classes": classes_out, "cost": cost}

    # ------------------------------------------------------------------ billing
    @app.get("/v1/billing", response_model=BillingOut, tags=["billing"], responses=unauthorized)
    def billing(who: dict = Depends(tenant)) -> dict:
        """What you have been charged: CPU-seconds of training and predicted rows, per model and in total."""
        lines = []
        for model_id, usage in store.usage_by_model(who["id"]).items():
            lines.append({"model_id": model_id} | bill_out(usage))
        total = {k: sum(line[k] for line in lines) for k in ("compute_seconds", "compute_cost", "prediction_rows",
                                                             "prediction_cost", "total")}
        return {"tenant": who["name"], "price_list": settings.price_list(), **total, "models": lines}

    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError):  # pragma: no cover - converted above
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # FastAPI echoes the input; NaN or infinity in it must not turn a 422 into a 500
        return JSONResponse({"detail": json_safe(jsonable_encoder(exc.errors()))}, status_code=422)

    return app
