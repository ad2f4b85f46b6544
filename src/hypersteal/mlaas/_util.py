"""Identifiers and timestamps of the platform's records."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

__all__ = ["new_id", "now_iso"]


def new_id(prefix: str) -> str:
    """A random record id such as ``ds_0123456789abcdef``."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
