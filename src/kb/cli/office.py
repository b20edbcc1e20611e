"""Running kb for an office: `kb admin set-password`, `kb log`, `kb backup`, `kb restore`, `kb serve`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.cli.main import config_file_of, handle_errors, main, settings_from
from kb.cli.words import say


@main.group()
def admin():
    """Managing kb for an office: the admin password of the page."""


@admin.command("set-password")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
@click.pass_context
@handle_errors
def admin_set_password(ctx, password_stdin):
    """Set the password the page asks before uploads, removals and re-indexing.

    Only a salted scrypt hash is written, as admin_password_hash in kb.toml (or the --config file).
    """
    from kb.index import audit
    from kb.office.admin import hash_password, save_password_hash

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(say("New admin password"), hide_input=True,
                                confirmation_prompt=say("Repeat for confirmation"))
    config_file = config_file_of(ctx) or Path("kb.toml")
    save_password_hash(config_file, hash_password(password))
    settings = settings_from(ctx)
    audit.record(settings.index_dir, [audit.entry(audit.cli_actor(), "set-password", str(config_file), "done")])
    click.echo(say("admin password set in {path}; restart `kb serve` for the page to ask for it", path=config_file))


@main.command("log")
@click.option("-n", "--limit", type=click.IntRange(1, 1_000_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def log_command(ctx, limit, as_json):
    """Every change to the knowledge base, newest first: who, when, what file, content hash, result."""
    from kb.index.audit import entries

    rows = entries(settings_from(ctx).index_dir, limit)
    if as_json:
        click.echo(json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=2))
        return
    for row in rows:
        digest = f" sha256:{row.content_hash[:12]}" if row.content_hash else ""
        detail = f" ({row.detail})" if row.detail else ""
        click.echo(f"{row.at}  {row.actor}  {row.action} {row.target}{digest} -> {row.result}{detail}")
    if not rows:
        click.echo(say("no changes recorded yet"))


@main.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.option("--corpus-dir", type=click.Path(path_type=Path), envvar="KB_CORPUS_DIR", show_envvar=True,
              help="Corpus folder to back up with the index (default: corpus/).")
@click.pass_context
@handle_errors
def backup_command(ctx, dest, corpus_dir):
    """Copy the index and the corpus into DEST (a new folder); safe while the page serves."""
    from kb.index.audit import cli_actor
    from kb.office.backup import backup

    info = backup(settings_from(ctx, corpus_dir=corpus_dir), dest, actor=cli_actor())
    click.echo(say("backed up generation {generation}: {documents} documents, {chunks} chunks, {files} corpus files "
                   "-> {dest}", generation=info.index.generation, documents=info.documents, chunks=info.chunks,
                   files=info.corpus_files, dest=dest))


@main.command("restore")
@click.argument("src", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--corpus-dir", type=click.Path(path_type=Path), envvar="KB_CORPUS_DIR", show_envvar=True,
              help="Corpus folder to restore into (default: corpus/); the old one is moved aside.")
@click.option("--rebuild", is_flag=True, help="Restore a backup made with another model, chunking or format "
              "by re-indexing its corpus.")
@click.pass_context
@handle_errors
def restore_command(ctx, src, corpus_dir, rebuild):
    """Bring back the index and corpus of a backup made by `kb backup`."""
    from kb.index.audit import cli_actor
    from kb.office.backup import restore

    report = restore(settings_from(ctx, corpus_dir=corpus_dir), src, rebuild=rebuild, actor=cli_actor())
    how = say("re-indexed") if report.rebuilt else say("restored")
    click.echo(say("{how}: {documents} documents, now generation {generation}", how=how, documents=report.documents,
                   generation=report.generation))
    if report.corpus_moved_to:
        click.echo(say("the corpus that was there is kept at {path}", path=report.corpus_moved_to))


@main.command()
@click.option("--corpus-dir", type=click.Path(path_type=Path), envvar="KB_CORPUS_DIR", show_envvar=True,
              help="Corpus root the page indexes and uploads into (default: corpus/).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.pass_context
@handle_errors
def serve(ctx, corpus_dir, host, port):
    """Open the search page (Streamlit) on this index; builds the index first if there is none."""
    import os

    from kb.model.bundled import default_cache_dir
    from kb.office.admin import Access, access
    from kb.page.serve import serve as serve_page

    settings = settings_from(ctx, corpus_dir=corpus_dir)
    os.environ.update({"KB_INDEX_DIR": str(settings.index_dir.resolve()),
                       "KB_CORPUS_DIR": str(settings.corpus_dir.resolve())})
    root_config = config_file_of(ctx)
    if root_config:
        os.environ["KB_CONFIG"] = str(Path(root_config).resolve())
    click.echo(say("kb page on http://{host}:{port}/ (index {index}); Ctrl+C stops it", host=host, port=port,
                   index=settings.index_dir.resolve()), err=True)
    if access(settings.admin_password_hash, host) is Access.CLOSED:
        click.echo(say("no admin password is set: on this address the page only searches; `kb admin set-password` "
                       "opens uploads and removals to whoever knows it"), err=True)
    serve_page(settings, host, port, default_cache_dir().parent)
