"""Indexing and searching: `kb index`, `kb search`, `kb show`, `kb stats`, `kb check`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from kb.cli.main import (
    STARTED,
    Progress,
    argv_text,
    fail,
    handle_errors,
    main,
    settings_from,
    write_file,
)
from kb.cli.words import chinese, say
from kb.config import SEARCH_MODES
from kb.records import FILTER_FIELDS, KINDS


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--corpus-dir", type=click.Path(path_type=Path), envvar="KB_CORPUS_DIR", show_envvar=True,
              help="Corpus root; document ids are paths relative to it (default: corpus/).")
@click.option("--rebuild", is_flag=True, help="Re-chunk every document and rebuild the vectors.")
@click.option("--wait", is_flag=True, help="Wait for another writer instead of failing.")
@click.option("--strict", is_flag=True, help="Stop at the first file that cannot be indexed, writing nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", "list_skipped", is_flag=True, help="List the files skipped as types kb does not read.")
@click.pass_context
@handle_errors
def index(ctx, paths, corpus_dir, rebuild, wait, strict, as_json, quiet, list_skipped):
    """Add, update and remove documents under PATHS (default: the corpus folder)."""
    from kb.index.audit import cli_actor
    from kb.office.indexing import index_files

    settings = settings_from(ctx, corpus_dir=corpus_dir)
    report = index_files(
        settings, list(paths) or None, rebuild=rebuild, progress=Progress(quiet), wait=wait, strict=strict,
        actor=cli_actor(),
    )
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        zh = chinese()
        click.echo(report.summary_in_chinese() if zh else report.summary())
        for label, items in (("failed", report.failed), ("note", report.notes),
                             ("skipped", report.skipped if list_skipped else [])):
            for item in items:
                why = f"{item.path}：{item.chinese()}" if zh else item.reason
                click.echo(f"  {say(label)}: {why}", err=True)
        if report.skipped and not list_skipped:
            click.echo("  " + say("(-v lists the skipped files)"), err=True)
    if report.published:
        _say_published(settings, report.published)
    if report.failed:
        sys.exit(1)


def _milvus_at(settings) -> str:
    return say("Milvus at {uri} ({collection})", uri=settings.milvus_uri, collection=settings.milvus_collection)


def _say_published(settings, published) -> None:
    where = _milvus_at(settings)
    if published.published:
        click.echo(say("published generation {generation} to {where}: {added} chunks added, {removed} retired, "
                       "{chunks} served, in {seconds:.1f} s", generation=published.generation, where=where,
                       added=published.added, removed=published.removed, chunks=published.chunks,
                       seconds=published.seconds), err=True)
    else:
        click.echo(say("{where} already serves generation {generation}", where=where,
                       generation=published.generation), err=True)


@main.command()
@click.argument("query", required=False)
@click.option("--queries", "queries_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Search every question in this file (one per line, or a queries.jsonl) and print one JSON "
                   "line per question, paying the start-up once.")
@click.option("--mode", type=click.Choice(list(SEARCH_MODES)), default=None,
              help="Retriever (default: hybrid).")
@click.option("-k", "--top-k", type=click.IntRange(1, 1000), default=None,
              help="Hits per section (default 10); with --flat, hits in all.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Only passages of this kind; repeat for several.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help=f"{', '.join(FILTER_FIELDS)}; repeat a field to allow several values.")
@click.option("--flat", is_flag=True, help="One fused ranking, not sections by kind (what `kb eval` scores).")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list, in the order shown.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "docx"]), default="text", show_default=True,
              help="docx: a Word report (each passage with its document, unit, headings and page); needs -o.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here.")
@click.option("--include-weak", is_flag=True, help="With --format docx: list the weak matches too (left out otherwise).")
@click.pass_context
@handle_errors
def search(ctx, query, queries_file, mode, top_k, kinds, filters, flat, as_json, fmt, output, include_weak):
    """Find the passages that answer QUERY: practices first, then the laws and policies behind them
    (laws first when QUERY names a law or an article); weak matches are marked."""
    from kb.search import QueryError, Searcher, parse_filters

    if (query is None) == (queries_file is None):
        fail(say("give a QUERY or --queries FILE (not both)"))
    if fmt == "docx" and (output is None or queries_file):
        fail(say("--format docx writes a Word file for one QUERY: give -o FILE.docx"))
    if output and fmt == "text":
        fail(say("-o writes a report: add --format docx (Word) or --format json"))
    query = argv_text(query)
    settings = settings_from(ctx)
    wanted = parse_filters([*(argv_text(f) for f in filters), *(f"kind={kind}" for kind in kinds)])
    searcher = Searcher(settings)
    try:
        searcher.warm(mode)  # loading the model and jieba's dictionary is start-up, not the search
        startup = time.perf_counter() - STARTED
        if queries_file:
            refused = 0
            for number, question in _questions(queries_file):
                try:
                    response = searcher.search(question, mode=mode, k=top_k, filters=wanted, grouped=not flat)
                except QueryError as exc:  # this line is said, the rest of the file still answered
                    refused += 1
                    click.echo(json.dumps({"line": number, "query": question, "error": str(exc)}, ensure_ascii=False))
                    continue
                click.echo(response.model_dump_json(include={"query", "mode", "seconds", "generation", "hits",
                                                             "law_first", "notices"}))
            if refused:
                sys.exit(1)
            return
        response = searcher.search(query, mode=mode, k=top_k, filters=wanted, grouped=not flat)
    finally:
        searcher.close()
    for notice in response.notices:
        click.echo(say("Warning: {notice}", notice=notice), err=True)
    if fmt == "docx":
        from kb.report import search_docx

        write_file(output, search_docx(response, settings.timezone, include_weak))
        listed = len(response.hits) if include_weak else sum(not hit.weak for hit in response.hits)
        left_out = len(response.hits) - listed
        left = say(" ({count} weak matches left out; --include-weak lists them)", count=left_out) if left_out else ""
        click.echo(say("wrote {count} hits to {path}", count=listed, path=output.resolve()) + left, err=True)
        return
    if as_json or fmt == "json":
        text = json.dumps([hit.model_dump() for hit in response.hits], ensure_ascii=False, indent=2)
        if output:
            write_file(output, (text + "\n").encode("utf-8"))
        else:
            click.echo(text)
        return
    if not response.hits:
        click.echo(say("no results for {query}", query=repr(query)))
        return
    sections = [(g.title, g.hits) for g in response.groups] or [("", response.hits)]
    for title, hits in sections:
        if title:
            click.echo(click.style(f"{title} ({len(hits)})", bold=True, underline=True))
        for rank, hit in enumerate(hits, start=1):
            _print_hit(rank, hit)
    if all(hit.weak for hit in response.hits):
        other = "semantic" if response.mode == "keyword" else "keyword"
        click.echo(say("nothing passed the relevance floor: every hit above is a weak match. Try fewer words, "
                       "or --mode {other}.", other=other))
        if response.asks:
            click.echo(say("the question asks for {asks}; no practice or review above states one.", asks=response.asks))
    click.echo(say("{count} hits in {ms:.0f} ms ({mode}); start-up {startup:.1f} s", count=len(response.hits),
                   ms=response.seconds * 1000, mode=say(response.mode), startup=startup))


def _questions(path: Path) -> list[tuple[int, str]]:
    """(line number, question): one question per line, or BEIR's queries.jsonl ({"_id", "text"} per
    line). Read as kb reads documents (UTF-8, UTF-16 with its byte-order mark, GB18030); blank lines skipped."""
    from kb.ingest.text import decode

    lines = [(number, line.strip()) for number, line in enumerate(decode(path.read_bytes(), path).splitlines(), 1)
             if line.strip()]
    if path.suffix != ".jsonl":
        return lines
    questions = []
    for number, line in lines:
        try:
            questions.append((number, json.loads(line)["text"]))
        except (ValueError, KeyError, TypeError) as exc:
            fail(say("{path}, line {number}: not a queries.jsonl line with a \"text\" ({error})", path=path,
                     number=number, error=exc))
    return questions


def _print_hit(rank: int, hit) -> None:
    ranks = ", ".join(
        f"{say(name)} #{found.rank}" for name, found in (("semantic", hit.semantic), ("keyword", hit.keyword)) if found
    )
    where = " › ".join(hit.heading_path) or hit.document
    weak = click.style(" · " + say("weak match"), fg="yellow") if hit.weak else ""
    click.echo(click.style(f"{rank:>2}. {where}", bold=True, dim=hit.weak) + f"  [{hit.unit or hit.document}]")
    page = " · " + say("page {page}", page=hit.page) if hit.page else ""
    click.echo("    " + say("chunk {chunk_id}", chunk_id=hit.chunk_id) + page + " · "
               + say("score {score:.4f}", score=hit.score) + f" · {ranks}{weak}")
    click.echo("    " + _highlight(_snippet(hit.text, hit.matched_terms), hit.matched_terms))


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
@click.argument("chunk_id", type=click.IntRange(0, 2**63 - 1))
@click.option("--context", "around", type=click.IntRange(0, 20), default=1, show_default=True,
              help="Neighbouring chunks to show on each side.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def show(ctx, chunk_id, around, as_json):
    """Show a chunk with its heading path and neighbouring chunks."""
    from kb.search import Searcher

    searcher = Searcher(settings_from(ctx))
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
        click.echo(say("unit: {unit}", unit=chunk["unit"]))
    click.echo(say("chars {start}–{end}", start=chunk["start"], end=chunk["end"]))
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
    """Documents, chunks, model and build of the index (the one searchers read: the index folder, or
    Milvus with search_backend = milvus)."""
    from kb.search import Searcher

    settings = settings_from(ctx)
    searcher = Searcher(settings)
    try:
        searcher.refresh()
        manifest, info, facets = searcher.manifest, searcher.stats(), searcher.facets()
    finally:
        searcher.close()
    where = _milvus_at(settings) if settings.search_backend == "milvus" else str(settings.index_dir.resolve())
    if as_json:
        click.echo(json.dumps(
            {"index_dir": str(settings.index_dir.resolve()), "backend": settings.search_backend, "served_from": where,
             **info, "manifest": manifest.model_dump(), "facets": facets},
            ensure_ascii=False, indent=2,
        ))
        return
    model = manifest.model
    lines = [
        ("index", where), ("documents", info["documents"]), ("chunks", info["chunks"]),
        ("model", say("{name} ({dimension} dims, {precision}, revision {revision})", name=model.name,
                      dimension=model.dimension, precision=model.precision, revision=model.revision)),
        ("generation", say("{generation}, built {built} by kb {version}", generation=manifest.generation,
                           built=manifest.built_at, version=manifest.kb_version)),
        ("vectors", manifest.vector_index),
        ("chunking", say("{size} chars, overlap {overlap}", size=manifest.chunking["chunk_size"],
                         overlap=manifest.chunking["chunk_overlap"])),
        ("database", say("{mb:.1f} MB, {cached} cached embeddings", mb=info["database_bytes"] / 1e6,
                         cached=info["cached_embeddings"])),
    ]
    for field in ("unit_type", "doc_type", "year"):
        if facets.get(field):
            lines.append((field, ", ".join(f"{value} ({count})" for value, count in facets[field].items())))
    for label, value in lines:
        click.echo(f"{say(label):<12} {value}")


@main.command()
@click.option("--repair", is_flag=True, help="Rebuild the keyword index and vector file from SQLite; drop documents "
              "whose stored text is damaged, for `kb index` to read again.")
@click.option("--full", is_flag=True, help="Compare every vector with its stored embedding, not a sample.")
@click.option("--wait", is_flag=True, help="Wait for another writer instead of failing (with --repair).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def check(ctx, repair, full, wait, as_json):
    """Verify the index: SQLite, stored texts, keyword rows, vectors and manifest agree. Exits 1 when not."""
    from kb.index.integrity import check_index, repair_index

    settings = settings_from(ctx)
    report = repair_index(settings, wait, full) if repair else check_index(settings, full)
    if as_json:
        click.echo(json.dumps({**report.model_dump(), "ok": report.ok}, ensure_ascii=False, indent=2))
    else:
        for line in report.repaired:
            click.echo(say("repaired: {line}", line=line))
        for line in report.problems:
            click.echo(say("problem: {line}", line=line))
        click.echo(
            say("ok: generation {generation}, {documents} documents, {chunks} chunks" if report.ok else
                "NOT ok: generation {generation}, {documents} documents, {chunks} chunks",
                generation=report.generation, documents=report.documents, chunks=report.chunks)
            + ("" if report.ok or (repair and report.remedy.endswith("--repair"))
               else say(" (run `{remedy}`)", remedy=report.remedy))
        )
    if not report.ok:
        sys.exit(1)
