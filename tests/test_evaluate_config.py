"""Metrics against hand-worked values, BEIR readers on real and malformed files, and settings."""

from __future__ import annotations

import math

import pytest
from support import FULL_STARD, STARD

from kb.config import Settings
from kb.evaluate import (
    EvalError,
    mrr_at,
    ndcg_at,
    read_corpus,
    read_qrels,
    read_queries,
    recall_at,
)


def test_metrics_by_hand():
    ranked = ["x", "a", "y", "b"]
    relevant = {"a", "b", "c"}
    assert mrr_at(ranked, relevant, 10) == 0.5
    assert recall_at(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert recall_at(ranked, relevant, 10) == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranked, relevant, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at(["a", "b", "c"], relevant, 10) == pytest.approx(1.0)
    assert mrr_at(["x"] * 10 + ["a"], relevant, 10) == 0.0


@pytest.mark.skipif(not FULL_STARD, reason="the full STARD dev set is in ../shared, not beside this checkout")
def test_stard_files_read():
    queries = read_queries(STARD / "queries.jsonl")
    qrels = read_qrels(STARD / "qrels")
    assert len(queries) == 308 and len(qrels) == 308
    assert sum(map(len, qrels.values())) == 512


@pytest.mark.parametrize(
    "line, message",
    [("not json", "corpus.jsonl: line 2: not JSON"), ('{"title": "x"}', "corpus.jsonl:2: a corpus row needs"), ("[1]", "JSON object")],
)
def test_malformed_corpus_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "1", "text": "正文"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(EvalError, match=message):
        read_corpus(path)


def test_qrels_layouts(tmp_path):
    (tmp_path / "a.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text("q2\t0\td3\t1\nq3\td4\n", encoding="utf-8")
    assert read_qrels(tmp_path) == {"q1": {"d1"}, "q2": {"d3"}, "q3": {"d4"}}
    (tmp_path / "c.tsv").write_text("q4\td5\tyes\n", encoding="utf-8")
    with pytest.raises(EvalError, match="c.tsv:1"):
        read_qrels(tmp_path)


def test_settings_from_file_env_and_overrides(tmp_path, monkeypatch):
    config = tmp_path / "kb.toml"
    config.write_text('top_k = 7\nmode = "keyword"\nchunk_size = 300\n', encoding="utf-8")
    monkeypatch.setenv("KB_TOP_K", "12")
    settings = Settings.load(config_file=config, mode=None, chunk_size=200)
    assert (settings.top_k, settings.mode, settings.chunk_size) == (12, "keyword", 200)


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="chunk_overlap"):
        Settings(chunk_size=100, chunk_overlap=100)
    bad = tmp_path / "kb.toml"
    bad.write_text("top_k = [", encoding="utf-8")
    with pytest.raises(ValueError, match="kb.toml"):
        Settings.load(config_file=bad)
