"""The `kb` command: a thin shell over the library. User errors print one line and exit 2."""

from __future__ import annotations

import functools
import json
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
    from kb.embedding import ModelLoadError
    from kb.evaluate import EvalError
    from kb.indexer import IndexBusyError, IndexMismatchError
    from kb.ingest import IngestError
    from kb.packed_model import PackedModelError
    from kb.search import QueryError
    from kb.store import StoreError

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
            _fail(f"invalid setting: {problems}")
        except KeyboardInterrupt:
            _fail("interrupted; the index keeps its last committed state")
        except Exception as exc:
            if isinstance(exc, _user_errors()):
                _fail(str(exc) or exc.__class__.__name__)
            raise

    return wrapper


def _fail(message: str) -> None:
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


def _settings(ctx: click.Context, **overrides) -> Settings:
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


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--corpus-dir", type=click.Path(path_type=Path), envvar="KB_CORPUS_DIR", show_envvar=True,
              help="Corpus root; document ids are paths relative to it (default: corpus/).")
@click.option("--rebuild", is_flag=True, help="Re-chunk every document and rebuild the vectors.")
@click.option("--wait", is_flag=True, help="Wait for another writer instead of failing.")
@click.option("--strict", is_flag=True, help="Stop at the first file that cannot be indexed, writing nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
@handle_errors
def index(ctx, paths, corpus_dir, rebuild, wait, strict, as_json, quiet):
    """Add, update and remove documents under PATHS (default: the corpus folder)."""
    from kb.audit import cli_actor
    from kb.indexer import index_paths

    settings = _settings(ctx, corpus_dir=corpus_dir)
    report = index_paths(
        settings, list(paths) or None, rebuild=rebuild, progress=Progress(quiet), wait=wait, strict=strict,
        actor=cli_actor(),
    )
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(report.summary())
        for failure in report.failed:
            click.echo(f"  failed: {failure.reason}", err=True)
    if report.failed:
        sys.exit(1)


@main.command()
@click.argument("query")
@click.option("--mode", type=click.Choice(["hybrid", "semantic", "keyword"]), default=None,
              help="Retriever (default: hybrid).")
@click.option("-k", "--top-k", type=click.IntRange(1, 1000), default=None, help="Number of hits (default 10).")
@click.option("-f", "--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help="unit, unit_type, year, doc_type or doc; repeat a field to allow several values.")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
@click.pass_context
@handle_errors
def search(ctx, query, mode, top_k, filters, as_json):
    """Find the passages that answer QUERY."""
    from kb.search import Searcher, parse_filters

    settings = _settings(ctx)
    wanted = parse_filters(list(filters))
    searcher = Searcher(settings)
    try:
        response = searcher.search(query, mode=mode, k=top_k, filters=wanted)
    finally:
        searcher.close()
    if as_json:
        click.echo(json.dumps([hit.model_dump() for hit in response.hits], ensure_ascii=False, indent=2))
        return
    if not response.hits:
        click.echo(f"no results for {query!r}")
        return
    for rank, hit in enumerate(response.hits, start=1):
        ranks = ", ".join(
            f"{name} #{found.rank}" for name, found in (("semantic", hit.semantic), ("keyword", hit.keyword)) if found
        )
        where = " › ".join(hit.heading_path) or hit.document
        click.echo(click.style(f"{rank:>2}. {where}", bold=True) + f"  [{hit.unit or hit.document}]")
        page = f" · page {hit.page}" if hit.page else ""
        click.echo(f"    chunk {hit.chunk_id}{page} · score {hit.score:.4f} · {ranks}")
        click.echo("    " + _highlight(_snippet(hit.text, hit.matched_terms), hit.matched_terms))
    click.echo(f"{len(response.hits)} hits in {response.seconds * 1000:.0f} ms ({response.mode})")


def _snippet(text: str, terms: list[str], width: int = 160) -> str:
    flat = " ".join(text.split())
    positions = [flat.find(t) for t in terms if t and t in flat]
    start = max(0, min(positions) - 30) if positions else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def _highlight(text: str, terms: list[str]) -> str:
    from kb.search import term_spans

    pieces, last = [], 0
    for start, end in term_spans(text, terms):
        pieces += [text[last:start], click.style(text[start:end], fg="red", bold=True)]
        last = end
    return "".join(pieces) + text[last:]


@main.command()
@click.argument("chunk_id", type=int)
@click.option("--context", "around", type=click.IntRange(0, 20), default=1, show_default=True,
              help="Neighbouring chunks to show on each side.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def show(ctx, chunk_id, around, as_json):
    """Show a chunk with its heading path and neighbouring chunks."""
    from kb.search import Searcher

    searcher = Searcher(_settings(ctx))
    try:
        chunk = searcher.chunk(chunk_id)
        rows = searcher.neighbours(chunk_id, around, around)
    finally:
        searcher.close()
    if as_json:
        click.echo(json.dumps({"chunk": chunk, "context": rows}, ensure_ascii=False, indent=2))
        return
    click.echo(click.style(chunk["title"], bold=True) + f"  ({chunk['doc_id']})")
    if chunk["heading_path"]:
        click.echo(" › ".join(chunk["heading_path"]))
    if chunk["unit"]:
        click.echo(f"unit: {chunk['unit']}")
    click.echo(f"chars {chunk['start']}–{chunk['end']}")
    for row in rows:
        marker = ">>" if row["chunk_id"] == chunk_id else "  "
        click.echo(f"\n{marker} [{row['chunk_id']}]")
        text = row["text"] if row["chunk_id"] == chunk_id else click.style(row["text"], dim=True)
        click.echo(text)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def stats(ctx, as_json):
    """Documents, chunks, model and build of the index."""
    from kb.store import Store

    settings = _settings(ctx)
    store = Store(settings.index_dir, create=False)
    try:
        manifest = store.manifest()
        info = store.stats()
        facets = store.facet_counts()
    finally:
        store.close()
    if manifest is None:
        _fail(f"the index at {settings.index_dir} is empty: run `kb index` first")
    if as_json:
        click.echo(json.dumps(
            {"index_dir": str(settings.index_dir), **info, "manifest": manifest.model_dump(), "facets": facets},
            ensure_ascii=False, indent=2,
        ))
        return
    model = manifest.model
    click.echo(f"index        {settings.index_dir}")
    click.echo(f"documents    {info['documents']}")
    click.echo(f"chunks       {info['chunks']}")
    click.echo(f"model        {model.name} ({model.dimension} dims, {model.precision}, revision {model.revision})")
    click.echo(f"generation   {manifest.generation}, built {manifest.built_at} by kb {manifest.kb_version}")
    click.echo(f"vectors      {manifest.vector_index}")
    click.echo(f"chunking     {manifest.chunking['chunk_size']} chars, overlap {manifest.chunking['chunk_overlap']}")
    click.echo(f"database     {info['database_bytes'] / 1e6:.1f} MB, {info['cached_embeddings']} cached embeddings")
    for field in ("unit_type", "doc_type", "year"):
        if facets.get(field):
            values = ", ".join(f"{value} ({count})" for value, count in facets[field].items())
            click.echo(f"{field:<12} {values}")


def _catalogue(ctx: click.Context):
    from kb.practices import build_catalogue
    from kb.store import Store

    settings = _settings(ctx)
    store = Store(settings.index_dir, create=False)
    try:
        if store.manifest() is None:
            _fail(f"the index at {settings.index_dir} is empty: run `kb index` first")
        return build_catalogue(store)
    finally:
        store.close()


@main.group(invoke_without_command=True)
@click.option("--unit", help="Only this unit's practices.")
@click.option("--theme", help="Only the practices of this theme (`kb practices themes` lists them).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "md", "json"]), default="table",
              show_default=True, help="csv opens in Excel (UTF-8 with BOM); md suits Word; json for programs.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@click.pass_context
@handle_errors
def practices(ctx, unit, theme, fmt, output):
    """The catalogue of practices: unit, year, title, lead, key figures, keywords, theme."""
    if ctx.invoked_subcommand is not None:
        return
    from kb.practices import export, matching

    catalogue = _catalogue(ctx)
    if theme and theme not in {t.name for t in catalogue.themes}:
        _fail(f"unknown theme {theme!r}; `kb practices themes` lists them")
    chosen = matching(catalogue.practices, unit, theme)
    if unit and not chosen:
        _fail(f"no practice of unit {unit!r}; `kb practices` lists the units")
    if fmt == "table":
        lines = [f"{number:>3}. {p.unit} · {p.year or '—'} · {p.title}\n     主题 {p.theme} · 关键词 {'、'.join(p.keywords[:5])}"
                 for number, p in enumerate(catalogue.practices, start=1) if p in chosen]
        text = "".join(line + "\n" for line in lines) + f"{len(chosen)} practices; `kb practices show N` opens one\n"
    else:
        subset = catalogue.model_copy(update={"practices": chosen})
        text = export(subset, fmt)
    if output:
        # utf-8 here, and the BOM inside the csv text, so Excel reads it as UTF-8.
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(chosen)} practices to {output}", err=True)
    else:
        click.echo(text, nl=False)


@practices.command("show")
@click.argument("which")
@click.option("--similar", "count", type=click.IntRange(0, 50), default=5, show_default=True,
              help="How many similar practices of other units to list.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def practices_show(ctx, which, count, as_json):
    """One practice (its number in `kb practices`, its id, or its unit): figures, similar practices, cards."""
    catalogue = _catalogue(ctx)
    practice = _pick_practice(catalogue, which)
    similar = catalogue.similar(practice.practice_id, count)
    cards = [card for card in catalogue.cards if card.practice_id == practice.practice_id]
    if as_json:
        click.echo(json.dumps({"practice": practice.model_dump(exclude={"chunks"}),
                               "similar": [s.model_dump() for s in similar],
                               "cards": [c.model_dump() for c in cards]}, ensure_ascii=False, indent=2))
        return
    from kb.practices import card_markdown

    click.echo(click.style(f"{practice.unit}：{practice.title}", bold=True))
    click.echo(f"{practice.document_title} · {practice.year or '—'} · {practice.unit_type or '—'} · 主题 {practice.theme}")
    click.echo(f"\n{practice.lead}")
    if practice.figures:
        click.echo("\n关键数字")
        for figure in practice.figures:
            click.echo(f"  - {figure.text}")
    click.echo(f"\n关键词 {'、'.join(practice.keywords)}")
    if similar:
        click.echo("\n谁还做过类似的")
        for other in similar:
            shared = f"（共同关键词：{'、'.join(other.shared_keywords)}）" if other.shared_keywords else ""
            click.echo(f"  - {other.unit}：{other.title} · 相似度 {other.similarity:.2f}{shared}")
    for card in cards:
        click.echo("\n" + card_markdown(card))


def _pick_practice(catalogue, which: str):
    if which.isdigit() and 1 <= int(which) <= len(catalogue.practices):
        return catalogue.practices[int(which) - 1]
    found = [p for p in catalogue.practices if which in (p.practice_id, p.unit)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        _fail(f"{which!r} has {len(found)} practices; give its number from `kb practices`")
    _fail(f"no practice {which!r}; `kb practices` lists them with their numbers")


@practices.command("themes")
@click.pass_context
@handle_errors
def practices_themes(ctx):
    """Groups of related practices, each named by its keywords."""
    catalogue = _catalogue(ctx)
    for theme in catalogue.themes:
        units = "、".join(catalogue.practice(pid).unit for pid in theme.practice_ids)
        click.echo(f"{theme.name}  ({len(theme.practice_ids)})  {units}")


@practices.command("cards")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def practices_cards(ctx, as_json):
    """Approach cards: numbered models (such as 45721) with each number's items, from the source only."""
    from kb.practices import card_markdown

    catalogue = _catalogue(ctx)
    if as_json:
        click.echo(json.dumps([c.model_dump() for c in catalogue.cards], ensure_ascii=False, indent=2))
        return
    click.echo("\n\n".join(card_markdown(card) for card in catalogue.cards) or "no approach cards in the corpus")


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
    from kb import audit
    from kb.admin import hash_password, save_password_hash

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New admin password", hide_input=True, confirmation_prompt=True)
    config_file = ctx.find_root().params.get("config") or Path("kb.toml")
    save_password_hash(config_file, hash_password(password))
    settings = _settings(ctx)
    audit.record(settings.index_dir, [audit.entry(audit.cli_actor(), "set-password", str(config_file), "done")])
    click.echo(f"admin password set in {config_file}; restart `kb serve` for the page to ask for it")


@main.command("log")
@click.option("-n", "--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def log_command(ctx, limit, as_json):
    """Every change to the knowledge base, newest first: who, when, what file, content hash, result."""
    from kb.audit import entries

    rows = entries(_settings(ctx).index_dir, limit)
    if as_json:
        click.echo(json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=2))
        return
    for row in rows:
        digest = f" sha256:{row.content_hash[:12]}" if row.content_hash else ""
        detail = f" ({row.detail})" if row.detail else ""
        click.echo(f"{row.at}  {row.actor}  {row.action} {row.target}{digest} -> {row.result}{detail}")
    if not rows:
        click.echo("no changes recorded yet")


@main.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
@click.option("--corpus-dir", type=click.Path(path_type=Path), envvar="KB_CORPUS_DIR", show_envvar=True,
              help="Corpus folder to back up with the index (default: corpus/).")
@click.pass_context
@handle_errors
def backup_command(ctx, dest, corpus_dir):
    """Copy the index and the corpus into DEST (a new folder); safe while the page serves."""
    from kb.audit import cli_actor
    from kb.backup import backup

    info = backup(_settings(ctx, corpus_dir=corpus_dir), dest, actor=cli_actor())
    click.echo(f"backed up generation {info.index.generation}: {info.documents} documents, {info.chunks} chunks, "
               f"{info.corpus_files} corpus files -> {dest}")


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
    from kb.audit import cli_actor
    from kb.backup import restore

    report = restore(_settings(ctx, corpus_dir=corpus_dir), src, rebuild=rebuild, actor=cli_actor())
    how = "re-indexed" if report.rebuilt else "restored"
    click.echo(f"{how}: {report.documents} documents, now generation {report.generation}")
    if report.corpus_moved_to:
        click.echo(f"the corpus that was there is kept at {report.corpus_moved_to}")


@main.group()
def model():
    """The embedding model."""


@model.command("info")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def model_info(ctx, as_json):
    """Name, dimension, source and checksum of the configured model (converting it on first use)."""
    from kb.embedding import Embedder

    settings = _settings(ctx)
    embedder = Embedder(settings)
    identity = embedder.identity
    folder = embedder.folder
    if as_json:
        click.echo(json.dumps({**identity.model_dump(), "folder": str(folder)}, ensure_ascii=False, indent=2))
        return
    click.echo(f"name           {identity.name}")
    click.echo(f"dimension      {identity.dimension}")
    click.echo(f"source         {identity.source}")
    click.echo(f"checksum       {identity.revision}")
    click.echo(f"folder         {folder}")
    click.echo(f"max length     {identity.max_seq_length} tokens")
    click.echo(f"prompts        query {identity.query_prompt!r}, passage {identity.passage_prompt!r}")
    click.echo(f"precision      {identity.precision}")


@main.command("eval")
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--corpus", type=click.Path(path_type=Path, dir_okay=False), help="corpus.jsonl")
@click.option("--queries", type=click.Path(path_type=Path, dir_okay=False), help="queries.jsonl")
@click.option("--qrels", type=click.Path(path_type=Path), help="A qrels .tsv file or a folder of them.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["hybrid", "semantic", "keyword"]),
              help="Modes to score (default: all three).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Score only the first N queries.")
@click.option("--json", "as_json", is_flag=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
@handle_errors
def eval_command(ctx, folder, corpus, queries, qrels, modes, limit, as_json, quiet):
    """nDCG@10, MRR@10, Recall@10 and Recall@100 on BEIR-layout files.

    Give FOLDER holding corpus.jsonl, queries.jsonl and qrels/, or each file with its option.
    The corpus is indexed once into <index-dir>/eval/, cached by its content."""
    from kb.evaluate import evaluate, format_table

    if folder:
        corpus = corpus or folder / "corpus.jsonl"
        queries = queries or folder / "queries.jsonl"
        qrels = qrels or folder / "qrels"
    missing = [name for name, value in (("--corpus", corpus), ("--queries", queries), ("--qrels", qrels)) if not value]
    if missing:
        _fail(f"give a BEIR folder or {', '.join(missing)}")
    settings = _settings(ctx)
    report = evaluate(settings, corpus, queries, qrels, list(modes) or None, progress=Progress(quiet), limit=limit)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(format_table(report))


@main.command()
@click.option("--repair", is_flag=True, help="Rebuild the keyword index and vector file from SQLite.")
@click.option("--wait", is_flag=True, help="Wait for another writer instead of failing (with --repair).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def check(ctx, repair, wait, as_json):
    """Verify the index: SQLite, keyword rows, vectors and manifest agree. Exits 1 when not."""
    from kb.integrity import check_index, repair_index

    settings = _settings(ctx)
    report = repair_index(settings, wait) if repair else check_index(settings)
    if as_json:
        click.echo(json.dumps({**report.model_dump(), "ok": report.ok}, ensure_ascii=False, indent=2))
    else:
        for line in report.repaired:
            click.echo(f"repaired: {line}")
        for line in report.problems:
            click.echo(f"problem: {line}")
        state = "ok" if report.ok else "NOT ok"
        click.echo(
            f"{state}: generation {report.generation}, {report.documents} documents, {report.chunks} chunks"
            + ("" if report.ok or repair else " (run `kb check --repair`)")
        )
    if not report.ok:
        sys.exit(1)


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

    import kb.page

    settings = _settings(ctx, corpus_dir=corpus_dir)
    env = {**os.environ, "KB_INDEX_DIR": str(settings.index_dir.resolve()),
           "KB_CORPUS_DIR": str(settings.corpus_dir.resolve())}
    root_config = ctx.find_root().params.get("config")
    if root_config:
        env["KB_CONFIG"] = str(Path(root_config).resolve())
    command = [
        sys.executable, "-m", "streamlit", "run", kb.page.__file__,
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--server.maxUploadSize", str(settings.max_file_mb), "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false", "--client.toolbarMode", "viewer",
        # A served page never reloads its own source; polling every module file costs CPU per session.
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        # Streamlit collects garbage after every run; with torch loaded a full collection holds the GIL
        # for ~250 ms, which every search of every user then waits for (bench/load.py).
        "--runner.postScriptGC", "false",
    ]
    from kb.admin import Access, access

    click.echo(f"kb page on http://{host}:{port}/ (index {settings.index_dir}); Ctrl+C stops it", err=True)
    if access(settings.admin_password_hash, host) is Access.CLOSED:
        click.echo("no admin password is set: on this address the page only searches; "
                   "`kb admin set-password` opens uploads and removals to whoever knows it", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Become the server rather than its parent: a service manager's (or a test's) SIGTERM then
    # stops Streamlit itself instead of leaving it running as an orphan.
    os.execve(sys.executable, command, env)
