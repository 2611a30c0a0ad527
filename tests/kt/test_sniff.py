"""kt._sniff: text columns read straight into dictionary arrays give the same log as strings
coded after the read; anything pyarrow might read as another type is left to pyarrow."""

from __future__ import annotations

import numpy as np
import pytest

import kt._sniff as sniff
from kt.io import read_log

NAMES = ["id", "name", "when", "flag", "score", "maybe"]


def _head(rows: list[str]) -> bytes:
    return ("\n".join([",".join(NAMES), *rows]) + "\n").encode()


def test_only_surely_text_columns_are_chosen():
    head = _head(["1,alice,2020-01-02,true,-1.5e3,", "2,bob,12:30:00,FALSE,nan,NA",
                  "3,,2020-01-02T10:00,true,inf,x7"])
    assert sniff.text_columns(head, ",", NAMES, NAMES) == ["name", "maybe"]
    assert sniff.text_columns(head, ",", NAMES, ["name"]) == ["name"]
    assert sniff.text_columns(head, ",", NAMES, ["id", "absent"]) == []


def test_doubtful_heads_choose_nothing():
    assert sniff.text_columns(_head([]), ",", NAMES, NAMES) == []  # no data row
    latin1 = ",".join(NAMES).encode() + b"\n1,Jos\xe9,x,x,x,x\n"
    assert sniff.text_columns(latin1, ",", NAMES, NAMES) == []  # not UTF-8: pyarrow decides
    cut = (",".join(NAMES) + "\n" + "1,2,3,4,5,6\n" * 20).encode()
    cut = cut + b'7,"a\n' + b"x" * sniff.SNIFF_BYTES
    cut = cut[:sniff.SNIFF_BYTES]
    assert "name" not in sniff.text_columns(cut, ",", NAMES, ["name"])  # cut quoted cell


@pytest.fixture(params=["sniffed", "strings"])
def mode(request, monkeypatch):
    if request.param == "strings":
        monkeypatch.setattr(sniff, "text_columns", lambda *a: [])
    return request.param


def test_dictionary_read_equals_string_read_after_dropped_rows(tmp_path, mode):
    """A skill, learner and item seen only on rows that are dropped (original == 0, no skill)
    must not enter the vocabularies."""
    rows = ["order_id,user_id,skill_name,problem_id,correct,original"]
    for i in range(40):
        rows.append(f"{i},u{i % 4},s{i % 3},p{i % 5},{i % 2},1")
    rows += ["40,ghost,only-scaffold,p-ghost,1,0", "41,u1,,p1,1,1", "42,u2,s1~~s9,p2,0,1"]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    log = read_log(path, preset="assistments", missing_skill="drop")
    assert "ghost" not in log.learner_ids.tolist()
    assert sorted(log.skill_names.tolist()) == ["s0", "s1", "s2", "s9"]
    assert "p-ghost" not in log.item_ids.tolist()
    assert len(log) == 40 + 2  # the '~~' row became two rows
    assert np.all(np.diff(log.learner) >= 0)
