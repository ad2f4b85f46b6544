"""Print the native-hyperparameter table: worst relative error per estimator variant.

Runs the grid of ``tests/test_native_table.py`` (every variant × its two datasets × native values
10⁻³…10³) and prints one markdown row per variant: the worst relative error of the recovered native
values over the cells that were identifiable, how many cells were genuinely not identifiable, how many
were not stationary (and said so), and any failing cells.

It imports the grid from the test suite, so it needs the test extra (pytest):
``pip install -e ".[test]"``. Usage::

    python tools/native_table.py [--match SUBSTRING] [--cells] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import numpy as np  # noqa: E402

from test_native_table import STATIONARY, TIGHT, VALUES, VARIANTS, run_cell  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match", default="", help="only variants whose name contains this")
    parser.add_argument("--cells", action="store_true", help="also list every cell that is not a tight fit")
    parser.add_argument("--quick", action="store_true", help="only the cells the test runs (networks: a subset)")
    args = parser.parse_args(argv)

    rows, details, failures = [], [], 0
    start = time.perf_counter()
    for variant in VARIANTS:
        if args.match.lower() not in variant.name.lower():
            continue
        t0 = time.perf_counter()
        cells = [run_cell(variant, d, v) for d, v in variant.cells(full=not args.quick)]
        seconds = time.perf_counter() - t0
        n = {s: sum(c.status == s for c in cells) for s in STATUSES}
        failures += n["FAIL"]
        rows.append(
            f"| {variant.name} | {variant.rtol:g} | {n['tight']} | {_worst(cells, 'tight')} | {n['loose']} | "
            f"{_worst(cells, 'loose')} | {n['not identifiable']} | {n['not converged']} | {n['FAIL']} | "
            f"{seconds:.1f} |"
        )
        details += [c for c in cells if c.status not in ("tight",)]
        print(rows[-1], file=sys.stderr, flush=True)

    print(f"Native values {', '.join(f'{v:g}' for v in VALUES)}; two datasets per variant. A fit is *tight* when "
          f"its relative stationarity residual is ≤ {TIGHT:g}, *loose* up to {STATIONARY:g} (then the bound is "
          "max(rtol, 10·residual)); above, the result must say λ is approximate.\n")
    print("| variant | rtol | tight | worst rel. error, tight (dataset, value) | loose | worst rel. error, loose "
          "(residual) | not identifiable | not converged (flagged) | FAIL | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{len(rows)} variants, {time.perf_counter() - start:.0f} s, {failures} failing cells")
    if args.cells:
        print("\n| variant | dataset | value | status | rel. error | residual | problem |")
        print("|---|---|---|---|---|---|---|")
        for c in details:
            problem = (c.problem or "").replace("\n", " ")[:400]
            print(f"| {c.variant} | {c.dataset} | {c.value:g} | {c.status} | {c.rel_error:.1e} | {c.residual:.1e} | "
                  f"{problem} |")
    return 1 if failures else 0


STATUSES = ("tight", "loose", "not identifiable", "not converged", "FAIL")


def _worst(cells, status) -> str:
    cells = [c for c in cells if c.status == status]
    if not cells:
        return "—"
    c = max(cells, key=lambda c: c.rel_error)
    extra = f"{c.dataset}, {c.value:g}" if status == "tight" else f"{c.residual:.0e}"
    return f"{c.rel_error:.1e} ({extra})"


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
