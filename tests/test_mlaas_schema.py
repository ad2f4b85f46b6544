"""Property-based testing of the platform's OpenAPI schema (schemathesis): no request makes it fail (5xx)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hypersteal.mlaas import Client  # noqa: E402
from hypersteal.mlaas.embedded import EmbeddedPlatform  # noqa: E402
from hypersteal.mlaas.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    settings_ = Settings(workers=1, max_upload_bytes=100_000, max_predict_rows=50)
    with EmbeddedPlatform(tmp_path_factory.mktemp("mlaas-schema"), settings=settings_) as p:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(30, 3))
        with Client(p.url, p.key) as c:
            ds = c.upload(X, (X[:, 0] > 0).astype(int))
            model = c.train(ds["id"], "logistic_l2", protocol="II", lam=1.0)
        p.real_ids = {"dataset_id": ds["id"], "model_id": model["id"]}
        yield p


#: no 5xx; every status and body as the schema documents; what the schema rejects, the server rejects
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, negative_data_rejection]


@pytest.mark.slow
def test_no_request_makes_the_server_fail(served):
    """Positive and negative examples for every operation (a bounded run: a few examples each)."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable

    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    headers = {"Authorization": f"Bearer {served.key}"}
    failures, n_cases = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                      database=None)
            def run(case):
                nonlocal n_cases
                n_cases += 1
                # half of the examples address real resources, so the handlers behind the 404s run too
                if case.path_parameters and n_cases % 2 == 0:
                    for name, value in served.real_ids.items():
                        if name in case.path_parameters:
                            case.path_parameters[name] = value
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # no invalid request exists (an operation without inputs)
                continue
            except Exception as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)
    assert n_cases >= 30


def test_docs_are_served(served):
    import httpx

    assert httpx.get(f"{served.url}/docs").status_code == 200
    spec = httpx.get(f"{served.url}/openapi.json").json()
    assert {"/v1/datasets", "/v1/models", "/v1/models/{model_id}/predict", "/v1/billing"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
