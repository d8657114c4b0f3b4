"""Variants of the Adam family as data, and their single update rule."""

from .presets import VARIANTS, get_variant, variant_names
from .rules import SCALAR_COEFFICIENTS, Coefficients, make_rule
from .variant import (
    GROUP_HYPERPARAMETERS,
    HYPERPARAMETERS,
    INSTANCE_HYPERPARAMETERS,
    Variant,
    validate_hyperparameters,
)

__all__ = ["VARIANTS", "get_variant", "variant_names", "make_rule", "Coefficients",
           "SCALAR_COEFFICIENTS", "HYPERPARAMETERS", "GROUP_HYPERPARAMETERS",
           "INSTANCE_HYPERPARAMETERS", "Variant", "validate_hyperparameters"]
