"""Where a benchmark step's CPU went, read from Linux's ``/proc`` (no extra package).

:class:`CpuWindow` brackets a measuring window and reports, in cores (CPU-seconds per second
of wall time): the server's process tree (the ``pathwise serve`` parent, its workers and their
fit processes), this process (the load generator), and the whole machine's busy time, next to
the machine's core count. A step whose machine is busy on every core is CPU-bound: a faster
server path, not more workers, is what would raise its rate.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:  # gone, or not Linux
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state (the 3rd) on


def _cpu_of(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14, 15


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` alone (0.0 when it is gone)."""
    fields = _stat_fields(pid)
    return 0.0 if fields is None else _cpu_of(fields)


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of process ``root`` and all its live descendants."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        fields = _stat_fields(int(name)) if name.isdigit() else None
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(name))  # ppid: field 4
            cpu[int(name)] = _cpu_of(fields)
    total, frontier = 0.0, [root]
    while frontier:
        p = frontier.pop()
        total += cpu.get(p, 0.0)
        frontier.extend(children.get(p, ()))
    return total


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (every core; idle and iowait excluded)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICK  # user..steal; guest time is inside user already


@dataclass
class CpuWindow:
    """``start()`` then ``stop()`` -> {"server", "client", "machine"} in cores over the window,
    and "cores", this machine's count. ``server_pid`` None: the server is not measured."""

    server_pid: int | None = None

    def start(self) -> CpuWindow:
        self._t = time.perf_counter()
        self._server = tree_cpu_s(self.server_pid) if self.server_pid else 0.0
        self._client = time.process_time()
        self._machine = machine_busy_s()
        return self

    def stop(self) -> dict[str, float]:
        wall = max(time.perf_counter() - self._t, 1e-9)
        server = (tree_cpu_s(self.server_pid) - self._server) / wall if self.server_pid else float("nan")
        return {"server": server, "client": (time.process_time() - self._client) / wall,
                "machine": (machine_busy_s() - self._machine) / wall, "cores": float(os.cpu_count() or 1)}
