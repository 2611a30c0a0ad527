"""engine.xapi: the spec's comparison rules and the statements it requires rejecting (pure)."""

from __future__ import annotations

import copy

import pytest

from engine.app.xapi import StatementError, map_statement
from engine.xapi.compare import same_statement
from engine.xapi.validate import statement_body

BASE = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"objectType": "Agent", "name": "Project Tin Can API", "mbox": "mailto:user@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
    "object": {"objectType": "Activity", "id": "http://example.adlnet.gov/xapi/example/activity",
               "definition": {"name": {"en-US": "simple statement"}}},
    "result": {"success": True, "score": {"scaled": 0.5}},
    "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                "contextActivities": {"parent": {"id": "http://example.adlnet.gov/xapi/example/course"}}},
    "timestamp": "2013-05-18T05:32:34.804Z",
}


def variant(**changes):
    s = copy.deepcopy(BASE)
    for path, value in changes.items():
        *head, last = path.split("__")
        node = s
        for part in head:
            node = node[part]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return s


@pytest.mark.parametrize("same", [
    variant(verb__display={"en-GB": "answered (UK)"}),
    variant(verb__display=...),
    variant(object__definition={"name": {"de-DE": "anders"}, "type": "http://adlnet.gov/expapi/activities/cmi.interaction"}),
    variant(object__definition=...),
    variant(timestamp="2013-05-18T07:32:34.804+02:00"),
    variant(timestamp="2013-05-18T05:32:34.8040Z"),
    variant(actor__mbox="mailto:USER@Example.COM"),
    variant(context__contextActivities={"parent": [{"id": "http://example.adlnet.gov/xapi/example/course",
                                                    "definition": {"name": {"en-US": "Course"}}}]}),
    variant(context__registration="EC531277-B57B-4C15-8D91-D292C5B2B8F7"),
    variant(id="FD41C918-B88B-4B20-A0A5-A4C32391AAA0"),
    {**BASE, "stored": "2020-01-01T00:00:00Z", "version": "1.0.3",
     "authority": {"mbox": "mailto:lrs@example.com"}},
])
def test_differences_the_spec_ignores(same):
    assert same_statement(BASE, same)
    assert map_statement(same, now=0.0).digest == map_statement(BASE, now=0.0).digest


@pytest.mark.parametrize("different", [
    variant(verb__id="http://adlnet.gov/expapi/verbs/failed"),
    variant(object__id="http://example.adlnet.gov/xapi/example/other"),
    variant(result__success=False),
    variant(timestamp="2013-05-18T05:32:35.804Z"),
    variant(actor__mbox="mailto:other@example.com"),
    variant(context__registration="00000000-b57b-4c15-8d91-d292c5b2b8f7"),
    variant(context__contextActivities={"grouping": [{"id": "http://example.adlnet.gov/xapi/example/course"}]}),
])
def test_real_differences(different):
    assert not same_statement(BASE, different)


def test_group_member_order_does_not_count():
    a = {"mbox": "mailto:a@x.org"}
    b = {"account": {"homePage": "https://lms.example", "name": "b"}}
    g1 = variant(actor={"objectType": "Group", "member": [a, b]})
    g2 = variant(actor={"objectType": "Group", "member": [b, a]})
    assert same_statement(g1, g2)


@pytest.mark.parametrize(("bad", "field"), [
    (variant(actor={"mbox": "mailto:a@x.org", "openid": "https://id.example/a"}), "actor"),
    (variant(actor={"objectType": "Group", "mbox": "mailto:g@x.org", "account": {"homePage": "https://x", "name": "g"}}), "actor"),
    (variant(verb__id="answered"), "verb.id"),
    (variant(object__id="not an iri"), "object.id"),
    (variant(object__definition__type="quiz"), "object.definition.type"),
    (variant(context__registration=None), "context.registration"),
    (variant(result__score={"scaled": None}), "result.score.scaled"),
    (variant(context__contextActivities={"parent": [{"id": "x y"}]}), "context.contextActivities.parent[0].id"),
    (variant(context__extensions={"speed": 1}), "context.extensions['speed']"),
    (variant(verb__display={"not a tag!": "x"}), "verb.display.not a tag!"),
    (variant(result__duration="90 seconds"), "result.duration"),
    ({**BASE, "colour": "red"}, "colour"),
    ({**BASE, "version": "0.95"}, "version"),
    (variant(context__registration="nope"), "context.registration"),
    (variant(object={"objectType": "StatementRef", "id": "nope"}), "object.id"),
    (variant(object={"objectType": "SubStatement", "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
                     "actor": BASE["actor"], "verb": BASE["verb"], "object": {"id": "http://x.org/a"}}), "object.id"),
    (variant(object={"objectType": "SubStatement", "actor": BASE["actor"], "verb": BASE["verb"],
                     "object": {"objectType": "SubStatement", "actor": BASE["actor"], "verb": BASE["verb"],
                                "object": {"id": "http://x.org/a"}}}), "object.object.objectType"),
    (variant(object={"objectType": "Agent", "mbox": "mailto:a@x.org"}, context__platform="LMS"), "context.platform"),
    (variant(context__instructor={"mbox": "a@x.org"}), "context.instructor.mbox"),
])
def test_rejects_what_the_spec_requires_rejecting(bad, field):
    with pytest.raises(StatementError) as err:
        map_statement(bad, now=0.0)
    assert err.value.field == field, err.value


def test_extensions_may_hold_null_and_the_base_is_valid():
    statement_body(BASE)
    statement_body(variant(result__extensions={"http://example.org/ext": None}))


def test_stored_form_arrays_and_timestamp():
    no_ts = variant(timestamp=...)
    m = map_statement(no_ts, now=1_700_000_000.0)
    assert m.statement["timestamp"] == "2023-11-14T22:13:20.000Z"
    assert m.statement["context"]["contextActivities"]["parent"] == [BASE["context"]["contextActivities"]["parent"]]


def test_xapi_2_context_agents_only_in_a_2_0_statement():
    ctx_agents = [{"objectType": "contextAgent", "agent": {"mbox": "mailto:coach@example.com"},
                   "relevantTypes": ["https://example.com/types/coach"]}]
    ctx_groups = [{"objectType": "contextGroup", "group": {"objectType": "Group", "mbox": "mailto:team@example.com"}}]
    two = {**variant(), "version": "2.0.0",
           "context": {**BASE["context"], "contextAgents": ctx_agents, "contextGroups": ctx_groups}}
    statement_body(two)
    assert map_statement(two, now=0.0).statement["context"]["contextAgents"] == ctx_agents
    with pytest.raises(StatementError, match="contextAgents"):
        statement_body({**two, "version": "1.0.3"})
    bad = {**two, "context": {**two["context"], "contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "x"}}]}}
    with pytest.raises(StatementError, match="mbox"):
        statement_body(bad)
