"""Per-learner playlists: candidates, greedy incumbent, MILP (HiGHS via scipy), order, reasons."""

from planner.playlist.plan import greedy_playlist, plan_playlist

__all__ = ["greedy_playlist", "plan_playlist"]
