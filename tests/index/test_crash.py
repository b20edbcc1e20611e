"""kill -9 during `kb index`, a reader searching while a writer commits, and a large no-op
re-index: the index is always whole, and ends equal to a clean build."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support import SEED, kb

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.index.integrity import check_index
from kb.index.store import Store


def _write_corpus(folder: Path, variant: int = 0) -> None:
    """One file per paragraph of the seed: real text, many small documents."""
    body = SEED.read_text(encoding="utf-8").split("---", 2)[2]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if len(p.strip()) > 40]
    folder.mkdir(parents=True, exist_ok=True)
    for number, paragraph in enumerate(paragraphs[:60]):
        text = paragraph if (number + variant) % 7 else paragraph + "\n\n（修订）" + paragraph[:30]
        (folder / f"p{number:03d}.md").write_text(f"# 段落{number}\n\n{text}\n", encoding="utf-8")


def _snapshot(index_dir: Path) -> tuple[list, dict]:
    store = Store(index_dir, create=False)
    try:
        manifest = store.manifest()
        rows = store.db.execute(
            "SELECT doc_id, ordinal, text, heading_path, embed_hash FROM chunks ORDER BY doc_id, ordinal"
        ).fetchall()
        ids, vectors = store.chunk_vectors(manifest.model.key(), manifest.model.dimension)
        by_id = dict(store.db.execute("SELECT chunk_id, doc_id || '#' || ordinal FROM chunks"))
        return rows, {by_id[int(i)]: v for i, v in zip(ids, vectors)}
    finally:
        store.close()


def _kb_index(corpus: Path, index_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_INDEX_DIR": str(index_dir), "KB_CORPUS_DIR": str(corpus)}
    return subprocess.Popen([sys.executable, "-m", "kb", "index", "-q"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("clean")
    _write_corpus(folder / "corpus", variant=1)
    settings = Settings(corpus_dir=folder / "corpus", index_dir=folder / "index")
    index_paths(settings, embedder=embedder)
    return _snapshot(settings.index_dir)


def _kill_and_recover(tmp_path: Path, clean_build, runs: int, seed: int) -> None:
    rng = random.Random(seed)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    _write_corpus(corpus, variant=0)
    for run in range(runs):
        # Alternate the corpus so runs after the first have real changes to commit.
        _write_corpus(corpus, variant=run % 2)
        process = _kb_index(corpus, index_dir)
        time.sleep(rng.uniform(0.5, 9.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if (index_dir / "kb.sqlite3").exists():
            report = check_index(Settings(index_dir=index_dir))
            assert report.ok or report.problems == ["no manifest: the index was never committed"], (
                run, report.problems)
    _write_corpus(corpus, variant=1)
    finished = _kb_index(corpus, index_dir)
    _, err = finished.communicate(timeout=600)
    assert finished.returncode == 0, err
    assert check_index(Settings(index_dir=index_dir)).ok
    rows, vectors = _snapshot(index_dir)
    clean_rows, clean_vectors = clean_build
    assert rows == clean_rows
    assert vectors.keys() == clean_vectors.keys()
    for key, vector in vectors.items():
        np.testing.assert_allclose(vector, clean_vectors[key], atol=1e-5)


def test_kill_during_index_three_times(tmp_path, clean_build):
    _kill_and_recover(tmp_path, clean_build, runs=3, seed=3)


@pytest.mark.slow
def test_kill_during_index_twenty_times(tmp_path, clean_build):
    _kill_and_recover(tmp_path, clean_build, runs=20, seed=20)


READER = """
import json, sys, time
from pathlib import Path
from kb.config import Settings
from kb.search import Searcher
searcher = Searcher(Settings(index_dir=Path(sys.argv[1])))
stop = Path(sys.argv[2])
errors, searches, generations, ready = [], 0, set(), False
# Until the writer is done, then one more round, which sees its last generation.
while True:
    stopping = stop.exists()
    for mode in ("keyword", "semantic", "hybrid"):
        try:
            response = searcher.search("委员工作站", mode=mode, k=5)
            assert response.hits, "no hits"
            generations.add(response.generation)
        except Exception as exc:
            errors.append(repr(exc))
        searches += 1
    if not ready:
        print("ready", flush=True)
        ready = True
    if stopping:
        break
print(json.dumps({"errors": errors, "searches": searches, "generations": sorted(generations)}))
"""


def test_reader_sees_no_errors_while_the_writer_commits(tmp_path, embedder):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    _write_corpus(corpus, variant=0)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    index_paths(settings, embedder=embedder)
    stop = tmp_path / "stop"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(index_dir), str(stop)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # It has loaded the model and searched once in every mode.
        assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
        for variant in (1, 0, 1, 0):
            _write_corpus(corpus, variant=variant)
            index_paths(settings, embedder=embedder)
    finally:
        stop.touch()
    out, err = reader.communicate(timeout=300)
    assert reader.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["searches"] >= 6
    # It really followed the writer: the first generation and the last.
    assert result["generations"][0] == 1 and result["generations"][-1] == 5, result["generations"]


def _no_op(tmp_path: Path, embedder, documents: int) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(documents):
        (corpus / f"d{number:04d}.txt").write_text(f"第{number}号委员在工作站接待群众。\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = index_paths(settings, embedder=embedder)
    assert first.added == documents
    again = index_paths(settings, embedder=embedder)
    assert (again.unchanged, again.chunks_embedded, again.generation) == (documents, 0, first.generation)


def test_no_op_reindex_of_two_hundred_documents(tmp_path, embedder):
    _no_op(tmp_path, embedder, 200)


@pytest.mark.slow
def test_no_op_reindex_of_a_thousand_documents(tmp_path, embedder):
    _no_op(tmp_path, embedder, 1000)


def test_a_model_change_is_refused(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("委员工作站。\n", encoding="utf-8")
    index_paths(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=embedder)
    result = kb("index", index_dir=tmp_path / "index", check=False,
                env_extra={"KB_CORPUS_DIR": str(corpus), "KB_PRECISION": "int8"})
    assert result.returncode == 2
    assert "model multilingual-e5-small" in result.stderr and "--rebuild" in result.stderr
