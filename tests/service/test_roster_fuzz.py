"""Schemathesis over the rostering and admin operations only (the whole-API smoke lives in
test_schemathesis.py): generated and schema-breaking requests never get a 5xx."""

from __future__ import annotations

import pytest
import schemathesis

from tests.service.conftest import make_client
from tests.service.test_schemathesis import _check

MINE = ("/v1/roster", "/v1/admin")


@pytest.fixture(scope="module")
def api_schema(template_db, tmp_path_factory):
    with make_client(template_db, tmp_path_factory.mktemp("roster-fuzz")) as client:
        yield schemathesis.openapi.from_asgi("/openapi.json", client.app)


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_roster_operations_never_5xx(api_schema, mode):
    ops = [r.ok() for r in api_schema.get_all_operations()]
    ops = [op for op in ops if op.path.startswith(MINE)]
    assert len(ops) >= 14
    assert sum(_check(op, mode) for op in ops) > 0
