"""The `kb` command line: a thin shell over the library, one module per command group."""

from kb.cli import index_search, model_eval, office, practices, service  # noqa: F401  (each registers its commands)
from kb.cli.main import main

__all__ = ["main"]
