"""CPU time of ``hypersteal --help`` (and other instant commands), measured in fresh processes.

    python benchmarks/cli_startup.py [--repeats 7] [--importtime]

Prints the median user+system CPU seconds of each command over the repeats (children's rusage, so
the interpreter's start-up is included), and with ``--importtime`` the slowest imports of
``hypersteal --help`` from ``python -X importtime``. The target is ≤ 0.5 s CPU for ``--help``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys

COMMANDS = {
    "hypersteal --help": ["-m", "hypersteal", "--help"],
    "hypersteal --version": ["-m", "hypersteal", "--version"],
    "hypersteal steal --help": ["-m", "hypersteal", "steal", "--help"],
    "hypersteal reproduce --help": ["-m", "hypersteal", "reproduce", "--help"],
    "import hypersteal": ["-c", "import hypersteal"],
}


def cpu_seconds(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "80"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slowest_imports(args: list[str], n: int = 12) -> list[tuple[int, str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--importtime", action="store_true", help="also list the slowest imports of --help")
    a = ap.parse_args()
    cpu_seconds(COMMANDS["import hypersteal"])  # warm the bytecode cache
    print(f"{'command':<30} {'median CPU s':>12} {'min':>7} {'max':>7}   ({a.repeats} runs, {sys.executable})")
    for name, args in COMMANDS.items():
        t = [cpu_seconds(args) for _ in range(a.repeats)]
        print(f"{name:<30} {statistics.median(t):>12.3f} {min(t):>7.3f} {max(t):>7.3f}")
    if a.importtime:
        print("\nslowest imports of `hypersteal --help` (cumulative µs):")
        for us, mod in slowest_imports(COMMANDS["hypersteal --help"]):
            print(f"{us:>10}  {mod}")


if __name__ == "__main__":
    main()
