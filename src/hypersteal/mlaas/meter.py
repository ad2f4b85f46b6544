"""The meter: what each tenant used (training CPU-seconds, predicted rows) and was charged.

Training charges are rows of ``usage``; predictions are added to one row per tenant, model and minute
(``usage_minutes``); every charge also updates a running total per model (``usage_totals``, in the same
transaction), so reading a bill costs O(models), not O(requests).

A mixin of :class:`~hypersteal.mlaas.store.Store` (it uses the store's connections and transactions).
"""

from __future__ import annotations

import time

from ._util import now_iso as _now

__all__ = ["Meter"]


class Meter:
    """Charges and readings of the platform's meter."""

    @staticmethod
    def _charge(db, tenant_id: str, model_id: str, kind: str, quantity: float, unit: str, amount: float) -> None:
        """One metered event (a training job) in the log and the running totals (inside a transaction)."""
        db.execute(
            "INSERT INTO usage (tenant_id, model_id, kind, quantity, unit, amount, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tenant_id, model_id, kind, quantity, unit, amount, _now()),
        )
        Meter._add_total(db, tenant_id, model_id, kind, quantity, amount)

    @staticmethod
    def _add_total(db, tenant_id, model_id, kind, quantity, amount) -> None:
        db.execute(
            "INSERT INTO usage_totals (tenant_id, model_id, kind, quantity, amount, count) VALUES (?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (tenant_id, model_id, kind) DO UPDATE SET quantity = quantity + excluded.quantity, "
            "amount = amount + excluded.amount, count = count + 1",
            (tenant_id, model_id or "", kind, quantity, amount),
        )

    def record_usage(self, tenant_id: str, model_id: str, kind: str, quantity: float, unit: str,
                     amount: float, *, limit: float | None = None) -> bool:
        """Meter a request (predictions): added to the tenant's bucket of this minute and the running totals,
        so the stored rows grow with models × minutes, not with requests. With ``limit`` (a quantity per
        minute), the tenant's use this minute is checked in the same transaction and nothing is recorded
        (False) if this request would pass it, so concurrent requests cannot pass it together."""
        minute = int(time.time() // 60)
        with self.transaction() as db:
            if limit is not None and self._used_in_minute(db, tenant_id, kind, minute) + quantity > limit:
                return False
            db.execute(
                "INSERT INTO usage_minutes (tenant_id, model_id, kind, minute, quantity, amount, count) "
                "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (tenant_id, model_id, kind, minute) DO UPDATE SET "
                "quantity = quantity + excluded.quantity, amount = amount + excluded.amount, count = count + 1",
                (tenant_id, model_id or "", kind, minute, quantity, amount),
            )
            self._add_total(db, tenant_id, model_id, kind, quantity, amount)
        return True

    @staticmethod
    def _used_in_minute(db, tenant_id: str, kind: str, minute: int) -> float:
        row = db.execute("SELECT SUM(quantity) FROM usage_minutes WHERE tenant_id = ? AND minute = ? AND kind = ?",
                         (tenant_id, minute, kind)).fetchone()
        return float(row[0] or 0.0)

    def usage_this_minute(self, tenant_id: str, kind: str) -> float:
        """The tenant's metered quantity (rows) of ``kind`` in the current minute."""
        with self.connect() as db:
            return self._used_in_minute(db, tenant_id, kind, int(time.time() // 60))

    def usage_by_model(self, tenant_id: str, model_id: str | None = None) -> dict:
        """{model_id: {kind: (quantity, amount, count)}} for one tenant (or one model), from the running
        totals (one row per model and kind)."""
        sql = "SELECT model_id, kind, quantity AS q, amount AS a, count AS c FROM usage_totals WHERE tenant_id = ?"
        args: list = [tenant_id]
        if model_id is not None:
            sql += " AND model_id = ?"
            args.append(model_id)
        out: dict = {}
        with self.connect() as db:
            for r in db.execute(sql, args):
                out.setdefault(r["model_id"] or None, {})[r["kind"]] = (float(r["q"]), float(r["a"]), int(r["c"]))
        return out
