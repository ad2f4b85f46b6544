"""Configuration of the simulated MLaaS platform (stdlib only, so it is cheap to import).

Everything a platform operator sets lives in :class:`Settings`: the price list, the worker pool,
upload limits and the platform's *secret* tuning recipe (λ grid, folds, seed).  A data directory may
hold a ``settings.json`` with any of these fields; :meth:`Settings.load` reads it, and keyword
overrides (command-line flags) win over the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "DEFAULT_GRID"]

#: The platform's default (secret) λ grid, in the paper's units (sum losses, no ½ on the penalty).
DEFAULT_GRID: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3)


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass
class Settings:
    """Operator settings of one platform instance.

    Attributes
    ----------
    workers : int
        Training worker processes (each runs one job at a time with one BLAS thread).
    price_per_compute_hour : float
        Dollars per CPU-hour of training (default 0.42, Amazon Machine Learning's price).
    price_per_prediction : float
        Dollars per predicted row (default 0.0001, Amazon ML's batch price).
    max_upload_bytes : int
        Largest accepted request body for ``POST /v1/datasets`` (default 256 MiB); larger → 413.
    max_dataset_bytes : int
        Largest decompressed upload (CSV text, npz arrays, Parquet data) and largest float64 feature
        matrix (default 1 GiB), checked from headers and metadata before the data is read.
    max_json_bytes : int
        Largest request body of every other call (prediction rows, training requests; default 8 MiB),
        refused before it is parsed.
    max_rows, max_columns : int
        Largest accepted dataset.
    parsers : int
        Upload parser processes (uploads are never parsed in the server process).
    parse_memory_bytes : int or None
        Address-space limit (RLIMIT_AS) of each parser process (default 4 GiB; 0 or None: no limit).
    parse_timeout_s : float
        A parser still busy after this many seconds is killed and the upload refused (413).
    max_predict_rows : int
        Most rows in one ``POST /v1/models/{id}/predict`` request.
    cv_folds : int
        Folds of Protocol I's cross-validation (secret; default 5, as in the paper).
    grid : tuple of float
        Protocol I's λ grid (secret), in the paper's units.
    cv_seed : int
        Seed of the fold split and of SGD learners (secret).
    default_passes : int
        SGD learners' passes over the data when the user gives none (Amazon ML: ``sgd.maxPasses`` = 10).
    max_passes : int
        Upper limit on ``passes``.
    max_attempts : int
        A job whose worker died this many times is marked failed instead of requeued.
    job_timeout_s : float or None
        Kill a job running longer than this (default one hour; 0 or None: no limit). The tenant is billed
        for the CPU it used.
    lease_s : float
        A running job's lease: its worker renews it every ``lease_s / 4`` s; a job whose lease ran out
        (its worker is gone) is requeued. A worker that loses its job's lease stops.
    max_queued_jobs, max_running_jobs : int
        Per tenant: jobs waiting (more → 429) and jobs trained at once (the rest wait in the queue).
    max_storage_bytes : int
        Per tenant: bytes of stored datasets (more → 429).
    max_prediction_rows_per_minute : int
        Per tenant: predicted rows per minute (more → 429 with ``Retry-After``).
    """

    workers: int = field(default_factory=_default_workers)
    price_per_compute_hour: float = 0.42
    price_per_prediction: float = 0.0001
    max_upload_bytes: int = 256 * 2**20
    max_dataset_bytes: int = 2**30
    max_json_bytes: int = 8 * 2**20
    max_rows: int = 20_000_000
    max_columns: int = 10_000
    parsers: int = 2
    parse_memory_bytes: int | None = 4 * 2**30
    parse_timeout_s: float = 120.0
    max_predict_rows: int = 100_000
    cv_folds: int = 5
    grid: tuple[float, ...] = DEFAULT_GRID
    cv_seed: int = 12345
    default_passes: int = 10
    max_passes: int = 100
    max_attempts: int = 3
    job_timeout_s: float | None = 3600.0
    lease_s: float = 10.0
    max_queued_jobs: int = 20
    max_running_jobs: int = 2
    max_storage_bytes: int = 8 * 2**30
    max_prediction_rows_per_minute: int = 1_000_000

    def __post_init__(self):
        self.grid = tuple(float(g) for g in self.grid)
        if not self.grid or any(not (g > 0) for g in self.grid):
            raise ValueError("grid must hold positive λ values.")
        if self.workers < 0:
            raise ValueError("workers must be >= 0 (0 queues jobs without running them).")
        if self.parsers < 1:
            raise ValueError("parsers must be >= 1.")
        if not self.lease_s > 0:
            raise ValueError("lease_s must be > 0.")
        if self.cv_folds < 2:
            raise ValueError("cv_folds must be >= 2.")
        for name in ("price_per_compute_hour", "price_per_prediction"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0.")

    @classmethod
    def load(cls, data_dir=None, **overrides) -> Settings:
        """Defaults, then ``DATA_DIR/settings.json`` if it exists, then ``overrides`` (None = keep)."""
        values: dict = {}
        if data_dir is not None:
            path = Path(data_dir) / "settings.json"
            if path.exists():
                raw = json.loads(path.read_text())
                if not isinstance(raw, dict):
                    raise ValueError(f"{path} must hold a JSON object.")
                known = {f.name for f in dataclasses.fields(cls)}
                unknown = set(raw) - known
                if unknown:
                    raise ValueError(f"{path}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}.")
                values.update(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def price_list(self) -> dict:
        """The public price list."""
        return {
            "currency": "USD",
            "per_compute_hour": self.price_per_compute_hour,
            "per_prediction": self.price_per_prediction,
        }
