"""Request and response bodies of the platform's HTTP API (pydantic: they are its OpenAPI schema), and
the helpers that shape stored records into them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Strict

__all__ = ["ModelIn", "PredictIn", "Problem", "DatasetOut", "Bill", "Parameters", "ModelOut", "PredictOut",
           "BillingLine", "BillingOut", "json_safe", "bill_out", "dataset_out"]

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


class BillingOut(Bill):
    tenant: str
    price_list: dict[str, Any]
    models: list[BillingLine]


def json_safe(value):
    """Replace non-finite floats (not representable in JSON) by strings."""
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def bill_out(usage: dict) -> dict:
    cs, cc, _ = usage.get("training", (0.0, 0.0, 0))
    pr, pc, _ = usage.get("prediction", (0.0, 0.0, 0))
    return {"compute_seconds": cs, "compute_cost": cc, "prediction_rows": int(pr), "prediction_cost": pc,
            "total": cc + pc}


def dataset_out(rec: dict) -> dict:
    meta = rec["meta"]
    return {k: rec[k] for k in ("id", "name", "format", "target", "rows", "columns", "bytes", "created_at")} | {
        "target_kind": meta.get("target_kind", "numeric"), "classes": meta.get("classes"),
        "class_counts": meta.get("class_counts")}
