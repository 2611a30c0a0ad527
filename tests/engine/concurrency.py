"""Two or more store connections ingesting at once (shared by the mastery and time-order tests)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from engine.engine import Engine
from engine.store import open_store

TENANT = "north"


def ingest_concurrently(store_url: str, school, writers: Mapping[str, Sequence]) -> None:
    """Load ``school`` into tenant ``north``, then run one thread per writer, each over its own
    connection, ingesting its observations one batch each in order; fail on any error."""
    with open_store(store_url) as setup:
        Engine(setup, TENANT).load_school(school)
    errors: list[BaseException] = []

    def writer(observations: Sequence) -> None:
        try:
            with open_store(store_url) as own:
                engine = Engine(own, TENANT)
                for obs in observations:
                    engine.ingest([obs])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(obs,)) for obs in writers.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def chained_history(store_url: str, learner: str, skill: str) -> tuple[list, object]:
    """The learner-skill history after the writers: each change starts where the previous one
    ended and the last one is the stored mastery. Returns (history, stored SkillMastery)."""
    with open_store(store_url) as check:
        engine = Engine(check, TENANT)
        history = engine.history(learner, skill)
        for prev, nxt in zip(history, history[1:], strict=False):
            assert nxt.before == prev.after
        stored = engine.mastery(learner)[skill]
        assert history[-1].after == stored.p_mastered
        return history, stored
