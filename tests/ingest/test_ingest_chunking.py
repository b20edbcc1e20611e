"""Loading files in office encodings and splitting them into sections and chunks."""

from __future__ import annotations

from itertools import pairwise

import pytest
from support import CORPUS, SEED

from kb.ingest import IngestError, discover, load
from kb.ingest.chunking import chunk_document, context_line
from kb.ingest.structure import sections_from_text

SEED_UNITS = {
    "五常市政协", "巴彦县政协", "宾县政协", "通河县政协", "延寿县政协", "尚志市政协", "双城区政协",
    "松北区政协", "道里区政协", "阿城区政协", "香坊区政协", "南岗区政协", "道外区政协",
    "市政协提案委员会", "市政协农业和农村委员会", "市政协城乡建设资源环境委员会", "市政协教科卫体委员会",
    "市政协社会和法制委员会", "市政协文化文史和学习委员会", "民盟哈尔滨市委",
}


@pytest.fixture(scope="module")
def seed():
    return load(SEED, SEED.name)


def test_seed_front_matter(seed):
    meta = seed.metadata
    assert meta.title == "2022年哈尔滨市政协系统创新工作综述" or "创新工作" in meta.title
    assert (meta.year, meta.doc_type, meta.unit) == (2022, "综述", "哈尔滨市政协")


def test_seed_has_twenty_practices_each_with_its_unit(seed):
    assert len(seed.practices) == 20
    assert {p.unit for p in seed.practices} == SEED_UNITS
    assert {p.layout for p in seed.practices} == {"unit_heading"}
    # Each span is its section's text: it starts after the heading line and holds no other unit's heading.
    for before, after in pairwise(seed.practices):
        assert before.end < after.start and "**" not in seed.text[before.start:before.end]


def test_chunks_keep_exact_offsets_and_heading_paths(seed):
    chunks = chunk_document(seed, 360, 60)
    for chunk in chunks:
        assert seed.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= 360
    practice_chunks = [c for c in chunks if c.unit in SEED_UNITS]
    assert {c.unit for c in practice_chunks} == SEED_UNITS
    # A chunk never crosses from one practice into the next.
    for chunk in practice_chunks:
        assert chunk.heading_path[-1].startswith(chunk.unit) or chunk.unit in chunk.heading_path[-1]


def test_small_chunks_overlap_by_whole_sentences(seed):
    chunks = [c for c in chunk_document(seed, 120, 40) if c.unit == "五常市政协"]
    assert len(chunks) > 2
    for before, after in pairwise(chunks):
        # Overlap, or at most the blank line between paragraphs: no sentence is ever skipped.
        assert after.start <= before.end or not seed.text[before.end : after.start].strip()
        assert seed.text[after.start - 1] in "。！？；\n"


def test_long_sentence_is_cut_at_commas():
    text = "第一条 " + "，".join(f"第{i}项内容说明较长的条款文字" for i in range(40)) + "。"
    doc = _document(text)
    chunks = chunk_document(doc, 100, 20)
    assert len(chunks) > 3
    assert all(len(c.text) <= 100 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)


def test_law_articles_become_sections_under_their_chapter():
    law = load(CORPUS / "laws" / "人民调解法(2010-08-28).md", "laws/人民调解法.md")
    paths = [s.heading_path for s in law.sections]
    assert any(p[-1] == "第十七条" and p[-2] == "第四章 调解程序" for p in paths)
    article = next(s for s in law.sections if s.heading_path[-1] == "第十七条")
    assert law.text[article.start :].startswith("第十七条")
    assert law.metadata.doc_type == "法律法规"
    assert law.metadata.year == 2010


def test_headings_of_every_kind():
    text = "# 总标题\n\n**五常市政协 加强协商**\n\n正文一。\n\n一、总体要求\n\n正文二。\n\n（一）工作目标\n\n正文三。\n"
    paths = [s.heading_path for s in sections_from_text(text)]
    assert ["总标题", "五常市政协 加强协商"] in paths
    assert ["总标题", "五常市政协 加强协商", "一、总体要求", "（一）工作目标"] in paths


def test_a_numbered_sentence_is_not_a_heading():
    text = "# 标题\n\n一、坚持党的领导，把握正确方向，不断提高协商质量，推动各项工作落地见效。\n"
    assert [s.heading_path for s in sections_from_text(text)] == [["标题"]]


def test_context_line_drops_repeats():
    assert context_line("综述", ["综述", "五常市政协 品牌"]) == "综述 五常市政协 品牌"


def test_gbk_file_is_decoded(tmp_path):
    path = tmp_path / "通知.txt"
    path.write_bytes("关于加强委员工作站建设的通知\n\n各区县政协：请认真落实。".encode("gbk"))
    doc = load(path, "通知.txt")
    assert "委员工作站" in doc.text


def test_utf16_with_bom_is_decoded(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("委员读书分享。".encode("utf-16"))
    assert load(path, "u16.txt").text == "委员读书分享。"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x01\x02binary", "binary"),
        (b"   \n\n", "no text"),
        ("---\n: [unclosed\n---\n正文。".encode(), "front matter"),
        (b"\xff\xfe\x00\xd8", "utf-16"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.md"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=f"bad.md.*{message}"):
        load(path, "bad.md")


def test_discover_skips_readme_and_hidden_files(tmp_path):
    (tmp_path / "README.md").write_text("说明", encoding="utf-8")
    (tmp_path / ".draft.md").write_text("草稿", encoding="utf-8")
    (tmp_path / "a.md").write_text("正文。", encoding="utf-8")
    (tmp_path / "b.pptx").write_bytes(b"PK")
    found = discover([tmp_path], tmp_path)
    files, scopes = found.files, found.scopes
    assert [f.doc_id for f in files] == ["a.md"]
    assert scopes == [""]


def _document(text: str):
    from kb.records import Document, DocumentMetadata

    return Document(
        doc_id="t", source="t", text=text, metadata=DocumentMetadata(),
        sections=sections_from_text(text), content_hash="x",
    )


def test_each_practice_gets_its_unit_type(seed):
    """By the name's shape; the cities a city system's review names are its county-level cities."""
    types = {p.unit: p.unit_type for p in seed.practices}
    assert sorted(u for u, t in types.items() if t == "县市政协") == sorted(
        ["五常市政协", "巴彦县政协", "宾县政协", "通河县政协", "延寿县政协", "尚志市政协"])
    assert sorted(u for u, t in types.items() if t == "区政协") == sorted(
        ["双城区政协", "松北区政协", "道里区政协", "阿城区政协", "香坊区政协", "南岗区政协", "道外区政协"])
    assert sum(t == "市政协专门委员会" for t in types.values()) == 6
    assert [u for u, t in types.items() if t == "民主党派"] == ["民盟哈尔滨市委"]
