"""MkDocs hooks: pages generated from the code at build time, offline.

* ``index.md``        the README, its ``docs/`` links made relative to the site;
* ``learners.md``     the learner table from :data:`hypersteal.ALGORITHMS` and the objectives' docstrings;
* ``platform-api.md`` and ``openapi.json``: the MLaaS platform's OpenAPI schema, generated from the
  FastAPI app itself (nothing is started, nothing is fetched).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent


def _readme() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"\]\(docs/([^)]+)\)", r"](\1)", text)  # the site's pages sit next to index.md
    return text


def _plain(doc: str) -> str:
    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc)
    return doc.replace("``", "`")


def _learners() -> str:
    from hypersteal.objectives import OBJECTIVES
    from hypersteal.registry import ALGORITHMS

    rows = []
    for name, paper in ALGORITHMS.items():
        doc = (OBJECTIVES[name].__doc__ or "").strip().splitlines()[0]
        title, _, objective = doc.partition(":")
        rows.append(f"| `{name}` | {paper} | {_plain(title).strip()} | {_plain(objective).strip().rstrip('.')} |")
    return "\n".join([
        "# Learners",
        "",
        "Every learner hypersteal attacks, generated from the code (`hypersteal.ALGORITHMS` and each objective's",
        "docstring); `hypersteal algorithms` prints the same list. Names are case-insensitive and the paper's",
        "abbreviations work too. The units of λ, the gradients b and a, and the mapping to scikit-learn's and",
        "PyTorch's own hyperparameters: [conventions](conventions.md).",
        "",
        "| name | paper | learner | objective |",
        "|---|---|---|---|",
        *rows,
        "",
    ])


def _openapi() -> dict:
    from hypersteal.mlaas.service import create_app

    with tempfile.TemporaryDirectory() as tmp:
        return create_app(Path(tmp)).openapi()


def _platform_api(schema: dict) -> str:
    rows = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            summary = op.get("summary") or ""
            rows.append(f"| `{method.upper()} {path}` | {summary} |")
    info = schema["info"]
    return "\n".join([
        "# Platform API",
        "",
        f"The OpenAPI {schema.get('openapi', '')} schema of **{info['title']}** (API version {info['version']}),",
        "generated from the FastAPI app when this site was built: [openapi.json](openapi.json). A running",
        "platform serves the same schema at `/openapi.json` and interactive documentation at `/docs`; how to",
        "run one, authentication, uploads and billing: [MLaaS platform](mlaas.md).",
        "",
        info.get("description", ""),
        "",
        "| endpoint | summary |",
        "|---|---|",
        *rows,
        "",
    ])


def on_files(files, config):
    schema = _openapi()
    generated = {
        "index.md": _readme(),
        "learners.md": _learners(),
        "platform-api.md": _platform_api(schema),
        "openapi.json": json.dumps(schema, indent=1),
    }
    for name, content in generated.items():
        old = files.get_file_from_path(name)
        if old is not None:
            files.remove(old)
        files.append(File.generated(config, name, content=content))
    return files


# ------------------------------------------------------------------------------ griffe extension

try:
    import griffe
except ImportError:  # pragma: no cover - only the docs build loads the extension
    griffe = None

_PROMPT = re.compile(r"^(\s*)(>>>|\.\.\.)( |$)")

if griffe is not None:

    class DoctestFences(griffe.Extension):
        """Docstrings show interactive examples as ``>>>`` lines (doctest style). Markdown would read
        them as prose (``results["a"]["b"]`` is reference-link syntax), so every run of ``>>>``/``...``
        lines is wrapped in a ``pycon`` code fence before the docstring is rendered."""

        def on_instance(self, *, obj, **kwargs) -> None:
            if obj.docstring is None or ">>>" not in obj.docstring.value:
                return
            out, inside = [], False
            for line in obj.docstring.value.splitlines():
                m = _PROMPT.match(line)
                if m and not inside:
                    out.append(f"{m.group(1)}```pycon")
                    inside, indent = True, m.group(1)
                elif inside and not m:
                    out.append(f"{indent}```")
                    inside = False
                out.append(line)
            if inside:
                out.append(f"{indent}```")
            obj.docstring.value = "\n".join(out)
