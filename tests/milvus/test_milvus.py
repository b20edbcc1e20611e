"""The Milvus backend on Milvus Lite, no mocks: the same answers as the local backend, readers that
never see half a generation, a publish killed with -9 and finished by the next `kb index`, and two
`kb serve` processes on one Milvus Lite server answering alike."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import KB, free_port, kb, kb_serve, seed_queries

pytest.importorskip("milvus_lite")

from kb.config import Settings
from kb.index.store import Store
from kb.milvus import connect, publish
from kb.search import Searcher


def _start_lite(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """A Milvus Lite server process, as several kb processes share one. Its server takes a port, not
    port 0: a port another process took meanwhile ends it, and the next free one is tried."""
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
                                    "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return process, f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.2)
        process.kill()
    pytest.fail("Milvus Lite did not start:\n" + process.stdout.read())


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def lite_server(tmp_path):
    process, uri = _start_lite(tmp_path / "milvus")
    yield uri
    _stop(process)


def _milvus(settings: Settings, uri: str) -> Settings:
    return settings.model_copy(update={"search_backend": "milvus", "milvus_uri": uri})


@pytest.fixture(scope="module")
def published(seed_index, tmp_path_factory, embedder):
    """The seed and two laws published to a Milvus Lite folder, and a searcher of each backend."""
    remote = _milvus(seed_index, str(tmp_path_factory.mktemp("lite") / "kb"))
    report = publish(remote)
    assert report.published and report.chunks == Store(seed_index.index_dir, create=False).chunk_count()
    local, milvus = Searcher(seed_index, embedder), Searcher(remote, embedder)
    yield local, milvus
    local.close()
    milvus.close()


def test_seed_questions_give_the_local_answers(published):
    local, milvus = published
    dense_same, keyword_overlap, hybrid_same, first_same = 0, [], 0, 0
    queries = seed_queries()
    for query, _ in queries:
        ids = {}
        for mode in ("semantic", "keyword", "hybrid"):
            ids[mode] = [[h.chunk_id for h in s.search(query, mode=mode, k=5).hits] for s in (local, milvus)]
        dense_same += ids["semantic"][0] == ids["semantic"][1]
        keyword_overlap.append(len(set(ids["keyword"][0]) & set(ids["keyword"][1])) / max(1, len(ids["keyword"][0])))
        hybrid_same += ids["hybrid"][0] == ids["hybrid"][1]
        grouped = [s.search(query, grouped=True, k=3).hits[0] for s in (local, milvus)]
        first_same += grouped[0].chunk_id == grouped[1].chunk_id and grouped[0].weak == grouped[1].weak
    overlap = sum(keyword_overlap) / len(keyword_overlap)
    print(f"\n{len(queries)} seed questions: dense top-5 identical {dense_same}, BM25 top-5 overlap {overlap:.3f}, "
          f"hybrid top-5 identical {hybrid_same}, first practice identical {first_same}")
    assert dense_same == len(queries)
    assert overlap >= 0.9
    assert hybrid_same >= 0.9 * len(queries)
    assert first_same == len(queries)


def test_filters_context_catalogue_and_similar_passages_match(published):
    local, milvus = published
    filters = {"unit_type": ["区政协"], "kind": ["实践案例"]}
    for backend in (local, milvus):
        hits = backend.search("委员工作站", filters=filters, k=5).hits
        assert hits and all(h.unit_type == "区政协" and h.kind == "实践案例" for h in hits)
    assert ([h.chunk_id for h in local.search("委员工作站", filters=filters, mode="semantic", k=5).hits]
            == [h.chunk_id for h in milvus.search("委员工作站", filters=filters, mode="semantic", k=5).hits])
    hit = local.search("五常大米品牌", k=1).hits[0]
    assert milvus.neighbours(hit.chunk_id, 1, 1) == local.neighbours(hit.chunk_id, 1, 1)
    assert milvus.section_text(hit.chunk_id) == local.section_text(hit.chunk_id)
    assert ([h.chunk_id for h in milvus.more_like_this(hit.chunk_id, 5).hits]
            == [h.chunk_id for h in local.more_like_this(hit.chunk_id, 5).hits])
    assert milvus.facets() == local.facets() and milvus.law_titles() == local.law_titles()
    assert milvus.catalogue().themes == local.catalogue().themes
    theme = local.catalogue().themes[0].name
    assert ({h.chunk_id for h in milvus.search("协商", filters={"theme": [theme]}, k=10).hits}
            == {h.chunk_id for h in local.search("协商", filters={"theme": [theme]}, k=10).hits})


def _copy_index(settings: Settings, tmp_path: Path) -> Settings:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(settings.corpus_dir, corpus)
    shutil.copytree(settings.index_dir, index_dir)
    return settings.model_copy(update={"corpus_dir": corpus, "index_dir": index_dir})


NEW_PRACTICE = "# 冰城社区议事会\n\n香坊区政协在社区设立冰城议事会，居民与委员每月协商停车难题。\n"


def test_a_reader_never_sees_half_a_generation(seed_index, tmp_path, lite_server, embedder):
    from kb.office.indexing import index_files

    writer = _milvus(_copy_index(seed_index, tmp_path), lite_server)
    publish(writer)
    reader = Searcher(writer.model_copy(update={"index_dir": tmp_path / "nothing-here"}), embedder)
    answers, errors, stop = [], [], threading.Event()

    def search_in_a_loop():
        while not stop.is_set():
            try:
                response = reader.search("社区停车难怎么协商", k=5)
                answers.append((response.generation, [h.doc_id for h in response.hits],
                                all(h.text for h in response.hits)))
            except Exception as exc:  # noqa: BLE001 - counted: the test says how many and which
                errors.append(repr(exc))

    thread = threading.Thread(target=search_in_a_loop)
    thread.start()
    try:
        (writer.corpus_dir / "冰城社区议事会.md").write_text(NEW_PRACTICE, encoding="utf-8")
        report = index_files(writer, embedder=embedder)
        assert report.published.published and report.published.generation == 2
        # Readers move on within ALIAS_CHECK_SECONDS; a minute is the deadline, not a wait.
        deadline = time.monotonic() + 60
        while not any(generation == 2 for generation, *_ in answers[-5:]) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    generations = {generation for generation, *_ in answers}
    assert generations == {1, 2}, generations
    for generation, documents, whole in answers:
        assert whole
        assert ("冰城社区议事会.md" in documents) == (generation == 2), (generation, documents)
    print(f"\n{len(answers)} searches during the publish, 0 errors")


def test_a_publish_writes_only_what_changed(seed_index, tmp_path, embedder):
    """Generation 2 adds one document and removes another: Milvus gets those chunks and term counts
    only, a reader still on generation 1 keeps every row it had, and generation 3 forgets what
    generation 2 retired. An earlier kb's layout (a chunk collection per generation) is published afresh."""
    from kb.office.indexing import index_files

    writer = _milvus(_copy_index(seed_index, tmp_path), str(tmp_path / "lite" / "kb"))
    client = connect(writer)
    client.create_collection("kb_g7", dimension=4)  # what an earlier kb left: its alias names a chunk collection
    client.create_alias(collection_name="kb_g7", alias="kb")
    client.close()
    first = publish(writer)
    store = Store(writer.index_dir, create=False)
    total = store.chunk_count()
    assert (first.added, first.removed, first.chunks) == (total, 0, total)
    assert first.dropped == []  # kept for an earlier kb's readers until the next publish
    old_reader = Searcher(writer.model_copy(update={"index_dir": tmp_path / "none"}), embedder)
    gone = next(p for p in writer.corpus_dir.rglob("*.md") if p.name.startswith("人民调解法"))
    gone_ids = {row[0] for row in store.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?",
                                                    (gone.relative_to(writer.corpus_dir).as_posix(),))}
    store.close()
    assert gone_ids
    gone.unlink()
    (writer.corpus_dir / "冰城社区议事会.md").write_text(NEW_PRACTICE, encoding="utf-8")
    with old_reader.backend.snapshot():  # a search that began before the switch: generation 1, whole
        second = index_files(writer, embedder=embedder).published
        assert old_reader.backend.generation == 1
        assert set(old_reader.backend.rows(sorted(gone_ids))) == gone_ids
    store = Store(writer.index_dir, create=False)
    new_ids = {row[0] for row in store.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = '冰城社区议事会.md'")}
    assert (second.added, second.removed, second.chunks) == (len(new_ids), len(gone_ids), store.chunk_count())
    assert second.dropped == ["kb_g7"]

    client = connect(writer)
    chunks = {row["chunk_id"]: (row["born"], row["died"]) for row in
              client.query("kb_chunks", filter="chunk_id >= 0", output_fields=["chunk_id", "born", "died"],
                           limit=16384)}
    assert {i for i, (born, _) in chunks.items() if born == 2} == new_ids
    assert {i for i, (_, died) in chunks.items() if died == 2} == gone_ids
    new_reader = Searcher(writer.model_copy(update={"index_dir": tmp_path / "none"}), embedder)
    assert new_reader.generation == 2 and not new_reader.backend.rows(sorted(gone_ids))
    vocabulary = store.vocabulary()
    sample = ["人民调解", "议事会", "委员", "停车"]
    assert new_reader.backend.document_frequencies(sample) == {t: vocabulary.get(t, 0) for t in sample}
    assert new_reader.search("社区停车难怎么协商", k=3).hits[0].doc_id == "冰城社区议事会.md"

    (writer.corpus_dir / "冰城社区议事会.md").unlink()
    third = index_files(writer, embedder=embedder).published
    assert (third.added, third.removed) == (0, len(new_ids))
    left = {row["chunk_id"] for row in client.query("kb_chunks", filter="chunk_id >= 0", output_fields=["chunk_id"],
                                                    limit=16384)}
    assert not left & gone_ids and new_ids <= left  # retired at 2: forgotten; retired at 3: kept for 2's readers
    assert sorted(c for c in client.list_collections() if c.startswith("kb_g")) == ["kb_g2_meta", "kb_g3_meta"]
    store.close()
    client.close()
    old_reader.close()
    new_reader.close()


def test_each_kb_index_process_publishes_to_a_milvus_lite_folder(seed_index, tmp_path):
    """A new process opens a Milvus Lite folder with every collection released: the publisher loads
    what it reads (the chunks, the terms, the served generation's meta) before its first query."""
    settings = _copy_index(seed_index, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(settings.index_dir), KB_CORPUS_DIR=str(settings.corpus_dir),
               KB_SEARCH_BACKEND="milvus", KB_MILVUS_URI=str(tmp_path / "lite" / "kb"))
    first = subprocess.run([*KB, "index"], check=False, env=env, capture_output=True, text=True, timeout=600)
    assert "published generation 1" in first.stderr, first.stderr[-2000:]
    (settings.corpus_dir / "冰城社区议事会.md").write_text(NEW_PRACTICE, encoding="utf-8")
    second = subprocess.run([*KB, "index"], check=False, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "published generation 2" in second.stderr and " 0 retired" in second.stderr
    assert "theme register was not saved" not in first.stderr + second.stderr


def test_readers_reload_after_milvus_restarts(seed_index, tmp_path, embedder):
    process, uri = _start_lite(tmp_path / "milvus")
    try:
        publish(_milvus(seed_index, uri))
    finally:
        _stop(process)
    process, uri = _start_lite(tmp_path / "milvus")  # the same data, a fresh server: nothing loaded
    try:
        reader = Searcher(_milvus(seed_index, uri).model_copy(update={"index_dir": tmp_path / "none"}), embedder)
        assert reader.search("律师委员公益法律服务", k=3).hits[0].unit == "市政协社会和法制委员会"
        reader.close()
    finally:
        _stop(process)


def test_stats_and_practices_read_what_milvus_serves(seed_index, tmp_path, lite_server):
    """A reader with no index folder at all: `kb stats` and `kb practices` read the published generation."""
    publish(_milvus(seed_index, lite_server))
    env = {"KB_SEARCH_BACKEND": "milvus", "KB_MILVUS_URI": lite_server}
    nowhere = tmp_path / "no-index-here"
    stats = json.loads(kb("stats", "--json", index_dir=nowhere, env_extra=env).stdout)
    local = json.loads(kb("stats", "--json", index_dir=seed_index.index_dir).stdout)
    assert stats["backend"] == "milvus" and stats["served_from"].startswith("Milvus at http://127.0.0.1:")
    assert (stats["documents"], stats["chunks"], stats["manifest"]) == (local["documents"], local["chunks"],
                                                                         local["manifest"])
    assert stats["facets"] == local["facets"]
    listed = kb("practices", index_dir=nowhere, env_extra=env).stdout
    assert listed == kb("practices", index_dir=seed_index.index_dir).stdout and "五常市政协" in listed
    assert not nowhere.exists()


def _run_kb(*args, env: dict) -> subprocess.Popen:
    return subprocess.Popen([*KB, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow  # about a minute; .ci/run runs the slow Milvus tests after the default run
def test_kill_during_publish_then_kb_index_finishes_it(bundled_index, tmp_path, lite_server):
    settings = _milvus(_copy_index(bundled_index, tmp_path), lite_server)
    publish(settings)
    (settings.corpus_dir / "冰城社区议事会.md").write_text(NEW_PRACTICE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(settings.index_dir), KB_CORPUS_DIR=str(settings.corpus_dir),
               KB_SEARCH_BACKEND="milvus", KB_MILVUS_URI=lite_server)
    client = connect(settings)
    process = _run_kb("index", env=env)
    deadline = time.monotonic() + 300
    born_in_2 = []
    while not born_in_2 and process.poll() is None and time.monotonic() < deadline:
        born_in_2 = client.query("kb_chunks", filter="born == 2", output_fields=["chunk_id"], limit=1)
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # some rows of generation 2 written, the alias not yet moved
    process.wait()
    assert client.describe_alias("kb")["collection_name"] == "kb_g1_meta", "the kill came after the switch"
    assert Searcher(settings).search("社区停车难怎么协商", k=3).generation == 1

    finished = kb("index", index_dir=settings.index_dir, env_extra={
        "KB_CORPUS_DIR": str(settings.corpus_dir), "KB_SEARCH_BACKEND": "milvus", "KB_MILVUS_URI": lite_server})
    assert "published generation 2" in finished.stderr
    assert client.describe_alias("kb")["collection_name"] == "kb_g2_meta"
    assert sorted(client.list_collections()) == ["kb_chunks", "kb_g1_meta", "kb_g2_meta", "kb_terms"]
    assert len(client.query("kb_chunks", filter="born == 2", output_fields=["chunk_id"], limit=100)) == len(
        Store(settings.index_dir, create=False).db.execute(
            "SELECT chunk_id FROM chunks WHERE doc_id = '冰城社区议事会.md'").fetchall())
    hits = Searcher(settings.model_copy(update={"index_dir": tmp_path / "none"})).search("社区停车难怎么协商", k=3).hits
    assert any(h.doc_id == "冰城社区议事会.md" for h in hits)
    again = kb("index", index_dir=settings.index_dir, env_extra={
        "KB_CORPUS_DIR": str(settings.corpus_dir), "KB_SEARCH_BACKEND": "milvus", "KB_MILVUS_URI": lite_server})
    assert "already serves generation 2" in again.stderr
    client.close()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")
def test_two_kb_serve_on_one_milvus_lite_server_answer_alike(seed_index, tmp_path, lite_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    publish(_milvus(seed_index, lite_server))
    replicas = []
    for replica in range(2):
        # No index folder at all: each replica reads Milvus only.
        replicas.append({"KB_INDEX_DIR": str(tmp_path / f"replica{replica}" / "index"),
                         "KB_CORPUS_DIR": str(tmp_path / f"replica{replica}" / "corpus"),
                         "KB_SEARCH_BACKEND": "milvus", "KB_MILVUS_URI": lite_server})
    with kb_serve(replicas[0]) as first, kb_serve(replicas[1]) as second:
        answers = []
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"])
            for url in (first, second):
                page = browser.new_page()
                page.goto(url)
                page.get_by_text("语义模型加载中").wait_for(state="detached", timeout=120_000)
                box = page.get_by_label("输入问题或关键词，按回车检索")
                box.fill("律师委员怎样提供免费的法律咨询")
                box.press("Enter")
                page.get_by_text("意思相近").first.wait_for(timeout=60_000)
                page.wait_for_timeout(1000)
                answers.append(page.locator("strong").all_inner_texts())
            browser.close()
    assert answers[0] == answers[1] and any("市政协社会和法制委员会" in a for a in answers[0][:3]), answers
    assert not any((tmp_path / f"replica{i}" / "index").exists() for i in range(2))


def test_a_catalogue_published_before_vectors_were_a_field_still_reads(seed_index):
    """Generations published by kb before the catalogue's vectors became a field stored them beside it."""
    from kb.practices import build_catalogue
    from kb.search.milvus import MilvusBackend

    store = Store(seed_index.index_dir, create=False)
    try:
        catalogue = build_catalogue(store)
    finally:
        store.close()
    reader = MilvusBackend.__new__(MilvusBackend)  # no server: only the meta values are read
    reader._meta_values = {"catalogue": {"catalogue": catalogue.model_dump(mode="json", exclude={"vectors"}),
                                         "vectors": catalogue.vectors.tolist()}}
    old = reader.catalogue()
    assert old.practices == catalogue.practices and (old.vectors == catalogue.vectors).all()
    reader._meta_values = {"catalogue": catalogue.model_dump(mode="json")}
    assert reader.catalogue().themes == catalogue.themes
