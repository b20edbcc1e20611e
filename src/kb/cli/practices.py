"""The learning layer: `kb practices` and its `show`, `themes` and `cards`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kb.cli.main import argv_text, fail, handle_errors, main, settings_from, write_file
from kb.cli.words import say


def _catalogue(ctx: click.Context):
    """The catalogue of the index the settings name, read from either backend (the index folder, or
    what Milvus serves)."""
    from kb.search import Searcher

    searcher = Searcher(settings_from(ctx))
    try:
        searcher.refresh()
        return searcher.catalogue()
    finally:
        searcher.close()


@main.group(invoke_without_command=True)
@click.option("--unit", help="Only this unit's practices.")
@click.option("--theme", help="Only the practices of this theme (`kb practices themes` lists them).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "md", "json", "docx", "xlsx"]), default="table",
              show_default=True, help="docx: a Word report; xlsx: an Excel workbook (both need -o); csv opens in "
                                      "Excel too (UTF-8 with BOM); json for programs.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@click.pass_context
@handle_errors
def practices(ctx, unit, theme, fmt, output):
    """The catalogue of practices: unit, year, title, lead, key figures, keywords, theme."""
    if ctx.invoked_subcommand is not None:
        return
    from kb.practices import export, matching

    unit, theme = argv_text(unit), argv_text(theme)
    catalogue = _catalogue(ctx)
    found = catalogue.find_theme(theme) if theme else None
    if theme and found is None:
        fail(say("unknown theme {theme}; the themes are: {names}", theme=repr(theme),
                 names="、".join(t.name for t in catalogue.themes)))
    if found and found.name != theme:
        click.echo(say("theme {old} is now {new}", old=repr(theme), new=repr(found.name)), err=True)
    if unit:
        unit = _unit_named(catalogue, unit)
    chosen = matching(catalogue.practices, unit, found)
    if unit and not chosen:
        fail(say("no practice of unit {unit}; `kb practices` lists the units", unit=repr(unit)))
    if fmt in ("docx", "xlsx"):
        if output is None:
            fail(say("--format {format} writes a file: give -o FILE.{format}", format=fmt))
        from kb.report import catalogue_xlsx, practices_docx

        subset = catalogue.model_copy(update={"practices": chosen})
        data = (practices_docx(catalogue, chosen, settings_from(ctx).timezone, "创新实践") if fmt == "docx"
                else catalogue_xlsx(subset))
        write_file(output, data)
        click.echo(say("wrote {count} practices to {path}", count=len(chosen), path=output.resolve()), err=True)
        return
    if fmt == "table":
        lines = [f"{number:>3}. {p.unit} · {p.year or '—'} · {p.title}\n     主题 {p.theme} · 关键词 {'、'.join(p.keywords[:5])}"
                 for number, p in enumerate(catalogue.practices, start=1) if p in chosen]
        text = ("".join(line + "\n" for line in lines)
                + say("{count} practices; `kb practices show N` opens one", count=len(chosen)) + "\n")
    else:
        subset = catalogue.model_copy(update={"practices": chosen})
        text = export(subset, fmt)
    if output:
        # utf-8 here, and the BOM inside the csv text, so Excel reads it as UTF-8.
        output.write_text(text, encoding="utf-8")
        click.echo(say("wrote {count} practices to {path}", count=len(chosen), path=output), err=True)
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
    """One practice (its number in `kb practices`, its id, its unit by any unique part or short form such as
    社法委, or a name in its title such as 徐福志委员工作站): figures, similar practices, cards."""
    catalogue = _catalogue(ctx)
    practice = _pick_practice(catalogue, argv_text(which))
    similar = catalogue.similar(practice.practice_id, count)
    cards = [card for card in catalogue.cards if card.practice_id == practice.practice_id]
    if as_json:
        click.echo(json.dumps({"practice": practice.model_dump(exclude={"chunks"}),
                               "similar": [s.model_dump() for s in similar],
                               "cards": [c.model_dump() for c in cards]}, ensure_ascii=False, indent=2))
        return
    from kb.practices import card_text

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
            shared = f"（都讲到：{'、'.join(other.shared_keywords)}）" if other.shared_keywords else ""
            click.echo(f"  - {other.unit}：{other.title} · 相似度 {other.similarity:.2f}{shared}")
    for card in cards:
        click.echo("\n" + card_text(card))


def _unit_named(catalogue, name: str) -> str:
    """The unit a short name stands for (民盟 → 民盟哈尔滨市委), or a failure naming the candidates."""
    from kb.search import close_matches, resolve_unit

    units = [p.unit for p in catalogue.practices]
    unit = resolve_unit(name, units)
    if unit is None:
        hint = close_matches(name, units)
        fail(say("no practice of unit {unit}; did you mean {hint}?", unit=repr(name), hint=", ".join(hint)) if hint
             else say("no practice of unit {unit}; `kb practices` lists the units", unit=repr(name)))
    return unit


def _pick_practice(catalogue, which: str):
    if which.isdigit() and 1 <= int(which) <= len(catalogue.practices):
        return catalogue.practices[int(which) - 1]
    titled = [p for p in catalogue.practices if len(which) >= 4 and which in p.title]
    if len(titled) == 1:  # a name the practice itself bears: 徐福志委员工作站
        return titled[0]
    if not any(which == p.practice_id for p in catalogue.practices):
        which = _unit_named(catalogue, which)
    found = [p for p in catalogue.practices if which in (p.practice_id, p.unit)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        fail(say("{which} has {count} practices; give its number from `kb practices`", which=repr(which),
                 count=len(found)))
    fail(say("no practice {which}; `kb practices` lists them with their numbers", which=repr(which)))


@practices.command("themes")
@click.option("--regroup", is_flag=True, help="Group every practice afresh (themes otherwise keep their practices "
                                               "and names across re-indexing); old names keep finding their themes.")
@click.pass_context
@handle_errors
def practices_themes(ctx, regroup):
    """Groups of practices that do the same kind of work, each named by that work (委员工作站建设, 民主监督)."""
    if regroup:
        from kb.index.store import Store
        from kb.practices import build_catalogue

        store = Store(settings_from(ctx).index_dir, create=False)
        try:
            catalogue = build_catalogue(store, regroup=True)
        finally:
            store.close()
    else:
        catalogue = _catalogue(ctx)
    for theme in catalogue.themes:
        units = "、".join(catalogue.practice(pid).unit for pid in theme.practice_ids)
        former = say("  (formerly {names})", names="、".join(theme.former_names)) if theme.former_names else ""
        click.echo(f"{theme.theme_id} {theme.name}  ({len(theme.practice_ids)})  {units}{former}")


@practices.command("cards")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def practices_cards(ctx, as_json):
    """Approach cards: numbered models (such as 45721) with each number's items, from the source only."""
    from kb.practices import card_text

    catalogue = _catalogue(ctx)
    if as_json:
        click.echo(json.dumps([c.model_dump() for c in catalogue.cards], ensure_ascii=False, indent=2))
        return
    click.echo("\n\n".join(card_text(card) for card in catalogue.cards) or say("no approach cards in the corpus"))
