"""kt.fitting.fit_with_progress: the tqdm bar (and its import) only once a fit lasts 1 s."""

from __future__ import annotations

import time

import tqdm as tqdm_module

from kt.fitting import fit_with_progress


class FakeModel:
    """Reports progress(done, total) for 4 steps; ``clock`` advances the fake monotonic time."""

    def __init__(self, clock: list[float], step_seconds: float) -> None:
        self.clock, self.step_seconds = clock, step_seconds

    def fit(self, log, progress=None):
        for done in range(1, 5):
            self.clock[0] += self.step_seconds
            if progress is not None:
                progress(done, 4)
        return self


def _record_bars(monkeypatch):
    bars = []

    class Bar:
        def __init__(self, total=None, **kwargs):
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def update(self, k):
            self.n += k

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm_module, "tqdm", Bar)
    return bars


def test_fast_fit_creates_no_bar(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    bars = _record_bars(monkeypatch)
    model = FakeModel(clock, step_seconds=0.1)
    assert fit_with_progress(model, None) is model
    assert bars == []


def test_slow_fit_shows_the_bar_from_the_first_report_after_a_second(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    bars = _record_bars(monkeypatch)
    fit_with_progress(FakeModel(clock, step_seconds=0.6), None)
    assert len(bars) == 1
    bar = bars[0]
    assert bar.total == 4 and bar.n == 4 and bar.closed  # caught up with the skills done
