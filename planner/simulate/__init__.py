"""Simulated students and receding-horizon evaluation of planners (issue 4 §6).

``run_comparison`` runs every policy on the same cohort with common random numbers and
returns E_p (normalised learning gain on target skills), screen minutes and constraint
violations per policy; ``benchmarks.planner_sim`` prints the table.
"""

from planner.simulate.cohort import Cohort, TrueModel, make_cohort
from planner.simulate.policies import POLICIES, Policy
from planner.simulate.run import PolicyResult, run_comparison, run_policy

__all__ = ["Cohort", "POLICIES", "Policy", "PolicyResult", "TrueModel", "make_cohort",
           "run_comparison", "run_policy"]
