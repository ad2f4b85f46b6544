"""The platform's persistent state: SQLite (WAL) for records, npz files for arrays. No pickle.

Layout of a data directory::

    platform.db            tenants, API keys (hashed), datasets, models/jobs, usage (the meter)
    datasets/<id>.npz      X (float64), y (float64 or str), feature_names
    params/<id>.npz        released model parameters (coef, intercept, classes)
    tmp/                   files being written (renamed into place when complete)
    server.lock            held by the one server using this directory

The job queue is in :mod:`.jobs`, the meter in :mod:`.meter` (mixins of :class:`Store`).
Several processes use one directory at once (the server, its worker processes, ``add-tenant``): every
write is a short ``BEGIN IMMEDIATE`` transaction and readers never block writers (WAL).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from ._util import new_id
from ._util import now_iso as _now
from .jobs import JobQueue
from .meter import Meter

__all__ = ["Store", "StorageFull", "new_id"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    salt BLOB NOT NULL,
    digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT,
    format TEXT NOT NULL,
    target TEXT,
    rows INTEGER NOT NULL,
    columns INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    meta TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS datasets_tenant ON datasets(tenant_id);
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    algorithm TEXT NOT NULL,
    protocol TEXT NOT NULL,
    lam_given REAL,
    release TEXT NOT NULL,
    decimals INTEGER,
    passes INTEGER,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    queued_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    token TEXT,
    error TEXT,
    notes TEXT NOT NULL DEFAULT '[]',
    lam_used REAL,
    cv TEXT,
    compute_seconds REAL,
    wall_seconds REAL,
    timings TEXT,
    meta TEXT,
    lease_until REAL,
    cpu_start REAL
);
CREATE INDEX IF NOT EXISTS models_tenant ON models(tenant_id);
CREATE INDEX IF NOT EXISTS models_status ON models(status, queued_at);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    model_id TEXT,
    kind TEXT NOT NULL,
    quantity REAL NOT NULL,
    unit TEXT NOT NULL,
    amount REAL NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_tenant ON usage(tenant_id);
CREATE TABLE IF NOT EXISTS usage_minutes (
    tenant_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    minute INTEGER NOT NULL,
    quantity REAL NOT NULL,
    amount REAL NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, model_id, kind, minute)
);
CREATE INDEX IF NOT EXISTS usage_minutes_tenant ON usage_minutes(tenant_id, minute);
CREATE TABLE IF NOT EXISTS usage_totals (
    tenant_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    quantity REAL NOT NULL,
    amount REAL NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, model_id, kind)
);
"""

#: PRAGMA user_version of the current layout; 0: before usage_totals (rebuilt from usage on open).
_VERSION = 1

#: Columns added after the first release: (table, column, type), added to older databases on open.
_ADDED_COLUMNS = [("models", "lease_until", "REAL"), ("models", "cpu_start", "REAL")]

_KEY_PREFIX = "hsk"


def _digest(salt: bytes, secret: str) -> str:
    return hmac.new(salt, secret.encode(), hashlib.sha256).hexdigest()


class StorageFull(Exception):
    """A dataset that would take its tenant past the storage quota (nothing was stored)."""

    def __init__(self, used: int, needed: int, limit: int):
        super().__init__(f"This dataset ({needed} bytes of features) would take your storage past its {limit} "
                         f"bytes ({used} used).")
        self.used, self.needed, self.limit = used, needed, limit


class Store(JobQueue, Meter):
    """All persistent state of one platform data directory: tenants and keys, datasets and models here;
    the job queue (:class:`~.jobs.JobQueue`) and the meter (:class:`~.meter.Meter`) as mixins."""

    def __init__(self, data_dir, *, background_checkpoints: bool = False):
        """``background_checkpoints``: this process's connections never checkpoint the WAL when they commit;
        the owner calls :meth:`checkpoint` from a thread of its own (the server's monitor). A checkpoint
        ends with an fsync of the database, which waits for the disk: while uploads were being written it
        took up to ~120 ms, and made the request that happened to commit then (holding the write lock) and
        every request queued behind it wait as long."""
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._background_checkpoints = background_checkpoints
        self.root = Path(data_dir).expanduser().resolve()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # tenants' data and the platform's secrets: the operator only
            if self.root.stat().st_uid == os.getuid():
                self.root.chmod(0o700)
        for sub in ("datasets", "params", "tmp"):
            (self.root / sub).mkdir(mode=0o700, exist_ok=True)
        self.db_path = self.root / "platform.db"
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            for table, column, kind in _ADDED_COLUMNS:
                have = {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        if self._version() < _VERSION:
            with self.transaction() as db:  # running totals of a database that kept one row per request
                if db.execute("PRAGMA user_version").fetchone()[0] < _VERSION:
                    db.execute("DELETE FROM usage_totals")
                    db.execute(
                        "INSERT INTO usage_totals (tenant_id, model_id, kind, quantity, amount, count) "
                        "SELECT tenant_id, COALESCE(model_id, ''), kind, SUM(quantity), SUM(amount), COUNT(*) "
                        "FROM usage GROUP BY tenant_id, COALESCE(model_id, ''), kind")
                    db.execute(f"PRAGMA user_version = {_VERSION}")

    def _version(self) -> int:
        with self.connect() as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    # ------------------------------------------------------------------ plumbing
    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=60, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=60000")
        db.execute("PRAGMA synchronous=NORMAL")
        if self._background_checkpoints:
            db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def connect(self):
        """A connection of this thread, kept open: closing a database's last connection checkpoints the WAL
        with an fsync, which made every write cost ~20 ms. Used inside a transaction of the same thread, a
        separate connection (closed after use)."""
        db = getattr(self._local, "db", None)
        if db is not None and not db.in_transaction:
            return contextlib.nullcontext(db)
        fresh = self._open()
        if db is None:
            self._local.db = fresh
            return contextlib.nullcontext(fresh)
        return contextlib.closing(fresh)

    @contextlib.contextmanager
    def transaction(self):
        """A write transaction. The threads of one process queue on a lock first: SQLite's own busy handler
        sleeps up to 100 ms between retries, which made write latency under many concurrent requests
        jump by whole sleeps; other processes (workers) still meet the busy handler."""
        with self._write_lock, self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database (PASSIVE: never blocks readers or writers)."""
        with self.connect() as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def tmp_path(self, suffix: str = "") -> Path:
        return self.root / "tmp" / f"{uuid.uuid4().hex}{suffix}"

    def dataset_path(self, dataset_id: str) -> Path:
        return self.root / "datasets" / f"{dataset_id}.npz"

    def params_path(self, model_id: str) -> Path:
        return self.root / "params" / f"{model_id}.npz"

    def clean_tmp(self) -> None:
        for p in (self.root / "tmp").iterdir():
            with contextlib.suppress(OSError):
                p.unlink()

    # ------------------------------------------------------------------ tenants and keys
    def add_tenant(self, name: str) -> tuple[str, str]:
        """Create a tenant and its first API key; returns (tenant_id, key). The key is shown once."""
        tenant_id = new_id("tn")
        with self.transaction() as db:
            db.execute("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)", (tenant_id, name, _now()))
            key = self._add_key(db, tenant_id)
        return tenant_id, key

    def add_key(self, tenant_id: str) -> str:
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM tenants WHERE id = ?", (tenant_id,)).fetchone() is None:
                raise KeyError(tenant_id)
            return self._add_key(db, tenant_id)

    def _add_key(self, db, tenant_id: str) -> str:
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        db.execute(
            "INSERT INTO api_keys (key_id, tenant_id, salt, digest, created_at) VALUES (?, ?, ?, ?, ?)",
            (key_id, tenant_id, salt, _digest(salt, secret), _now()),
        )
        return f"{_KEY_PREFIX}_{key_id}_{secret}"

    def authenticate(self, key: str) -> dict | None:
        """The tenant owning ``key``, or None (constant-time comparison of salted HMAC-SHA256 digests)."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != _KEY_PREFIX or not parts[1] or not parts[2]:
            return None
        with self.connect() as db:
            row = db.execute(
                "SELECT k.salt, k.digest, k.revoked, t.id, t.name FROM api_keys k JOIN tenants t "
                "ON t.id = k.tenant_id WHERE k.key_id = ?",
                (parts[1],),
            ).fetchone()
        if row is None or row["revoked"]:
            # spend the same time as a real check
            _digest(b"0" * 16, parts[2])
            return None
        if not hmac.compare_digest(row["digest"], _digest(row["salt"], parts[2])):
            return None
        return {"id": row["id"], "name": row["name"]}

    def tenants(self) -> list[dict]:
        with self.connect() as db:
            return [dict(r) for r in db.execute("SELECT id, name, created_at FROM tenants ORDER BY created_at")]

    # ------------------------------------------------------------------ datasets
    def add_dataset(self, tenant_id: str, *, X: np.ndarray, y: np.ndarray, feature_names, name, fmt, target,
                    nbytes: int, meta: dict) -> dict:
        """Write the arrays, then the record; on any failure neither stays."""
        from .formats import write_dataset

        tmp = self.tmp_path(".npz")
        try:
            write_dataset(tmp, X, y, feature_names)
            return self.add_dataset_file(tenant_id, tmp, rows=int(X.shape[0]), columns=int(X.shape[1]), name=name,
                                         fmt=fmt, target=target, nbytes=nbytes, meta=meta)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def add_dataset_file(self, tenant_id: str, path, *, rows: int, columns: int, name, fmt, target, nbytes: int,
                         meta: dict, max_storage_bytes: int | None = None) -> dict:
        """Move a written dataset file (in ``tmp/``) into place and add its record, in one transaction that
        first checks the tenant's storage quota (``max_storage_bytes``: stored feature matrices, rows ×
        columns × 8 bytes, this one included), so concurrent uploads cannot pass it together. Raises
        :class:`StorageFull` (nothing stored) when the dataset does not fit; on any failure neither the file
        nor the record stays."""
        dataset_id = new_id("ds")
        final = self.dataset_path(dataset_id)
        try:
            with self.transaction() as db:
                if max_storage_bytes is not None:
                    used = self._storage_bytes(db, tenant_id)
                    if used + rows * columns * 8 > max_storage_bytes:
                        raise StorageFull(used, rows * columns * 8, max_storage_bytes)
                db.execute(
                    "INSERT INTO datasets (id, tenant_id, name, format, target, rows, columns, bytes, meta, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (dataset_id, tenant_id, name, fmt, target, rows, columns, int(nbytes), json.dumps(meta), _now()),
                )
                os.replace(path, final)  # before the commit: a record never points at a missing file
        except BaseException:
            with contextlib.suppress(OSError):
                final.unlink()
            raise
        return self.get_dataset(tenant_id, dataset_id)

    @staticmethod
    def _dataset_record(row) -> dict:
        rec = dict(row)
        rec["meta"] = json.loads(rec["meta"])
        return rec

    def get_dataset(self, tenant_id: str, dataset_id: str) -> dict | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM datasets WHERE id = ? AND tenant_id = ?",
                             (dataset_id, tenant_id)).fetchone()
        return None if row is None else self._dataset_record(row)

    def list_datasets(self, tenant_id: str) -> list[dict]:
        with self.connect() as db:
            rows = db.execute("SELECT * FROM datasets WHERE tenant_id = ? ORDER BY created_at", (tenant_id,))
            return [self._dataset_record(r) for r in rows]

    def storage_bytes(self, tenant_id: str) -> int:
        """Bytes of the tenant's stored feature matrices (rows × columns × 8)."""
        with self.connect() as db:
            return self._storage_bytes(db, tenant_id)

    @staticmethod
    def _storage_bytes(db, tenant_id: str) -> int:
        return int(db.execute("SELECT COALESCE(SUM(rows * columns * 8), 0) FROM datasets WHERE tenant_id = ?",
                              (tenant_id,)).fetchone()[0])

    def load_dataset(self, dataset_id: str) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.dataset_path(dataset_id), allow_pickle=False) as f:
            return f["X"], f["y"]

    # ------------------------------------------------------------------ models (their jobs: .jobs)
    def add_model(self, tenant_id: str, spec: dict, *, max_queued: int | None = None) -> dict | None:
        """Queue a job; None if the tenant already has ``max_queued`` jobs queued (checked in the same
        transaction)."""
        model_id = new_id("mdl")
        with self.transaction() as db:
            if max_queued is not None and db.execute(
                    "SELECT COUNT(*) FROM models WHERE tenant_id = ? AND status = 'queued'",
                    (tenant_id,)).fetchone()[0] >= max_queued:
                return None
            db.execute(
                "INSERT INTO models (id, tenant_id, dataset_id, algorithm, protocol, lam_given, release, decimals, "
                "passes, status, created_at, queued_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                (model_id, tenant_id, spec["dataset_id"], spec["algorithm"], spec["protocol"], spec.get("lam"),
                 spec["release"], spec.get("decimals"), spec.get("passes"), _now(), time.time(),
                 json.dumps(spec.get("meta", {}))),
            )
        return self.get_model(tenant_id, model_id)

    @staticmethod
    def _model_record(row) -> dict:
        rec = dict(row)
        for k in ("notes", "cv", "timings", "meta"):
            if rec.get(k) is not None:
                rec[k] = json.loads(rec[k])
        return rec

    def get_model(self, tenant_id: str | None, model_id: str) -> dict | None:
        """A model record (with the platform's secrets: never return it to a user as is)."""
        with self.connect() as db:
            if tenant_id is None:
                row = db.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone()
            else:
                row = db.execute("SELECT * FROM models WHERE id = ? AND tenant_id = ?",
                                 (model_id, tenant_id)).fetchone()
        return None if row is None else self._model_record(row)

    def list_models(self, tenant_id: str) -> list[dict]:
        with self.connect() as db:
            rows = db.execute("SELECT * FROM models WHERE tenant_id = ? ORDER BY queued_at", (tenant_id,))
            return [self._model_record(r) for r in rows]
