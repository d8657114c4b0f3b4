"""Variants of the Adam family as data, and their single update rule."""

from .presets import VARIANTS, get_variant, variant_names
from .rules import Coefficients, make_rule
from .variant import HYPERPARAMETERS, Variant, validate_hyperparameters

__all__ = ["VARIANTS", "get_variant", "variant_names", "make_rule", "Coefficients",
           "HYPERPARAMETERS", "Variant", "validate_hyperparameters"]
