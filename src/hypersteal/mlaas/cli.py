"""Command-line pieces of the platform: ``hypersteal mlaas serve|add-tenant`` and ``hypersteal trt``.

Only typer is imported here; everything else is imported when a command runs.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import typer

__all__ = ["app", "trt", "main"]

app = typer.Typer(help="Run the simulated, metered MLaaS platform.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    data_dir: Path = typer.Option(Path("mlaas-data"), "--data-dir", help="Where the platform keeps its state."),
    workers: int | None = typer.Option(None, "--workers", min=0, help="Training worker processes."),
    price_compute_hour: float | None = typer.Option(None, "--price-compute-hour", min=0,
                                                    help="Dollars per CPU-hour of training (default 0.42)."),
    price_prediction: float | None = typer.Option(None, "--price-prediction", min=0,
                                                  help="Dollars per predicted row (default 0.0001)."),
    max_upload_mb: float | None = typer.Option(None, "--max-upload-mb", min=0, help="Upload size limit."),
):
    """Serve the platform (OpenAPI docs at /docs). Settings: DATA_DIR/settings.json, then these flags."""
    from .embedded import serve as _serve
    from .settings import Settings

    try:
        settings = Settings.load(
            data_dir, workers=workers, price_per_compute_hour=price_compute_hour,
            price_per_prediction=price_prediction,
            max_upload_bytes=None if max_upload_mb is None else int(max_upload_mb * 2**20))
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    _serve(host=host, port=port, data_dir=data_dir, settings=settings)


@app.command("add-tenant")
def add_tenant(
    name: str = typer.Argument(..., help="The tenant's name."),
    data_dir: Path = typer.Option(Path("mlaas-data"), "--data-dir", help="The platform's data directory."),
):
    """Create a tenant and print its API key (the last word of the output; it is stored only hashed)."""
    from .store import Store

    tenant_id, key = Store(data_dir).add_tenant(name)
    typer.echo(f"Created tenant {name!r} ({tenant_id}). API key (shown once): {key}")


def _value(v):
    """A typer default seen by a direct Python call is an OptionInfo: use its default."""
    from typer.models import ParameterInfo

    return v.default if isinstance(v, ParameterInfo) else v


def trt(
    dataset: str = typer.Option(..., "--dataset", help="A bundled dataset: diabetes, ujiindoorloc, bank, ..."),
    algorithm: str = typer.Option(..., "--algorithm", help="A platform learner: ridge, svm_squared_hinge, ..."),
    fraction: float = typer.Option(..., "--fraction", help="Sampled fraction q of the training half (0.03 = 3%)."),
    server: str | None = typer.Option(None, "--server", help="Platform URL (default: an embedded one)."),
    black_box: bool = typer.Option(False, "--black-box", help="Release predictions only; steal through the API."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    api_key: str | None = typer.Option(None, "--api-key", envvar="HYPERSTEAL_API_KEY",
                                       help="API key for --server."),
    subsample: int | None = typer.Option(None, "--subsample", min=10, help="Use this many rows of the dataset."),
    seed: int = typer.Option(0, "--seed", help="Split and sampling seed."),
):
    """Train-Steal-Retrain: compare M1, M2 and M3 on a 50/50 split (the paper's §IV-C)."""
    dataset, algorithm, fraction, server, black_box, as_json, api_key, subsample, seed = map(
        _value, (dataset, algorithm, fraction, server, black_box, as_json, api_key, subsample, seed))
    if not (0 < fraction <= 1):
        _fail(f"--fraction must be in (0, 1], got {fraction}.")
    from hypersteal import datasets

    from .client import Client, PlatformError
    from .embedded import EmbeddedPlatform
    from .trt import train_steal_retrain

    try:
        ds = datasets.load(dataset, subsample=subsample, random_state=seed)
    except (ValueError, KeyError) as exc:
        _fail(str(exc))
    if server is not None and not api_key:
        _fail("--server needs --api-key (or HYPERSTEAL_API_KEY).")
    if server is None:  # the embedded platform's catalogue is known: check before starting it
        from .training import LEARNERS, canonical, not_offered

        if canonical(algorithm) not in LEARNERS:
            _fail(not_offered(algorithm))

    def run(url, key):
        with Client(url, key) as client:
            try:
                client.learner(algorithm)
            except KeyError as exc:  # training.NotOffered: its message
                _fail(str(exc))
            return train_steal_retrain(client, ds.X, ds.y, algorithm, fraction, black_box=black_box,
                                       random_state=seed)

    try:
        if server is None:
            with EmbeddedPlatform(workers=min(2, os.cpu_count() or 1)) as p:
                report = run(p.url, p.key)
        else:
            report = run(server, api_key)
    except PlatformError as exc:
        _fail(str(exc))
    report["dataset"] = dataset
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=_jsonable))
    else:
        typer.echo(summary(report))
    return report


def _jsonable(v):
    if hasattr(v, "tolist"):
        return v.tolist()
    return str(v)


def summary(report: dict) -> str:
    """A few readable lines about one Train-Steal-Retrain run."""
    metric = report["metric"]
    lines = [f"Train-Steal-Retrain: {report['algorithm']} on {report.get('dataset', 'data')}, "
             f"{report['n_train']} training / {report['n_test']} test rows, sample q = {report['fraction']:.3g} "
             f"({report['n_sample']} rows){', black-box' if report['black_box'] else ''}",
             f"{'':4}{'compute s':>12}{'bill $':>12}{'test ' + metric:>14}{'speedup':>10}{'rel. err':>10}"]
    for k, m in report["methods"].items():
        sp = "" if k == "M1" else f"{report['speedup'][k]:.2f}×"
        err = "" if k == "M1" else f"{report['relative_error'][k]:.4f}"
        lines.append(f"{k:<4}{m['compute_seconds']:>12.4f}{m['bill']:>12.3e}{m['test_' + metric]:>14.6g}"
                     f"{sp:>10}{err:>10}")
    st = report["methods"]["M3"]["steal"]
    extra = f", {st['queries']} queries" if st["queries"] else ""
    lam = st["lam"]
    lines.append(f"Stolen λ = {lam:.6g} ({st['how']}{extra}); residual {st['residual']:.2g}."
                 if math.isfinite(lam) else "λ could not be stolen.")
    return "\n".join(lines)


def main(argv=None):
    """``python -m hypersteal.mlaas.cli``: serve, add-tenant and trt in one app."""
    standalone = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    standalone.add_typer(app, name="mlaas")
    standalone.command("trt")(trt)
    return standalone(args=argv, prog_name="hypersteal")


if __name__ == "__main__":  # pragma: no cover
    main()
