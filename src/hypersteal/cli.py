"""The ``hypersteal`` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(
    help="Steal the regularisation hyperparameters of trained machine-learning models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


@app.command()
def steal(
    algorithm: str | None = typer.Option(
        None, "--algorithm", "-a", help="Learner: ridge, RR, SVM-RHL, ... (not needed with --model)."
    ),
    data: Path = typer.Option(..., "--data", help="Training data: .csv, .parquet or .npz (X, y)."),
    params: Path | None = typer.Option(None, "--params", help="Learned parameters: .npz or .json."),
    model: Path | None = typer.Option(
        None, "--model", help="A fitted scikit-learn estimator saved with skops (.skops); never pickle."
    ),
    trust: list[str] | None = typer.Option(
        None, "--trust", help="Type a .skops file may load although skops does not trust it (repeatable)."
    ),
    target: str | None = typer.Option(None, "--target", help="Target column of a CSV/Parquet file."),
    kernel: str | None = typer.Option(None, help="Kernel of a kernel model (rbf, poly, ...)."),
    gamma: float | None = typer.Option(None, help="Kernel gamma."),
    degree: int | None = typer.Option(None, help="Polynomial kernel degree."),
    coef0: float | None = typer.Option(None, help="Kernel coef0."),
    activation: str | None = typer.Option(None, help="MLP hidden activation."),
    intercept_scaling: float | None = typer.Option(
        None, help="liblinear's penalised intercept scaling (LinearSVC, liblinear LogisticRegression)."
    ),
    api: str | None = typer.Option(
        None, "--api", help="Black box: the model's prediction endpoint URL (e.g. http://host:8000/v1/models/ID)."
    ),
    api_key: str | None = typer.Option(None, "--api-key", envvar="HYPERSTEAL_API_KEY", help="Bearer key for --api."),
    budget: int | None = typer.Option(None, "--budget", min=1, help="Most rows to send to --api."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Recover λ from a model's parameters (or its prediction API) and its training data."""
    import hypersteal
    from hypersteal.io import load_data, load_params

    options = {
        k: v
        for k, v in dict(kernel=kernel, gamma=gamma, degree=degree, coef0=coef0, activation=activation,
                         intercept_scaling=intercept_scaling).items()
        if v is not None
    }
    if sum(x is not None for x in (params, model, api)) != 1:
        _fail("pass exactly one of --params (npz/JSON parameters), --model (a .skops estimator) and --api (a URL).")
    if model is None and algorithm is None:
        _fail("--params and --api need --algorithm (e.g. --algorithm ridge); see `hypersteal algorithms`.")
    try:
        X, y = load_data(data, target)
        if api is not None:
            extra = {"budget": budget} if budget else {}
            result = hypersteal.steal_black_box(algorithm, _api_query(api, api_key), X, y, **options, **extra)
        elif model is not None:
            from hypersteal.io import load_skops

            result = hypersteal.steal_from_estimator(load_skops(model, trusted=trust or []), X, y)
        else:
            result = hypersteal.steal(algorithm, X, y, load_params(params), **options)
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    if as_json:
        out = result.to_dict()
        if api is not None:
            out["n_queries"] = result.n_queries
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo(result.summary())
        if api is not None:
            typer.echo(f"  queries    = {result.n_queries} rows sent to {api}")


def _api_query(url: str, key: str | None):
    """A query function over HTTP: rows are POSTed to URL/predict, the answers' ``scores`` come back."""
    import httpx
    import numpy as np

    from hypersteal import InputError

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    client = httpx.Client(headers=headers, timeout=120.0)
    endpoint = url.rstrip("/") + ("" if url.rstrip("/").endswith("/predict") else "/predict")

    def query(rows):
        answers = []
        for i in range(0, len(rows), 5000):
            try:
                r = client.post(endpoint, json={"rows": np.asarray(rows[i:i + 5000], dtype=float).tolist()})
            except httpx.HTTPError as exc:
                raise InputError(f"Could not reach the prediction API at {endpoint} ({exc}).") from None
            if r.status_code != 200:
                raise InputError(f"The prediction API answered {r.status_code}: {r.text[:300]}")
            answers.extend(r.json()["scores"])
        return np.asarray(answers, dtype=float)

    return query


@app.command()
def algorithms():
    """List the learners hypersteal can attack, with the paper's names."""
    from hypersteal.objectives import OBJECTIVES
    from hypersteal.registry import ALGORITHMS

    for name, paper in ALGORITHMS.items():
        doc = (OBJECTIVES[name].__doc__ or "").strip().splitlines()[0]
        typer.echo(f"{name:<26} {paper:<9} {doc}")


@app.command()
def reproduce(
    quick: bool = typer.Option(False, "--quick", help="Fewer λ values and subsampled large datasets."),
    full: bool = typer.Option(False, "--full", help="The paper's full grid."),
    out: Path = typer.Option(Path("hypersteal-results"), "--out", help="Output folder."),
    only: list[str] | None = typer.Option(None, "--only", help="Run only these sections (repeatable)."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Worker processes."),
):
    """Reproduce the paper's experiments: figures, results.json, report.md and index.html."""
    if quick and full:
        _fail("choose one of --quick and --full.")
    from hypersteal import experiments

    if only:
        unknown = [s for s in only if s not in experiments.SECTIONS]
        if unknown:
            _fail(f"unknown section(s) {unknown}; valid: {', '.join(experiments.SECTIONS)}.")
    try:
        experiments.reproduce(out=out, mode="full" if full else "quick", only=only, jobs=jobs)
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    typer.echo(f"Report: {out / 'index.html'}  ({out / 'report.md'}, {out / 'results.json'})")


def _register_platform():
    """`hypersteal mlaas serve|add-tenant` and `hypersteal trt` (the platform module imports only typer)."""
    from hypersteal.mlaas.cli import app as mlaas_app
    from hypersteal.mlaas.cli import trt

    app.add_typer(mlaas_app, name="mlaas")
    app.command("trt", help="Train-Steal-Retrain on the platform: M1, M2, M3, bills and speedups.")(trt)


_register_platform()


def main(argv=None):  # console-script entry point
    return app(args=argv, prog_name="hypersteal")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
