"""The model and its quality: `kb model info`, `kb eval`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kb.cli.main import Progress, fail, handle_errors, main, settings_from
from kb.cli.words import say
from kb.config import SEARCH_MODES


@main.group()
def model():
    """The embedding model."""


@model.command("info")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def model_info(ctx, as_json):
    """Name, dimension, source and checksum of the configured model (converting it on first use)."""
    from kb.model.embedder import Embedder

    settings = settings_from(ctx)
    embedder = Embedder(settings)
    identity = embedder.identity
    folder = embedder.folder
    if as_json:
        click.echo(json.dumps({**identity.model_dump(), "folder": str(folder), "runtime": embedder.runtime.name},
                              ensure_ascii=False, indent=2))
        return
    for label, value in (
        ("name", identity.name), ("dimension", identity.dimension), ("source", identity.source),
        ("checksum", identity.revision), ("folder", folder),
        ("max length", say("{count} tokens", count=identity.max_seq_length)),
        ("prompts", say("query {query}, passage {passage}", query=repr(identity.query_prompt),
                        passage=repr(identity.passage_prompt))),
        ("precision", identity.precision), ("runtime", embedder.runtime.name),
    ):
        click.echo(f"{say(label):<14} {value}")


@main.command("eval")
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--corpus", type=click.Path(path_type=Path, dir_okay=False), help="corpus.jsonl")
@click.option("--queries", type=click.Path(path_type=Path, dir_okay=False), help="queries.jsonl")
@click.option("--qrels", type=click.Path(path_type=Path), help="A qrels .tsv file or a folder of them.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(list(SEARCH_MODES)),
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
        fail(say("give a BEIR folder or {options}", options=", ".join(missing)))
    settings = settings_from(ctx)
    report = evaluate(settings, corpus, queries, qrels, list(modes) or None, progress=Progress(quiet), limit=limit)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(format_table(report))
