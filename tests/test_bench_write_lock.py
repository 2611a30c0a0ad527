"""``benchmarks.write_lock``: its WAL page count reads real frames (the B-trees one batch
writes), its timings cover both cases, and a bad flag is named with its fix."""

from __future__ import annotations

import pytest

from benchmarks import write_lock


def test_a_small_run_counts_the_btrees_a_batch_writes():
    r = write_lock.run(n=1000, batches=2, batch=100, progress=False)
    for case in ("warm", "cold"):
        assert r[f"prepare_{case}"] > 0 and r[f"write_{case}"] > 0
    trees = r["pages_by_tree"]
    # every batch adds observations (their id index and learner-time index), mastery and history
    for tree in ("observations", "sqlite_autoindex_observations_1", "observations_learner", "mastery",
                 "mastery_history", "mastery_history_learner"):
        assert trees.get(tree, 0) >= 1, f"{tree} not among the pages written: {trees}"
    assert r["pages"] == sum(trees.values())


def test_a_bad_flag_is_named_with_its_fix(capsys):
    with pytest.raises(SystemExit) as exc:
        write_lock.main(["--batches", "0"])
    assert exc.value.code == 2
    assert "--batches must be at least 1, got 0" in capsys.readouterr().err
