"""Schemathesis over the whole OpenAPI: every operation, every role, no 5xx.

A bounded smoke (a few generated cases per operation, each sent with every role's key and
with none) so that it fits in ``make test``; the property is the one a client relies on:
whatever it sends, the service answers with a 2xx/3xx/4xx, never a server error. Schemathesis
generates both schema-valid data and, in negative mode, data that breaks the schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.service.conftest import ADMIN, LMS, NGUYEN, RESEARCHER, RIVAL_ADMIN, make_client

ROLES = {"admin": ADMIN, "lms": LMS, "teacher": NGUYEN, "researcher": RESEARCHER,
         "other-tenant admin": RIVAL_ADMIN, "anonymous": {}}
EXAMPLES_PER_OPERATION = 8


@pytest.fixture(scope="module")
def api_schema(template_db, tmp_path_factory):
    with make_client(template_db, tmp_path_factory.mktemp("schemathesis")) as client:
        yield schemathesis.openapi.from_asgi("/openapi.json", client.app)


def _check(operation, mode: str) -> int:
    calls = []

    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        for role, headers in ROLES.items():
            response = case.call(headers=headers)
            calls.append(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} as {role} ({mode}): "
                f"{response.status_code} {response.text[:300]}")

    try:
        run()
    except Unsatisfiable:
        if mode == "positive":
            raise
        # nothing of this operation can be made invalid (no parameters, no body)
    return len(calls)


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_error_for_any_role(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30, "the OpenAPI lost its operations"
    calls = sum(_check(op, mode) for op in operations)
    assert calls >= len(operations) * len(ROLES) * (1 if mode == "positive" else 0.5)
