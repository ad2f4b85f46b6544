"""The job queue in the platform's database: workers claim queued jobs under a lease, renew it, and finish
them; the server requeues the jobs of dead workers and fails those over the time limit.

A mixin of :class:`~hypersteal.mlaas.store.Store` (it uses the store's connections and transactions).
"""

from __future__ import annotations

import json
import time
import uuid

from ._util import now_iso as _now

__all__ = ["JobQueue"]


class JobQueue:
    """Claiming, leasing, finishing and requeueing training jobs (rows of the ``models`` table)."""

    def claim_job(self, worker: str, *, lease_s: float = 60.0, max_running: int | None = None) -> dict | None:
        """Atomically take the next queued job: fair share first (the tenant with the fewest running
        jobs), then first come, first served; tenants with ``max_running`` jobs running wait. The job is
        leased to ``worker`` for ``lease_s`` seconds (renewed by :meth:`renew_lease`)."""
        token = uuid.uuid4().hex
        running = "(SELECT COUNT(*) FROM models r WHERE r.tenant_id = m.tenant_id AND r.status = 'running')"
        with self.transaction() as db:
            sql = "SELECT m.id FROM models m WHERE m.status = 'queued' "
            args: list = []
            if max_running is not None:
                sql += f"AND {running} < ? "
                args.append(int(max_running))
            row = db.execute(sql + f"ORDER BY {running}, m.queued_at LIMIT 1", args).fetchone()
            if row is None:
                return None
            now = time.time()
            db.execute(
                "UPDATE models SET status = 'running', worker = ?, token = ?, started_at = ?, lease_until = ?, "
                "cpu_start = NULL, attempts = attempts + 1 WHERE id = ?",
                (worker, token, now, now + lease_s, row["id"]),
            )
        return self.get_model(None, row["id"])

    def renew_lease(self, model_id: str, token: str, lease_s: float, *, cpu_start: float | None = None,
                    cpu_seconds: float | None = None) -> bool:
        """Extend a running job's lease (and record its worker's CPU meter); False if the job is no longer
        this worker's (requeued, timed out), in which case the worker must stop working on it."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE models SET lease_until = ?, cpu_start = COALESCE(?, cpu_start), "
                "compute_seconds = COALESCE(?, compute_seconds) WHERE id = ? AND token = ? AND status = 'running'",
                (time.time() + lease_s, cpu_start, cpu_seconds, model_id, token),
            )
            return cur.rowcount == 1

    def finish_job(self, model_id: str, token: str, *, status: str, lam_used=None, cv=None, compute_seconds=None,
                   wall_seconds=None, timings=None, meta_update=None, error=None, charge=None) -> bool:
        """Record a job's outcome and its meter reading, if this worker still owns the job."""
        with self.transaction() as db:
            row = db.execute("SELECT tenant_id, meta, status, token FROM models WHERE id = ?", (model_id,)).fetchone()
            if row is None or row["token"] != token or row["status"] != "running":
                return False
            meta = json.loads(row["meta"] or "{}")
            meta.update(meta_update or {})
            db.execute(
                "UPDATE models SET status = ?, finished_at = ?, lam_used = ?, cv = ?, compute_seconds = ?, "
                "wall_seconds = ?, timings = ?, meta = ?, error = ? WHERE id = ?",
                (status, time.time(), lam_used, None if cv is None else json.dumps(cv), compute_seconds,
                 wall_seconds, None if timings is None else json.dumps(timings), json.dumps(meta), error, model_id),
            )
            if charge is not None:
                quantity, amount = charge
                self._charge(db, row["tenant_id"], model_id, "training", quantity, "cpu_seconds", amount)
        return True

    def requeue_running(self, *, worker: str | None, reason: str, max_attempts: int,
                        expired_before: float | None = None, exclude_workers=()) -> list[str]:
        """Put running jobs (all, or one worker's, or those whose lease ended before ``expired_before``
        and whose worker is not in ``exclude_workers``) back in the queue; fail those out of attempts."""
        touched = []
        with self.transaction() as db:
            sql, args = "SELECT id, attempts, notes, worker FROM models WHERE status = 'running'", []
            if worker is not None:
                sql += " AND worker = ?"
                args.append(worker)
            if expired_before is not None:
                sql += " AND (lease_until IS NULL OR lease_until < ?)"
                args.append(expired_before)
            for r in db.execute(sql, args).fetchall():
                if r["worker"] in exclude_workers:
                    continue
                notes = json.loads(r["notes"]) + [f"{_now()}: {reason}"]
                if r["attempts"] >= max_attempts:
                    db.execute(
                        "UPDATE models SET status = 'failed', finished_at = ?, worker = NULL, token = NULL, "
                        "lease_until = NULL, error = ?, notes = ? WHERE id = ?",
                        (time.time(), f"{reason}; gave up after {r['attempts']} attempts", json.dumps(notes), r["id"]),
                    )
                else:
                    db.execute(
                        "UPDATE models SET status = 'queued', worker = NULL, token = NULL, lease_until = NULL, "
                        "compute_seconds = NULL, cpu_start = NULL, notes = ? WHERE id = ?",
                        (json.dumps(notes), r["id"]),
                    )
                touched.append(r["id"])
        return touched

    def end_leases(self, workers) -> None:
        """End the leases of these (stopped) workers' jobs, so the next start requeues them at once."""
        workers = list(workers)
        if not workers:
            return
        with self.transaction() as db:
            db.execute(f"UPDATE models SET lease_until = 0 WHERE status = 'running' AND worker IN "
                       f"({', '.join('?' * len(workers))})", workers)

    def fail_running(self, model_id: str, error: str, *, cpu_seconds: float | None = None,
                     price_per_compute_hour: float = 0.0) -> bool:
        """Mark a running job failed (the time limit); bill ``cpu_seconds`` if given."""
        with self.transaction() as db:
            row = db.execute("SELECT tenant_id FROM models WHERE id = ? AND status = 'running'",
                             (model_id,)).fetchone()
            if row is None:
                return False
            db.execute(
                "UPDATE models SET status = 'failed', finished_at = ?, worker = NULL, token = NULL, "
                "lease_until = NULL, compute_seconds = ?, error = ? WHERE id = ?",
                (time.time(), cpu_seconds, error, model_id),
            )
            if cpu_seconds is not None:
                self._charge(db, row["tenant_id"], model_id, "training", cpu_seconds, "cpu_seconds",
                             cpu_seconds / 3600.0 * price_per_compute_hour)
        return True

    def running_jobs(self) -> list[dict]:
        with self.connect() as db:
            return [dict(r) for r in db.execute(
                "SELECT id, worker, started_at, lease_until, cpu_start, compute_seconds FROM models "
                "WHERE status = 'running'")]

    def count_queued(self) -> int:
        with self.connect() as db:
            return db.execute("SELECT COUNT(*) FROM models WHERE status = 'queued'").fetchone()[0]
