"""The `kb` group and what every command shares: settings, the progress line, and user errors
printed as one line with exit code 2."""

from __future__ import annotations

import functools
import logging
import sys
import time
from pathlib import Path

import click
from pydantic import ValidationError

from kb.config import Settings


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors that are the user's to fix (bad input, missing index, busy index), imported late
    so `kb --help` stays fast."""
    from kb.evaluate import EvalError
    from kb.index.indexer import IndexBusyError, IndexMismatchError
    from kb.index.store import StoreError
    from kb.ingest import IngestError
    from kb.model.embedder import ModelLoadError
    from kb.model.packed import PackedModelError
    from kb.search import QueryError

    return (
        ModelLoadError, EvalError, IndexBusyError, IndexMismatchError, IngestError,
        PackedModelError, QueryError, StoreError, ValueError, OSError,
    )


def handle_errors(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
            fail(f"invalid setting: {problems}")
        except KeyboardInterrupt:
            fail("interrupted; the index keeps its last committed state")
        except Exception as exc:
            if isinstance(exc, _user_errors()):
                fail(str(exc) or exc.__class__.__name__)
            raise

    return wrapper


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


class Progress:
    """One updating line on a terminal; a line every few seconds in logs and CI."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        final = done >= total
        if stage == self.stage and not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last, self.stage = now, stage
        width = 30
        filled = int(width * done / total) if total else width
        line = f"{stage:<16} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        if self.tty:
            click.echo("\r" + line + ("\n" if final else ""), err=True, nl=False)
        else:
            click.echo(line, err=True)


def settings_from(ctx: click.Context, **overrides) -> Settings:
    root = ctx.find_root().params
    return Settings.load(
        config_file=root.get("config"),
        index_dir=root.get("index_dir"),
        **overrides,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--index-dir", type=click.Path(path_type=Path), envvar="KB_INDEX_DIR", show_envvar=True,
    help="Index folder (default: index/).",
)
@click.option(
    "--config", type=click.Path(path_type=Path, dir_okay=False), default=None, envvar="KB_CONFIG",
    help="Settings file (default: ./kb.toml when present).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what kb does.")
@click.version_option(package_name="kb")
def main(index_dir, config, verbose):
    """Search Chinese documents by meaning and by words, offline."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")
    # pypdf logs what it repairs in damaged files; kb reports those files itself, once each.
    logging.getLogger("pypdf").setLevel(logging.INFO if verbose else logging.ERROR)
