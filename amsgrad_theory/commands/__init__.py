"""Subcommands of the ``amsgrad-theory`` CLI (one module each)."""
