"""A section-shaped module for the runner's tests: a cell that sleeps ``spec["sleep"]`` seconds."""

from __future__ import annotations

import time


def run_cell(spec: dict) -> dict:
    time.sleep(spec["sleep"])
    return {"slept": spec["sleep"]}
