"""Exception hierarchy of the planner package family.

An infeasible set of constraints is *not* an exception: the planner returns its
best plan plus the conflicting constraints. Errors here are for malformed input.
"""


class PlannerError(Exception):
    """Base class of every error raised by ``planner``."""


class PlanInputError(PlannerError, ValueError):
    """Planner input that is malformed (unknown activity id, negative budget...)."""


class NothingToPlan(PlannerError):
    """No activity at all can be planned (empty catalog after hard filters)."""
