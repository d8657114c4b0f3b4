"""Online convex problems: feasible sets, loss streams, comparators."""

from .sets import FeasibleSet
from .spec import ALIASES, get_problem, parse_number, problem_names, split_spec
from .streams import (
    FAMILIES,
    JsonNumber,
    LaneClaims,
    Problem,
    ProblemLanes,
    builtin_family,
    lane_claims,
    parse_sequence,
)

__all__ = ["FeasibleSet", "get_problem", "parse_number", "problem_names", "split_spec", "ALIASES",
           "FAMILIES", "JsonNumber", "LaneClaims", "builtin_family", "Problem", "ProblemLanes",
           "lane_claims", "parse_sequence"]
