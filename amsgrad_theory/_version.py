"""The package version (one place; ``amsgrad_theory.__version__`` and every record read it)."""

__version__ = "0.1.0"
