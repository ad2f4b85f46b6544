"""A per-cell result cache, so that an interrupted ``reproduce`` resumes where it stopped.

Each finished cell is one JSON file ``<out>/.cache/<section>/<key>.json``, where ``key`` is the
SHA-256 of the cell's settings (its *spec*) together with :data:`CACHE_VERSION` and the hypersteal
version. Changing any setting of a cell, or upgrading hypersteal, gives a new key; nothing is ever
overwritten in place (files are written to a temporary name and renamed). Failed cells are not
cached, so they are retried on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["CACHE_VERSION", "Cache", "cell_key"]

#: Bump when the content of a cell's result changes meaning.
CACHE_VERSION = 1


def cell_key(spec: dict) -> str:
    """The cache key of a cell: a hex SHA-256 of its canonical JSON, the cache and package versions."""
    from hypersteal import __version__

    text = json.dumps({"spec": spec, "cache": CACHE_VERSION, "hypersteal": __version__}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Cache:
    """Read and write finished cells under ``root`` (normally ``<out>/.cache``).

    Parameters
    ----------
    root : str or Path
        The cache folder; created on the first write.
    enabled : bool, default True
        When False, nothing is read or written (every cell is recomputed).

    Attributes
    ----------
    hits, misses : int
        Cells found in / missing from the cache since this object was made.
    """

    def __init__(self, root, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def _path(self, section: str, key: str) -> Path:
        return self.root / section / f"{key}.json"

    def get(self, section: str, spec: dict) -> dict | None:
        """The cached result of ``spec``, or None (counted as a hit or a miss)."""
        if self.enabled:
            path = self._path(section, cell_key(spec))
            try:
                with open(path, encoding="utf-8") as fh:
                    record = json.load(fh)
                self.hits += 1
                return record["result"]
            except (OSError, ValueError, KeyError):
                pass
        self.misses += 1
        return None

    def peek(self, section: str, spec: dict) -> dict | None:
        """Like :meth:`get`, without counting a hit or a miss."""
        hits, misses = self.hits, self.misses
        try:
            return self.get(section, spec)
        finally:
            self.hits, self.misses = hits, misses

    def put(self, section: str, spec: dict, result: dict) -> None:
        """Store a finished cell atomically."""
        if not self.enabled:
            return
        path = self._path(section, cell_key(spec))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"spec": spec, "result": result}, fh, default=str)
        os.replace(tmp, path)
