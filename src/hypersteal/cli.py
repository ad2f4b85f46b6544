"""The ``hypersteal`` command (also ``python -m hypersteal``).

Only typer is imported at start-up; numpy, scikit-learn and the attack are imported when a command
runs, so ``hypersteal --help`` and shell completion answer at once.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import typer
import typer.core

_HELP = """Steal the regularisation hyperparameters of trained machine-learning models.

\b
  hypersteal steal -a ridge --data train.csv --target price --params model.npz
  hypersteal steal --model model.skops --data train.npz
  hypersteal identify --data train.csv --target price --params model.npz
  hypersteal algorithms
  hypersteal reproduce --quick

λ is in the paper's units (sum losses, penalties without ½): see docs/conventions.md.
"""



class _Group(typer.core.TyperGroup):
    """typer (0.2x) coerces even an absent bool flag (value None) through a pydantic adapter, and
    building the first adapter imports pydantic: about 0.3 s CPU before ``hypersteal steal --help``
    prints. Bool flags need no coercion, so the group's own flags get typer's pass-through coercion.
    Only an optimisation: with other typer internals nothing is changed."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        try:
            from typer._coercion import PassThroughRuntimeParam
        except ImportError:  # pragma: no cover - another typer version
            return params
        for p in params:
            desc = getattr(p, "type_descriptor", None)
            if getattr(p, "_runtime_param", False) is None and getattr(desc, "annotation", None) is bool:
                p._runtime_param = PassThroughRuntimeParam(parameter_info=desc.parameter_info, annotation=bool)
        return params


app = typer.Typer(
    cls=_Group,
    help=_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: no rich import, no type metavars on flags
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        from hypersteal import __version__

        typer.echo(f"hypersteal {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    pass


_STEAL_HELP = """Recover λ from a model's parameters (or its prediction API) and its training data.

\b
Pass the model in exactly one way:
  --params FILE  its learned parameters, .npz or .json, with scikit-learn's
                 attribute names:
     linear   coef (d,) or (classes, d); intercept: a number or one per
              row of coef
     kernel   dual_coef, one per training row (SVC: dual_coef_ placed at
              support_); intercept
     MLP      npz: coefs_0, coefs_1, ..., intercepts_0, intercepts_1, ...
              JSON: "coefs": [W0, W1, ...], "intercepts": [b0, b1, ...]
                 e.g. {"coef": [0.5, -1.2, 3.0], "intercept": 0.1} or
                 numpy.savez("m.npz", coef=m.coef_, intercept=m.intercept_)
  --model FILE   a fitted scikit-learn estimator saved with skops.io.dump
                 (never a pickle)
  --api URL      a prediction endpoint; the parameters are extracted first

\b
--unknown NAMES steals more than λ from the same conditions (with --params
or --model): class_weight (the classes' weights, relative to the first
class; "balanced" is recognised), or the kernel's gamma, degree, coef0
(comma-separated, e.g. --unknown degree,gamma), or epsilon (a kernel SVR's
tube width, HuberRegressor's epsilon). See docs/unknowns.md.

\b
--sample-weight COLUMN|FILE: the weights the model was fitted with (a
weighted fit is another minimum; see docs/estimators.md, "Weights").

\b
--data: .csv, .csv.gz or .parquet with --target naming the target column
(every other column must be a numeric feature); .npz with arrays X and y,
or a sparse X (the arrays scipy.sparse.save_npz writes) and y, as
hypersteal.io.save_data(path, X, y) writes it: read sparse, never densified
(linear learners); or a folder or glob of .parquet files, read lazily
with Dask.
Exit status: 0 success, 2 bad input.
"""


# the data and model options `steal` and `identify` share
_DATA = typer.Option(..., "--data", metavar="FILE",
                     help="Training data: .csv, .parquet or .npz (X dense or scipy.sparse, and y).")
_TARGET = typer.Option(None, "--target", metavar="COLUMN", help="Target column of a CSV/Parquet file.")
_KERNEL = typer.Option(None, metavar="NAME", help="Kernel of a kernel model: linear, rbf, poly, sigmoid, laplacian.")
_GAMMA = typer.Option(None, metavar="FLOAT", help="Kernel gamma (scikit-learn's).")
_DEGREE = typer.Option(None, metavar="INT", help="Polynomial kernel degree.")
_COEF0 = typer.Option(None, metavar="FLOAT", help="Kernel coef0.")
_ACTIVATION = typer.Option(None, metavar="NAME", help="MLP hidden activation (relu, tanh, ...).")
_INTERCEPT_SCALING = typer.Option(
    None, metavar="FLOAT", help="liblinear's penalised intercept scaling (LinearSVC, liblinear LogisticRegression)."
)


@app.command(help=_STEAL_HELP)
def steal(
    algorithm: str | None = typer.Option(
        None, "--algorithm", "-a", metavar="NAME",
        help="Learner: ridge, RR, SVM-RHL, ... (see `hypersteal algorithms`; not needed with --model)."
    ),
    data: str = _DATA,
    params: str | None = typer.Option(None, "--params", metavar="FILE",
                                      help="Learned parameters: .npz or .json (schema above)."),
    model: str | None = typer.Option(
        None, "--model", metavar="FILE", help="A fitted scikit-learn estimator saved with skops (.skops)."
    ),
    trust: list[str] | None = typer.Option(
        None, "--trust", metavar="TYPE",
        help="A type the .skops file may load although skops does not trust it by default (repeatable)."
    ),
    target: str | None = _TARGET,
    kernel: str | None = _KERNEL,
    gamma: float | None = _GAMMA,
    degree: int | None = _DEGREE,
    coef0: float | None = _COEF0,
    activation: str | None = _ACTIVATION,
    intercept_scaling: float | None = _INTERCEPT_SCALING,
    api: str | None = typer.Option(
        None, "--api", metavar="URL",
        help="Black box: the model's prediction endpoint (e.g. http://host:8000/v1/models/ID)."
    ),
    api_key: str | None = typer.Option(None, "--api-key", metavar="KEY", envvar="HYPERSTEAL_API_KEY",
                                       help="Bearer key for --api."),
    budget: int | None = typer.Option(None, "--budget", min=1, metavar="ROWS", help="Most rows to send to --api."),
    sample_weight: str | None = typer.Option(
        None, "--sample-weight", metavar="COLUMN|FILE",
        help="The per-row weights the model was fitted with: a column of --data (then not a feature), or a file "
             "(.npy, or .csv/.txt with one number per row)."),
    unknown: str | None = typer.Option(
        None, "--unknown", metavar="NAMES",
        help="Also steal these, taken as unknown: class_weight; or gamma, degree, coef0 (comma-separated); or "
             "epsilon."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress",
        help="Progress on stderr: each step with its time, rows sent to --api, Dask chunks "
             "[default: on when stderr is a terminal]."),
):
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
    if model is not None and algorithm is not None:
        _fail("--model needs no --algorithm: the estimator says which learner it is; drop --algorithm.")
    if unknown is not None and api is not None:
        _fail("--unknown works with --params or --model, not --api: extract the parameters first.")
    if sample_weight is not None and api is not None:
        _fail("--sample-weight works with --params or --model, not --api: extract the parameters first.")
    steps = _Steps(sys.stderr.isatty() if progress is None else progress)
    try:
        import hypersteal
        from hypersteal.io import load_data, load_params

        with steps(f"reading {_name(data)}"):
            weighted = {}
            if sample_weight is not None:
                from hypersteal.io import load_sample_weight

                weighted["sample_weight"] = load_sample_weight(sample_weight, data)
            X, y = load_data(data, target, exclude=(sample_weight,) if weighted else ())
        if api is not None:
            extra = {"budget": budget} if budget else {}
            query = _api_query(api, api_key, steps)
            with steps(f"extracting the parameters through {api}, then stealing λ"), steps.dask(X):
                result = hypersteal.steal_black_box(algorithm, query, X, y, **options, **extra)
        elif model is not None:
            from hypersteal.io import load_skops

            with steps(f"reading {_name(model)}"):
                estimator = load_skops(model, trusted=trust or [])
            with steps(f"stealing λ from the {type(estimator).__name__}"), steps.dask(X):
                result = (hypersteal.steal_from_estimator(estimator, X, y, **weighted) if unknown is None
                          else hypersteal.steal_jointly(estimator, X, y, unknown=unknown, **weighted))
        else:
            with steps(f"reading {_name(params)}"):
                loaded = load_params(params)
            with steps(f"stealing λ ({algorithm})"), steps.dask(X):
                result = (hypersteal.steal(algorithm, X, y, loaded, **options, **weighted) if unknown is None
                          else hypersteal.steal_jointly(algorithm, X, y, loaded, unknown=unknown, **options,
                                                        **weighted))
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    except ImportError as exc:  # an optional extra is missing; the message names it
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {_short(getattr(exc, 'filename', '') or '')}; check the path and its "
              "permissions.")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))  # its "status" is the machine-readable verdict
    else:
        typer.echo(result.summary())
        if api is not None:
            typer.echo(f"  queries    = {result.n_queries} rows sent to {api}")
    if model is None and str(getattr(result, "status", "")) in ("not_a_minimum", "interval_only"):
        typer.secho(f"note: the parameters are far from a minimum of {algorithm}'s objective (residual "
                    f"{result.residual:.3g}); if the model is another learner, pass its name with --algorithm.",
                    fg="yellow", err=True)


def _name(path) -> str:
    """A file as progress lines show it: its name."""
    return _short(Path(str(path)[-255:]).name or str(path))


def _short(path) -> str:
    text = str(path)
    return text if len(text) <= 80 else f"{text[:30]}…{text[-30:]}"


class _Steps:
    """Progress of a steal on stderr: one line per step with its time; a live counter where one exists."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.sent = 0

    def __call__(self, title: str):
        import contextlib

        @contextlib.contextmanager
        def step():
            if not self.enabled:
                yield
                return
            typer.echo(f"… {title}", err=True)
            t0 = time.perf_counter()
            yield
            typer.echo(f"  done in {time.perf_counter() - t0:.1f} s", err=True)

        return step()

    def dask(self, X):
        """Dask's progress bar while chunked data is reduced (a no-op for in-memory data)."""
        import contextlib

        if not self.enabled or type(X).__module__.split(".")[0] != "dask":
            return contextlib.nullcontext()
        from dask.diagnostics import ProgressBar

        return ProgressBar(out=sys.stderr)

    def rows(self, n: int, endpoint: str) -> None:
        self.sent += n
        if self.enabled:
            typer.echo(f"  {self.sent} rows sent to {endpoint}", err=True)


def _api_query(url: str, key: str | None, steps: _Steps | None = None):
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
            batch = np.asarray(rows[i:i + 5000], dtype=float)
            try:
                r = client.post(endpoint, json={"rows": batch.tolist()})
            except httpx.HTTPError as exc:
                raise InputError(f"Could not reach the prediction API at {endpoint} ({exc}).") from None
            if r.status_code != 200:
                raise InputError(f"The prediction API answered {r.status_code}: {r.text[:300]}")
            answers.extend(r.json()["scores"])
            if steps is not None:
                steps.rows(len(batch), endpoint)
        return np.asarray(answers, dtype=float)

    return query


def _plain(doc: str) -> str:
    """A docstring line as terminal text: reST literals and roles without their markup."""
    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc)
    return doc.replace("``", "")


@app.command()
def algorithms():
    """List the learners hypersteal can attack: name, the paper's name, task, what a prediction API returns,
    whether `hypersteal.learners.train` fits it, and the objective."""
    from hypersteal.objectives import OBJECTIVES
    from hypersteal.registry import LEARNERS

    typer.echo(f"{'name':<26} {'paper':<9} {'task':<15} {'API output':<12} {'trainer':<8} objective")
    for name, rec in LEARNERS.items():
        doc = (OBJECTIVES[name].__doc__ or "").strip().splitlines()[0]
        trainer = "yes" if rec.trainer else "no"
        typer.echo(f"{name:<26} {rec.paper:<9} {rec.task:<15} {rec.output:<12} {trainer:<8} {_plain(doc)}")


def _reproduce_help() -> str:
    # the section list is written out here (not imported) so that --help stays instant;
    # tests/test_cli.py checks it against hypersteal.experiments.SECTIONS
    return """Reproduce the paper's experiments: figures, results.json, report.md and index.html.

\b
Mode: --quick (the default) or --full (the paper's grid). docs/guide.md
gives both grids and their measured runtimes.
Sections (--only, repeatable or comma-separated; default: all):
  accuracy    Figs. 3-5: error of the stolen λ, every learner and dataset
              (alias figs3_5)
  theorem2    Fig. 6: Theorem 2's error bound, RR on Diabetes (alias fig6)
  black_box   Fig. 7: parameters extracted through a prediction API, then
              λ (aliases fig7, blackbox)
  defence     Section V: rounding the released parameters (alias defense)
  mlaas       Figs. 8-10: Train-Steal-Retrain on the simulated MLaaS
              platform; needs the server extra (alias platform)
  unknowns    Beyond λ: class weights and kernel gamma/degree stolen with λ,
              and identify; baseline λ alone (alias beyond_lambda)
Finished cells are cached in OUT/.cache: a rerun resumes where it stopped.
"""


@app.command(help=_reproduce_help())
def reproduce(
    quick: bool = typer.Option(False, "--quick", help="Fewer rows for the large datasets and kernels (the default)."),
    full: bool = typer.Option(False, "--full", help="The paper's grid: every row of every dataset (linear learners)."),
    out: Path = typer.Option(Path("hypersteal-results"), "--out", metavar="DIR", help="Output folder."),
    only: list[str] | None = typer.Option(None, "--only", metavar="SECTION",
                                          help="Run only these sections (repeatable; names above)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, metavar="N", help="Worker processes."),
):
    if quick and full:
        _fail("choose one of --quick and --full.")
    from hypersteal import experiments
    from hypersteal.experiments import _section_names

    try:
        selected = _section_names(only or None)
    except ValueError as exc:
        _fail(str(exc))
    try:
        experiments.reproduce(out=out, mode="full" if full else "quick", only=selected if only else None, jobs=jobs)
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"could not write to {_short(out)} ({exc.strerror or exc}); pass a writable folder with --out.")
    typer.echo(f"Report: {out / 'index.html'}  ({out / 'report.md'}, {out / 'results.json'})")


_IDENTIFY_HELP = """Which learner trained these parameters: every compatible registered learner,
ranked by how well its stationarity conditions hold, and its λ.

\b
--data and --params as for `hypersteal steal` (no --algorithm: that is the
question). The layout of the parameters picks the family (coef: linear,
dual_coef: kernel, pass --kernel/--gamma; coefs: networks), y the task.
Exit status: 0 identified, 3 cannot tell (several learners equally
consistent), 4 no match (no learner is stationary), 2 bad input.
"""


@app.command(help=_IDENTIFY_HELP)
def identify(
    data: str = _DATA,
    params: str = typer.Option(..., "--params", metavar="FILE", help="Learned parameters: .npz or .json."),
    target: str | None = _TARGET,
    task: str | None = typer.Option(None, metavar="TASK",
                                    help="regression or classification [default: read from y]."),
    kernel: str | None = _KERNEL,
    gamma: float | None = _GAMMA,
    degree: int | None = _DEGREE,
    coef0: float | None = _COEF0,
    activation: str | None = _ACTIVATION,
    intercept_scaling: float | None = _INTERCEPT_SCALING,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
):
    options = {
        k: v
        for k, v in dict(kernel=kernel, gamma=gamma, degree=degree, coef0=coef0, activation=activation,
                         intercept_scaling=intercept_scaling).items()
        if v is not None
    }
    X = None
    try:
        from hypersteal.identification import identify as run_identify
        from hypersteal.io import load_data, load_params

        X, y = load_data(data, target)
        found = run_identify(X, y, load_params(params), task=task, **options)
    except (ValueError, TypeError) as exc:
        if "scipy.sparse matrix" in str(exc) and hasattr(X, "nnz"):  # the message's X.toarray() is for Python
            _fail(f"identify takes a sparse X ({_name(data)}) for linear parameters only; name the learner with "
                  "`hypersteal steal -a NAME`, which reads it sparse, or save X dense "
                  "(hypersteal.io.save_data(path, X.toarray(), y)) if it fits in memory.")
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {_short(getattr(exc, 'filename', '') or '')}; check the path and its "
              "permissions.")
    typer.echo(json.dumps(found.to_dict(), indent=2) if as_json else found.summary())
    raise typer.Exit(found.exit_code)


def _register_platform():
    """`hypersteal mlaas serve|add-tenant` and `hypersteal trt` (the platform module imports only typer)."""
    from hypersteal.mlaas.cli import app as mlaas_app
    from hypersteal.mlaas.cli import trt

    mlaas_app.rich_markup_mode = None  # the same plain help as the rest of the command
    app.add_typer(mlaas_app, name="mlaas")
    app.command("trt", help="Train-Steal-Retrain on the platform: M1, M2, M3, bills and speedups.")(trt)


_register_platform()


def main(argv=None, prog_name: str = "hypersteal"):  # console-script entry point
    return app(args=argv, prog_name=prog_name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
