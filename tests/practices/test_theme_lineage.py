"""Themes that stay put: a one-document change leaves the themes it does not touch as they were, a
regrouping keeps names while the practices mostly stay, and an old name still finds its theme."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import kb

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.index.store import Store
from kb.practices import build_catalogue
from kb.practices.lineage import (
    REGISTER_KEY,
    ThemeRecord,
    ThemeRegister,
    load_register,
    settle,
)
from kb.practices.themes import member_key

DEVSET = Path(__file__).resolve().parents[1] / "data" / "practices" / "docs"


def test_a_group_keeps_the_id_and_name_of_the_theme_whose_practices_it_mostly_holds():
    previous = ThemeRegister(generation=3, issued=2, themes=[
        ThemeRecord(theme_id="T1", name="委员工作站建设", members=["a", "b", "c"]),
        ThemeRecord(theme_id="T2", name="民主监督", members=["d", "e"]),
    ])
    settled, register = settle([["a", "b", "new"], ["c", "d", "e"]], previous, 4, lambda index, taken: f"新{index}")
    assert [(s.theme_id, s.name) for s in settled] == [("T1", "委员工作站建设"), ("T2", "民主监督")]
    # One group of both: it holds most of T2 (c, d, e of its five), which keeps its id and name; T1 is
    # dissolved, and its name leads to where its practices went.
    settled, register = settle([["a", "b", "c", "d", "e"]], register, 5, lambda index, taken: "x")
    assert (settled[0].theme_id, settled[0].name, settled[0].former_names) == ("T2", "民主监督", ["委员工作站建设"])
    assert register.former == {"委员工作站建设": "T2"} and register.issued == 2
    # A group of practices no theme had gets the next id and a name of its own.
    settled, register = settle([["a", "b", "c", "d", "e"], ["f"]], register, 6, lambda index, taken: "新主题")
    assert (settled[1].theme_id, settled[1].name) == ("T3", "新主题")


@pytest.fixture(scope="module")
def office(tmp_path_factory, fixture_corpus, embedder):
    """The seed review, indexed; then one county's new document added."""
    root = tmp_path_factory.mktemp("lineage")
    corpus = root / "corpus"
    shutil.copytree(fixture_corpus, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    index_paths(settings, embedder=embedder)
    return settings


def _catalogue(settings: Settings, regroup: bool = False):
    store = Store(settings.index_dir, create=False)
    try:
        return build_catalogue(store, regroup)
    finally:
        store.close()


def test_adding_a_document_leaves_the_themes_it_does_not_join_as_they_were(office, embedder):
    before = _catalogue(office)
    shutil.copy(DEVSET / "律师委员进社区.md", office.corpus_dir / "律师委员进社区.md")
    index_paths(office, embedder=embedder)
    after = _catalogue(office)
    arrived = {p.practice_id for p in after.practices if p.doc_id == "律师委员进社区.md"}
    assert arrived
    now = {theme.theme_id: theme for theme in after.themes}
    for theme in before.themes:
        assert now[theme.theme_id].name == theme.name
        assert set(now[theme.theme_id].practice_ids) - arrived == set(theme.practice_ids)
    # The lawyers' community service joins the seed's lawyer practice (社法委's 公益法律服务).
    lawyers = after.find_theme(after.practice(next(iter(arrived))).theme)
    assert any("律师" in after.practice(pid).title for pid in lawyers.practice_ids if pid not in arrived)


def test_a_regrouped_theme_keeps_finding_its_practices_under_every_name_it_had(office):
    before = _catalogue(office)
    # An earlier generation had a theme of two practices that now sit in two themes.
    first, second = before.themes[0], before.themes[1]
    store = Store(office.index_dir, create=False)
    register = load_register(store)
    keys = {p.practice_id: member_key(p) for p in before.practices}
    register.themes.append(ThemeRecord(theme_id="T99", name="旧的主题",
                                       members=[keys[first.practice_ids[0]], keys[second.practice_ids[0]]]))
    store.put_meta(REGISTER_KEY, register.model_dump_json())
    store.close()
    after = _catalogue(office, regroup=True)
    for theme in before.themes:
        found = after.find_theme(theme.name)
        assert found is not None and set(found.practice_ids) & set(theme.practice_ids)
    heir = after.find_theme("旧的主题")
    assert heir is not None and "旧的主题" in heir.former_names and heir.name != "旧的主题"
    # kb practices --theme takes the old name, says what it is now, and lists that theme's practices.
    result = kb("practices", "--index-dir", str(office.index_dir), "--theme", "旧的主题")
    assert result.returncode == 0 and f"is now '{heir.name}'" in result.stderr
    assert all(after.practice(pid).title in result.stdout for pid in heir.practice_ids)


def test_an_unknown_theme_is_one_line_naming_the_themes(seed_index):
    result = kb("practices", "--index-dir", str(seed_index.index_dir), "--theme", "没有这个主题", check=False)
    assert result.returncode == 2 and "unknown theme '没有这个主题'" in result.stderr
