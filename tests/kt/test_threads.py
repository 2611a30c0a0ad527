"""kt._threads.Call: a value or an exception comes back from the other thread."""

from __future__ import annotations

import threading

import pytest

from kt._threads import Call


def test_call_returns_the_value_computed_in_another_thread():
    main = threading.get_ident()
    call = Call(lambda a, b: (a + b, threading.get_ident()), 2, 3)
    value, ident = call.result()
    assert value == 5 and ident != main


def test_call_reraises_the_error_once():
    def fail():
        raise ValueError("bad column 'x'")

    call = Call(fail)
    with pytest.raises(ValueError, match="bad column 'x'"):
        call.result()
    assert call.result() is None  # the error was handed over


def test_fit_path_does_not_import_concurrent_futures(tmp_path):
    """Both threaded steps run (60k rows: skill strings hashed in a thread; EM worker lists)."""
    import json
    import subprocess
    import sys

    from tests.kt.test_fit_whole import REPO

    script = ("import sys, json; from service.cli import main; "
              f"main(['fit', {str(_tiny_log(tmp_path))!r}, '--out', {str(tmp_path / 'm.json')!r},"
              " '--quiet']); print(json.dumps('concurrent.futures' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False


def _tiny_log(tmp_path):
    rows = ["order_id,user_id,skill_name,correct"]
    rows += [f"{i},{i % 97},s{i % 3},{(i * 5) % 3 != 0:d}" for i in range(60_000)]  # threads
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    return path
