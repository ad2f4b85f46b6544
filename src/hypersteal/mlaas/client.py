"""A Python client of the platform's HTTP API (httpx)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

__all__ = ["Client", "PlatformError"]


class PlatformError(RuntimeError):
    """The platform answered with an error status (``status``) and a message (``detail``)."""

    def __init__(self, status: int, detail, method: str = "", path: str = ""):
        self.status, self.detail = status, detail
        super().__init__(f"{method} {path} → {status}: {detail}")


class Client:
    """Talk to a hypersteal MLaaS platform.

    >>> client = Client("http://127.0.0.1:8000", "hsk_...")      # doctest: +SKIP
    >>> ds = client.upload(X, y)                                  # doctest: +SKIP
    >>> model = client.train(ds["id"], "ridge")                   # Protocol I, waits  # doctest: +SKIP
    >>> model["bill"]["compute_seconds"], model["parameters"]["coef"]  # doctest: +SKIP
    """

    def __init__(self, url: str, api_key: str, *, timeout: float = 120.0):
        import httpx

        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {api_key}"},
                                  timeout=timeout)
        self._learners: dict | None = None

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs):
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise PlatformError(response.status_code, detail, method, path)
        return response.json()

    # ------------------------------------------------------------------ platform
    def algorithms(self) -> dict:
        return self._request("GET", "/v1/algorithms")

    def learner(self, name: str) -> dict:
        """The public description of a learner (objective, intercept handling, output); a learner the platform
        does not train raises :class:`~hypersteal.mlaas.training.NotOffered` (a ``KeyError``) saying what it trains."""
        if self._learners is None:
            self._learners = {x["name"]: x for x in self.algorithms()["learners"]}
        from .training import NotOffered, canonical, not_offered

        key = canonical(name)
        if key not in self._learners:
            raise NotOffered(not_offered(name, self._learners))
        return self._learners[key]

    def billing(self) -> dict:
        return self._request("GET", "/v1/billing")

    # ------------------------------------------------------------------ datasets
    def upload(self, X, y, *, name: str | None = None) -> dict:
        """Upload arrays (sent as an npz file)."""
        buf = io.BytesIO()
        np.savez(buf, X=np.asarray(X, dtype=float), y=np.asarray(y))
        files = {"file": ("data.npz", buf.getvalue(), "application/octet-stream")}
        return self._request("POST", "/v1/datasets", files=files, data={"name": name} if name else {})

    def upload_file(self, path, *, target: str | None = None, name: str | None = None) -> dict:
        """Upload a CSV, Parquet or npz file."""
        path = Path(path)
        data = {k: v for k, v in (("target", target), ("name", name)) if v}
        with open(path, "rb") as fh:
            return self._request("POST", "/v1/datasets", files={"file": (path.name, fh)}, data=data)

    def dataset(self, dataset_id: str) -> dict:
        return self._request("GET", f"/v1/datasets/{dataset_id}")

    def datasets(self) -> list:
        return self._request("GET", "/v1/datasets")

    # ------------------------------------------------------------------ models
    def create_model(self, dataset_id: str, algorithm: str, *, protocol: str = "I", lam: float | None = None,
                     release: str = "parameters", decimals: int | None = None, passes: int | None = None) -> dict:
        """Queue a training job (Protocol I: the platform tunes λ; II: ``lam`` given)."""
        body = {"dataset_id": dataset_id, "algorithm": algorithm, "protocol": protocol, "release": release}
        for k, v in (("lam", lam), ("decimals", decimals), ("passes", passes)):
            if v is not None:
                body[k] = float(v) if k == "lam" else int(v)
        return self._request("POST", "/v1/models", json=body)

    def model(self, model_id: str) -> dict:
        return self._request("GET", f"/v1/models/{model_id}")

    def models(self) -> list:
        return self._request("GET", "/v1/models")

    def wait(self, model_id: str, *, timeout: float = 3600.0, raise_on_failure: bool = True) -> dict:
        """Poll until the job has succeeded or failed."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            rec = self.model(model_id)
            if rec["status"] in ("succeeded", "failed"):
                if rec["status"] == "failed" and raise_on_failure:
                    raise PlatformError(200, f"training failed: {rec['error']}", "GET", f"/v1/models/{model_id}")
                return rec
            if time.monotonic() > deadline:
                raise TimeoutError(f"model {model_id} is still {rec['status']} after {timeout:g} s")
            time.sleep(delay)
            delay = min(0.5, delay * 1.5)

    def train(self, dataset_id: str, algorithm: str, *, timeout: float = 3600.0, **kwargs) -> dict:
        """:meth:`create_model`, then :meth:`wait`."""
        return self.wait(self.create_model(dataset_id, algorithm, **kwargs)["id"], timeout=timeout)

    def predict(self, model_id: str, X, *, decimals: int | None = None, batch_size: int = 5000) -> dict:
        """Query the model (billed per row): ``predictions`` (values or labels), ``scores`` (float array),
        ``rows`` and ``cost`` summed over the batches."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        preds, scores, cost = [], [], 0.0
        for i in range(0, X.shape[0], batch_size):
            body = {"rows": X[i : i + batch_size].tolist()}
            if decimals is not None:
                body["decimals"] = int(decimals)
            out = self._request("POST", f"/v1/models/{model_id}/predict", json=body)
            preds.extend(out["predictions"])
            scores.extend(out["scores"])
            cost += out["cost"]
        return {"predictions": np.asarray(preds), "scores": np.asarray(scores, dtype=float), "rows": X.shape[0],
                "cost": cost}
