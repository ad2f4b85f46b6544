"""Every code block of README.md and docs/*.md runs, so a snippet that stops working fails the suite.

A small collector, no plugin: each Markdown file is one test. Its ``python`` blocks run in order in
one namespace (as a reader pastes them into one session), compiled with the Markdown file's name and
line numbers so a traceback points at the page. ``bash``/``console`` blocks run each ``hypersteal`` or
``python`` command (console: the ``$`` lines) in the same folder, which holds the files the snippets
name but do not create (``_implied_files``).

An HTML comment on the line before a block changes what happens to it, and says why:

* ``<!-- snippet: parse: REASON -->`` — each ``hypersteal`` command line is parsed against the real
  CLI (every option and value checked) without running it: runs of minutes, servers.
* ``<!-- snippet: skip: REASON -->`` — not run (package installation; .ci/run runs those commands).

Blocks without a language (directory trees, output) are not code.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*snippet:\s*(\w+)\s*(?::\s*(.*?))?\s*-->\s*$")


def code_blocks(path: Path) -> list[dict]:
    """(language, first line number, code, directive, reason) of every fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2)
        j = i + 1
        while j < len(lines) and not FENCE.match(lines[j]):
            j += 1
        body = [line[indent:] if line[:indent].strip() == "" else line for line in lines[i + 1:j]]
        prev = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        d = DIRECTIVE.match(prev)
        blocks.append({"lang": lang, "line": i + 2, "code": "\n".join(body) + "\n",
                       "directive": d.group(1) if d else "run", "reason": (d.group(2) or "") if d else ""})
        i = j + 1
    return blocks


def test_collector_sees_every_block():
    """Guards the collector itself: the pages hold code, directives are known and give a reason."""
    blocks = [b for p in PAGES for b in code_blocks(p)]
    assert sum(b["lang"] == "python" for b in blocks) >= 6
    assert sum(b["lang"] in ("bash", "console") for b in blocks) >= 6
    for b in blocks:
        assert b["directive"] in ("run", "parse", "skip"), b
        assert b["directive"] == "run" or b["reason"], f"a {b['directive']} directive needs a reason: {b}"


# ------------------------------------------------------------------------------------------ fixtures


def _implied_files(d: Path) -> None:
    """The files the README's shell examples name: a regression CSV with a `price` column and its ridge
    parameters (npz and skops), a binary npz with an RBF SVC's parameters, and Parquet parts."""
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.svm import SVC

    from hypersteal.io import save_params

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = X.assign(price=y)
    frame.to_csv(d / "train.csv", index=False)
    ridge = Ridge(alpha=2.0).fit(X.to_numpy(), y.to_numpy())
    save_params(d / "model.npz", {"coef": ridge.coef_, "intercept": ridge.intercept_})
    sio.dump(ridge, d / "model.skops")
    (d / "big").mkdir()
    for k, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[part].to_parquet(d / "big" / f"part-{k}.parquet")

    Xc, yc = load_breast_cancer(return_X_y=True)
    Xc = ((Xc - Xc.mean(0)) / Xc.std(0))[:120]
    yc = yc[:120]
    np.savez(d / "train.npz", X=Xc, y=yc)
    svc = SVC(kernel="rbf", gamma=0.1, C=1.0, tol=1e-12).fit(Xc, yc)
    alpha = np.zeros(len(yc))
    alpha[svc.support_] = svc.dual_coef_.ravel()
    save_params(d / "svc.npz", {"dual_coef": alpha, "intercept": svc.intercept_})


# ------------------------------------------------------------------------------------------ shell


def _commands(block: dict) -> list[list[str]]:
    text = block["code"]
    if block["lang"] == "console":  # only the prompt lines (and their continuations) are commands
        kept, cont = [], False
        for line in text.splitlines():
            if line.startswith("$ ") or cont:
                kept.append(line[2:] if line.startswith("$ ") else line)
                cont = line.rstrip().endswith("\\")
        text = "\n".join(kept)
    text = text.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            out.append(words)
    return out


def _parse_cli(args: list[str]) -> None:
    """Parse a hypersteal command line with the real command tree, without running it."""
    import typer.core
    from typer.main import get_command

    from hypersteal.cli import app

    cmd = get_command(app)
    ctx = cmd.make_context("hypersteal", list(args))
    while isinstance(cmd, typer.core.TyperGroup):
        name, cmd, rest = cmd.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert cmd is not None, f"unknown command in {args}"
        ctx = cmd.make_context(name, rest, parent=ctx)


def _run_shell(block: dict, where: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    for words in _commands(block):
        program, args = words[0], words[1:]
        if program not in ("hypersteal", "python"):
            pytest.fail(f"{where}: `{' '.join(words)}` is not a hypersteal or python command; mark the block "
                        "<!-- snippet: skip: REASON --> if it cannot run here")
        if block["directive"] == "parse":
            if program == "hypersteal":
                _parse_cli(args)
            continue
        argv = [sys.executable, "-m", "hypersteal", *args] if program == "hypersteal" else [sys.executable, *args]
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{where}: `{' '.join(words)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}"


# ------------------------------------------------------------------------------------------ the test


CODE = ("python", "bash", "console", "sh")
PAGES_WITH_CODE = [p for p in PAGES if any(b["lang"] in CODE for b in code_blocks(p))]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=[str(p.relative_to(ROOT)) for p in PAGES_WITH_CODE])
def test_every_snippet_runs(page, tmp_path, monkeypatch):
    blocks = [b for b in code_blocks(page) if b["lang"] in CODE]
    monkeypatch.chdir(tmp_path)
    if page.name == "README.md":
        _implied_files(tmp_path)
    namespace: dict = {"__name__": "__snippet__"}
    rel = str(page.relative_to(ROOT))
    for b in blocks:
        where = f"{rel}:{b['line']}"
        if b["directive"] == "skip":
            continue
        if b["lang"] == "python":
            if b["directive"] == "parse":
                compile(b["code"], rel, "exec")
                continue
            code = compile("\n" * (b["line"] - 1) + b["code"], rel, "exec")  # tracebacks show the page's lines
            exec(code, namespace)
        else:
            _run_shell(b, where, tmp_path)
