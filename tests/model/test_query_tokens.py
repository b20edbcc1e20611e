"""A lone query is tokenized from its own pieces (kb.model.query_tokens) exactly as the whole
250,002-piece tokenizer does it, and a search process never reads the whole vocabulary."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from support import CORPUS, DATA, STARD

from kb.model.query_tokens import PieceTable, QueryTokenizer
from kb.model.runtime import OnnxRuntime

# What tokenizers treats apart: added tokens in the text, runs and kinds of white space, full-width and
# compatibility characters the normalizer rewrites, characters no piece covers, empty and overlong texts.
EDGES = [
    "", " ", "   ", "\t\n", "a<s>b <mask>c</s><pad><unk>", "<s>", "x</s>", "query: 民盟“45721”智库模式",
    "passage: Hello,   world!\u3000这是一个测试。 ㈠①ＡＢＣ ﬁ ", "∰ 𠀀𠀁 \U0001F600 chars", "尾随空格 ",
    " 前导空格", "混合\r\n换行\u00a0不换行空格", "Ⅻ㎏㍿", "x" * 3000, "委员" * 600,
]


def _texts() -> list[str]:
    texts = list(EDGES)
    for path in sorted(CORPUS.rglob("*.md")):
        texts += [part.strip() for part in path.read_text(encoding="utf-8").split("\n\n") if part.strip()]
    for path in (DATA / "seed_queries.tsv", DATA / "paraphrase_queries.tsv", DATA / "out_of_domain.txt",
                 DATA / "unanswerable.txt"):
        texts += ["query: " + line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines()]
    with open(STARD / "queries.jsonl", encoding="utf-8") as handle:
        texts += ["query: " + json.loads(line)["text"] for line in handle]
    return texts


@pytest.fixture(scope="module")
def tokenizer_json(embedder) -> Path:
    return Path(embedder.folder) / "tokenizer.json"


def test_every_text_gets_the_whole_tokenizers_ids(tokenizer_json):
    from tokenizers import Tokenizer

    whole = Tokenizer.from_file(str(tokenizer_json))
    whole.enable_truncation(510)
    whole.no_padding()
    lone = QueryTokenizer(tokenizer_json, 510)
    texts = _texts()
    assert len(texts) > 2000
    differing = [text[:40] for text in texts if lone.encode(text) != whole.encode(text).ids]
    assert differing == []
    assert len(lone.encode("x" * 3000)) == 510


def test_a_search_process_never_reads_the_whole_vocabulary(embedder):
    runtime = OnnxRuntime(Path(embedder.folder), "fp32", 510)
    runtime.warm()
    query, passage = "query: 委员工作室怎么建设", "passage: 南岗区政协建立委员工作站，委员轮流值班。"
    alone = runtime.encode([query], batch_size=1)[0]
    assert "_tokenizer" not in runtime.__dict__
    together = runtime.encode([query, passage], batch_size=2)[0]  # a batch: the whole tokenizer
    assert "_tokenizer" in runtime.__dict__
    np.testing.assert_allclose(alone, together, atol=1e-5)


def test_a_damaged_piece_table_is_made_again(tokenizer_json, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    table = PieceTable(tokenizer_json)
    expected = QueryTokenizer(tokenizer_json, 510).encode("query: 提案办理协商")
    table.path.write_bytes(table.path.read_bytes()[:4096])  # cut short, as by a full disk
    assert QueryTokenizer(tokenizer_json, 510).encode("query: 提案办理协商") == expected
    with sqlite3.connect(table.path) as connection:
        assert connection.execute("SELECT count(*) FROM pieces").fetchone()[0] == 250_002


def test_a_table_damaged_under_a_running_process_leaves_it_the_whole_tokenizer(embedder, tmp_path, monkeypatch,
                                                                               caplog):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    runtime = OnnxRuntime(Path(embedder.folder), "fp32", 510)
    before = runtime.encode(["query: 委员履职"], batch_size=1)[0]
    path = runtime._lone_text_tokenizer.table.path
    path.write_bytes(b"\0" * path.stat().st_size)  # in place: the open connection reads the damage
    after = runtime.encode(["query: 政协委员履职"], batch_size=1)[0]
    assert "queries use the whole tokenizer from now on" in caplog.text
    assert "_tokenizer" in runtime.__dict__
    np.testing.assert_allclose(after, embedder.embed_query("政协委员履职"), atol=1e-5)
    assert before.shape == after.shape


def test_where_no_table_can_be_written_lone_texts_take_the_whole_tokenizer(embedder, tmp_path, monkeypatch,
                                                                          caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    runtime = OnnxRuntime(Path(embedder.folder), "fp32", 510)
    vector = runtime.encode(["query: 政协委员履职"], batch_size=1)[0]
    assert "_tokenizer" in runtime.__dict__
    assert re.search("queries use the whole tokenizer", caplog.text)
    np.testing.assert_allclose(vector, embedder.embed_query("政协委员履职"), atol=1e-5)
