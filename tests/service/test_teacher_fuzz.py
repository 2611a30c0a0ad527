"""Schemathesis over the teacher-overview operations (heatmap, needs, groups, approve all,
activity search): every role, schema-valid and schema-breaking input, no 5xx."""

from __future__ import annotations

import pytest

from tests.service.test_schemathesis import ROLES, _check, api_schema  # noqa: F401  (fixture)

MINE = ("/heatmap", "/needs", "/groups", "/approve-all", "/activities/search")


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_teacher_overview_operations_never_answer_5xx(api_schema, mode):  # noqa: F811
    operations = [r.ok() for r in api_schema.get_all_operations()]
    mine = [op for op in operations if any(m in op.path for m in MINE)]
    assert len(mine) == 7, [op.path for op in mine]
    calls = sum(_check(op, mode) for op in mine)
    assert calls >= len(mine) * len(ROLES) * (1 if mode == "positive" else 0.5)
