"""``benchmarks._cpu``: the capacity benchmark's CPU accounting counts a server's child
processes (its workers and their fit processes), not only the process it started."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from benchmarks._cpu import CpuWindow, machine_busy_s, process_cpu_s, tree_cpu_s

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads Linux's /proc")

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def test_a_process_trees_cpu_includes_a_grandchild_that_burns():
    """parent (idles) -> child (idles) -> grandchild (burns 3 s of CPU): the tree's CPU grows
    by the grandchild's while it runs; the parent's own CPU would not."""
    code = ("import subprocess, sys\n"
            f"subprocess.run([sys.executable, '-c', {BURN.format(s=3.0)!r}])\n")
    parent = subprocess.Popen([sys.executable, "-c",
                               f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {code!r}])\n"])
    try:
        window = CpuWindow(parent.pid).start()
        start, seen = tree_cpu_s(parent.pid), 0.0
        deadline = time.monotonic() + 60
        while seen < 0.5 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.05)
            seen = tree_cpu_s(parent.pid) - start
        cores = window.stop()
        own = process_cpu_s(parent.pid)
    finally:
        parent.kill()
        parent.wait()
    assert seen >= 0.5, f"only {seen:.2f} CPU-seconds counted below the parent"
    assert own < 0.5  # the parent itself idled: the seconds came from its descendants
    assert cores["server"] > 0 and cores["cores"] == float(os.cpu_count())
    assert machine_busy_s() > 0


def test_a_window_without_a_server_reports_the_client_and_the_machine():
    window = CpuWindow(None).start()
    t = time.process_time()
    while time.process_time() - t < 0.2:
        pass
    cores = window.stop()
    assert cores["server"] != cores["server"]  # NaN: nothing measured
    assert cores["client"] > 0.5 and cores["machine"] >= 0.4
