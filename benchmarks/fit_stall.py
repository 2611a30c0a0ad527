"""What a learned-model fit costs the requests of its server process (issue 12/15).

The learned planner models (``engine.planning._learned``) are refitted in the background
while requests keep planning. This measures playlists generated one after another on the
demo school (in process, through ``SchoolApp.generate_playlist``) while one fit of the whole
history runs beside them, the fit in a thread of this process (as before the thirteenth
session) or in the fit process (``engine.planning._fitpool``), and with no fit at all;
the three alternate for ``--rounds`` rounds and the medians are printed.

    python -m benchmarks.fit_stall --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time

MODES = ("no fit", "fit in a thread", "fit in a process")


def playlists_during(school, admin, learners: list[str], mode: str, min_s: float) -> dict:
    """Latencies (ms) of playlists generated back to back while ``mode``'s fit runs (at least
    ``min_s`` seconds, and until the fit is done)."""
    from engine.planning import _learned

    inp, store = school._planning_input(), school.store
    fit = None
    if mode != "no fit":
        fit = threading.Thread(target=_learned._fit, args=(store, inp, {}, 0.95, store.history_marker(), True,
                                                           mode == "fit in a process"))
    lat, i, t0 = [], 0, time.perf_counter()
    if fit is not None:
        fit.start()
    while time.perf_counter() - t0 < min_s or (fit is not None and fit.is_alive()):
        t = time.perf_counter()
        school.generate_playlist(admin, learners[i % len(learners)])
        lat.append((time.perf_counter() - t) * 1e3)
        i += 1
    if fit is not None:
        fit.join()
    lat.sort()
    return {"n": len(lat), "p50": lat[len(lat) // 2], "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            "max": lat[-1], "s": time.perf_counter() - t0}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fit_stall", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--seconds", type=float, default=4.0,
                    help="shortest measuring window per mode and round (default 4; a fit's window lasts "
                         "until it is done)")
    args = ap.parse_args(argv)
    from engine.access import Caller, Principal
    from engine.app import Pathwise
    from engine.app.demo import ensure_demo
    from engine.planning import _fitpool, _learned

    pw = Pathwise.open(f"sqlite:///{tempfile.mkdtemp()}/pw.db")
    ensure_demo(pw, "demo")
    school = pw.school("demo")
    admin = Caller(Principal("demo", "admin", "k-admin"))
    learners = sorted(school.view.learners)
    school._learned()  # the school's own first fit, out of the way
    school._learned_cache.wait(120)
    school._learned_cache.refit_s = 1e9
    _fitpool.run(_learned.fit_forgetting, [])  # the fit process started, as in a running server
    for _ in MODES:  # warm-up: kernels, statements
        playlists_during(school, admin, learners, "no fit", 0.5)
    res: dict[str, list[dict]] = {m: [] for m in MODES}
    for r in range(args.rounds):
        for mode in MODES:
            out = playlists_during(school, admin, learners, mode, args.seconds)
            res[mode].append(out)
            print(f"round {r + 1}  {mode:<17} {out['n']:4d} playlists in {out['s']:5.1f} s  p50 {out['p50']:6.1f} ms"
                  f"  p99 {out['p99']:6.1f} ms  max {out['max']:6.1f} ms", flush=True)
    print("\nmedians over rounds (ms)")
    for mode in MODES:
        med = {k: statistics.median(o[k] for o in res[mode]) for k in ("p50", "p99", "max")}
        print(f"  {mode:<17} p50 {med['p50']:6.1f}  p99 {med['p99']:6.1f}  max {med['max']:6.1f}")
    pw.close()
    _fitpool.shutdown()


if __name__ == "__main__":
    main()
