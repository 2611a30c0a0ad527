"""OneRoster 1.2 rostering: read and validate a CSV set (:func:`read_set`) or a REST
service (:mod:`engine.roster.rest`), merge it into the stored mirror of OneRoster records and
derive the school it describes (:mod:`engine.roster.plan`). The use case that applies it is
``SchoolApp.import_oneroster`` (:mod:`engine.app._roster`)."""

from engine.roster.csvread import RosterSet, read_set
from engine.roster.errors import Issue, RosterFormatError, RosterSourceError
from engine.roster.plan import Target, derive, merge

__all__ = ["Issue", "RosterFormatError", "RosterSet", "RosterSourceError", "Target", "derive",
           "merge", "read_set"]
