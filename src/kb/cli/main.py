"""The `kb` group and what every command shares: settings, the progress line, and kb's errors
printed as one line with exit code 2 (a bug's traceback otherwise)."""

from __future__ import annotations

import errno
import functools
import logging
import os
import sqlite3
import sys
import time
import traceback
from pathlib import Path

import click
from pydantic import ValidationError

# When the command began, as near to process start as kb's code gets: start-up is reported apart
# from the search itself.
STARTED = time.perf_counter()

from kb.cli.words import localise, say
from kb.config import Settings
from kb.reasons import KbError, is_disk_full, is_io_error
from kb.text import from_terminal

# What the machine refused rather than what kb got wrong: said in one line with the path, as a user
# can fix them (free space, permissions, a read-only disk).
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EMFILE}
REPORT_HINT = ("this is a bug in kb, not something you did: please report it with the command you ran and the "
               "traceback above")


def handle_errors(command):
    """kb's own errors (kb.reasons.KbError) and settings that do not validate become one line and exit 2;
    so do a full disk and a denied permission. Anything else is a bug: its traceback is printed, with
    a hint to report it, and the exit code is 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
            fail(say("invalid setting: {problems}", problems=problems))
        except BrokenPipeError:
            # The reader went away (`kb search … | head`): nothing is left to say to it.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except KeyboardInterrupt:
            fail(say("interrupted; the index keeps its last committed state"))
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise  # click words these itself
        except KbError as exc:
            fail(str(exc) or exc.__class__.__name__)
        except sqlite3.DatabaseError as exc:
            if is_disk_full(exc):
                fail(say("the disk is full ({error}): free space and run it again; what was committed before is kept",
                         error=exc))
            if is_io_error(exc):
                fail(say("the index's disk could not be read or written ({error}): it may be full or failing; free "
                         "space, then run `kb check`", error=exc))
            if type(exc) is not sqlite3.DatabaseError:  # locked, a constraint, bad SQL: not a damaged file
                _report_bug()
            fail(say("the index database is damaged ({error}): `kb check` says what; `kb check --repair` rebuilds "
                     "what is derived from it; if SQLite itself is damaged, `kb restore` a backup or rebuild with "
                     "`kb index --rebuild`", error=exc))
        except OSError as exc:
            if exc.errno not in ENVIRONMENT_ERRNOS:
                _report_bug()
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
        except Exception:  # noqa: BLE001 - not swallowed: printed with its traceback, exit 1
            _report_bug()

    return wrapper


def _report_bug() -> None:
    traceback.print_exc()
    click.echo("\n" + say("Error: {message}", message=say(REPORT_HINT)), err=True)
    sys.exit(1)


def argv_text(value: str | None) -> str | None:
    """A word from the command line as text: a GBK terminal's bytes are read as GB18030."""
    if value is None:
        return None
    try:
        return from_terminal(value)
    except ValueError as exc:
        fail(say("{error}; set the terminal to UTF-8 or GB18030 and type it again", error=exc))


def fail(message: str) -> None:
    click.echo(say("Error: {message}", message=message), err=True)
    sys.exit(2)


def write_file(path: Path, data: bytes) -> None:
    """A report written whole or not at all: a reader never opens half a file."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        fail(say("cannot write {path}: {error}", path=path, error=exc.strerror or exc))


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
        line = f"{say(stage):<16} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        if self.tty:
            click.echo("\r" + line + ("\n" if final else ""), err=True, nl=False)
        else:
            click.echo(line, err=True)


def settings_from(ctx: click.Context, **overrides) -> Settings:
    return Settings.load(
        config_file=ctx.meta.get(_LOCATION + "config"),
        index_dir=ctx.meta.get(_LOCATION + "index_dir"),
        **overrides,
    )


def config_file_of(ctx: click.Context) -> Path | None:
    return ctx.meta.get(_LOCATION + "config")


_LOCATION = "kb.location."


def _remember_location(ctx: click.Context, param: click.Parameter, value):
    """--index-dir and --config may come before the command or after it; ctx.meta is shared by the
    whole chain, so the command's settings see either. A value typed on the command line wins over
    one from the environment, wherever it was typed."""
    key = _LOCATION + param.name
    typed = ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE
    if value is not None and (typed or key not in ctx.meta):
        ctx.meta[key] = value
    return value


def location_params() -> list[click.Option]:
    return [
        click.Option(["--index-dir"], type=click.Path(path_type=Path), envvar="KB_INDEX_DIR", show_envvar=True,
                     expose_value=False, callback=_remember_location, help="Index folder (default: index/)."),
        click.Option(["--config"], type=click.Path(path_type=Path, dir_okay=False), envvar="KB_CONFIG",
                     show_envvar=True, expose_value=False, callback=_remember_location,
                     help="Settings file (default: ./kb.toml when present)."),
    ]


class KbGroup(click.Group):
    """A group whose commands (and sub-groups, and theirs) all take --index-dir and --config, so
    `kb search q --index-dir X` works as README says, as well as `kb --index-dir X search q`."""

    group_class = type

    def main(self, *args, **kwargs):
        localise(self)  # help and click's own words in the user's language, read when the command runs
        return super().main(*args, **kwargs)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.params.extend(location_params())
        super().add_command(cmd, name)


@click.group(cls=KbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what kb does.")
@click.version_option(package_name="kb")
def main(verbose):
    """Search Chinese documents by meaning and by words, offline."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")
    # pypdf logs what it repairs in damaged files; kb reports those files itself, once each.
    logging.getLogger("pypdf").setLevel(logging.INFO if verbose else logging.ERROR)


main.params[:0] = location_params()
