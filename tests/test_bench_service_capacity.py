"""The capacity ramp's steps and verdicts (``benchmarks.service_capacity``)."""

from __future__ import annotations

import pytest

from benchmarks.service_capacity import GROWTH, SCENARIOS, held, next_rate


def _rates(name: str, n: int) -> list[float]:
    rates = [SCENARIOS[name].start]
    for _ in range(n - 1):
        rates.append(next_rate(rates[-1], SCENARIOS[name]))
    return rates


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_target_is_a_step_and_the_ramp_grows_around_it(name):
    sc = SCENARIOS[name]
    target = sc.target / sc.events_per_request
    rates = _rates(name, 16)
    assert any(abs(r - target) < 1e-9 for r in rates)
    for a, b in zip(rates, rates[1:], strict=False):
        assert a < b <= a * GROWTH + 1e-9
        if a >= target:  # past the target, the usual x1.35
            assert b == pytest.approx(a * GROWTH)


def test_batched_steps_around_its_target():
    events = [r * 500 for r in _rates("batched", 9)]
    assert [round(e) for e in events[-3:]] == [12107, 16344, 20000]


def _step(rate=40.0, completed=40.0, p99=0.2, errors=0):
    return {"rate": rate, "completed_rate": completed, "p99": p99, "errors": errors}


def test_a_step_is_held_only_with_no_errors_95_percent_done_and_p99_under_the_bound():
    batched = SCENARIOS["batched"]
    assert held(_step(), batched)
    assert not held(_step(p99=0.25), batched)
    assert not held(_step(completed=37.9), batched)
    assert not held(_step(errors=1), batched)
    assert not held(_step(p99=0.06), SCENARIOS["single"])
