"""An index damaged on disk, part by part: what `kb check` finds, what `--repair` mends, and that no
search and no command shows a traceback meanwhile. SQLite holds the source of truth; the keyword rows
and the FAISS file are derived from it, and a document whose stored text is damaged is read again
from its file."""

from __future__ import annotations

import os
import shutil
import sqlite3

import numpy as np
from support import kb


def _copy(seed_index, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index.index_dir, index_dir)
    return index_dir


def test_text_damaged_on_disk_is_found_and_its_document_read_again(seed_index, tmp_path):
    """Bytes that are no UTF-8 inside a stored chunk text (a flipped byte in a page): SQLite's own
    integrity check passes, and the keyword search used to fail with "Could not decode to UTF-8"."""
    index_dir = _copy(seed_index, tmp_path)
    where = ["--index-dir", str(index_dir)]
    with sqlite3.connect(index_dir / "kb.sqlite3") as db:
        chunk_id, doc_id, text = db.execute(
            "SELECT chunk_id, doc_id, text FROM chunks WHERE text LIKE '%公益法律服务%' LIMIT 1").fetchone()
        broken = text.encode("utf-8")
        broken = broken[:7] + b"\xff" + broken[8:]
        db.execute("UPDATE chunks SET text = CAST(? AS TEXT) WHERE chunk_id = ?", (broken, chunk_id))
    searched = kb("search", "律师委员公益法律服务", "--mode", "keyword", *where, check=False)
    assert searched.returncode == 0 and "Traceback" not in searched.stderr, searched.stderr
    checked = kb("check", *where, check=False)
    assert checked.returncode == 1 and "not UTF-8" in checked.stdout and doc_id in checked.stdout, checked.stdout

    repaired = kb("check", "--repair", *where, check=False)
    assert repaired.returncode == 0 and "dropped: `kb index` reads them again" in repaired.stdout, repaired.stdout
    again = kb("index", "--corpus-dir", str(seed_index.corpus_dir), *where, "--json", check=False)
    assert again.returncode == 0 and '"added": 1' in again.stdout, again.stdout
    assert kb("check", *where).returncode == 0
    hits = kb("search", "律师委员公益法律服务", "--mode", "keyword", "--json", *where).stdout
    assert "\ufffd" not in hits and "公益法律服务" in hits


def test_a_vector_changed_on_disk_is_found_by_the_full_check_and_rebuilt(seed_index, tmp_path):
    """Flipped bytes in one vector of the FAISS file: the file still loads, the sample may miss it,
    `kb check --full` compares every vector with SQLite's embedding and `--repair` writes them again."""
    index_dir = _copy(seed_index, tmp_path)
    where = ["--index-dir", str(index_dir)]
    with sqlite3.connect(index_dir / "kb.sqlite3") as db:
        stored = db.execute("SELECT vector FROM embeddings LIMIT 1 OFFSET 5").fetchone()[0]
    vectors = next(index_dir.glob("vectors-*.faiss"))
    data = vectors.read_bytes()
    at = data.find(stored)
    assert at > 0, "the vector's bytes are not in the FAISS file"
    flipped = np.frombuffer(stored, dtype="<f4").copy()
    flipped[:16] = -flipped[:16]
    vectors.write_bytes(data[:at] + flipped.tobytes() + data[at + len(stored):])

    full = kb("check", "--full", *where, check=False)
    assert full.returncode == 1 and "differs from its stored embedding" in full.stdout, full.stdout
    repaired = kb("check", "--repair", "--full", *where, check=False)
    assert repaired.returncode == 0 and "rebuilt" in repaired.stdout, repaired.stdout
    assert kb("check", "--full", *where).returncode == 0


def test_a_database_past_repair_is_kept_aside_and_the_index_built_again(seed_index, tmp_path):
    """SQLite itself damaged (its header overwritten): every command says so in one line and names the
    rebuild; `kb index --rebuild` keeps the damaged file under another name and reads the corpus again."""
    index_dir = _copy(seed_index, tmp_path)
    where = ["--index-dir", str(index_dir)]
    for suffix in ("-wal", "-shm"):
        (index_dir / f"kb.sqlite3{suffix}").unlink(missing_ok=True)
    with open(index_dir / "kb.sqlite3", "r+b") as handle:
        handle.write(b"\x00not a database\x00" * 4)
    repaired = kb("check", "--repair", *where, check=False)
    assert repaired.returncode == 2 and "kb index --rebuild" in repaired.stderr, repaired.stderr
    rebuilt = kb("index", "--rebuild", "--corpus-dir", str(seed_index.corpus_dir), *where, check=False)
    said = rebuilt.stdout + rebuilt.stderr
    assert rebuilt.returncode == 0 and "damaged; kept as kb.sqlite3.damaged-" in said, said
    kept = list(index_dir.glob("kb.sqlite3.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"\x00not a database")
    assert kb("check", *where).returncode == 0


def test_the_page_searches_past_a_damaged_vector_file_and_says_so(seed_index, tmp_path, monkeypatch):
    """A truncated vectors-N.faiss used to put a faiss traceback, with server paths, before every visitor."""
    from streamlit.testing.v1 import AppTest
    from support import ROOT

    from kb.config import Settings
    from kb.page.shared import model_loader

    index_dir = _copy(seed_index, tmp_path)
    vectors = next(index_dir.glob("vectors-*.faiss"))
    vectors.write_bytes(vectors.read_bytes()[:1000])
    monkeypatch.setenv("KB_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(seed_index.corpus_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    model_loader(Settings.load().model_dump_json()).wait()
    at.run()
    at.text_input(key="query").set_value("律师委员怎样提供公益法律服务").run()
    assert not at.exception, at.exception
    assert any("向量文件缺失或已损坏" in info.value for info in at.info)
    shown = " ".join(m.value for m in at.markdown)
    assert "市政协社会和法制委员会" in shown and str(index_dir) not in shown


def test_kb_index_names_a_damaged_database_instead_of_reporting_it_unchanged(seed_index, tmp_path):
    """A page of one of SQLite's own indexes overwritten: the database opens and a no-op run used to say
    "0 added … generation 1" with exit 0 while `kb check` failed."""
    index_dir = _copy(seed_index, tmp_path)
    database = index_dir / "kb.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'chunks'"
                          " ORDER BY name LIMIT 1").fetchone()[0]
    with open(database, "r+b") as handle:
        handle.seek(root * page_size - 600)
        handle.write(bytes(range(200, 256)) * 10)
    where = ["--index-dir", str(index_dir)]
    ran = kb("index", "--corpus-dir", str(seed_index.corpus_dir), *where, check=False)
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    assert ran.returncode == 2 and len(lines) == 1 and str(database) in lines[0], ran.stderr
    assert "kb index --rebuild" in lines[0]
    assert kb("index", "--rebuild", "--corpus-dir", str(seed_index.corpus_dir), *where).returncode == 0
    assert kb("check", *where).returncode == 0


def test_kb_index_skips_the_check_only_while_nothing_but_kb_wrote_the_database(seed_index, tmp_path):
    """The full integrity check takes most of a one-file `kb index` at 10⁶ passages: a run skips it where
    the files are what kb's last writer left. Damage written in place afterwards, with the file's old
    modification time put back, still makes the next run check, and refuse."""
    from kb.index.store import SOUND_NAME, checked_in_background

    index_dir = _copy(seed_index, tmp_path)
    where = ["--corpus-dir", str(seed_index.corpus_dir), "--index-dir", str(index_dir)]
    copied = checked_in_background(index_dir)  # a copy is not what kb left: checked
    assert copied.result(timeout=60) == "ok"
    assert kb("index", *where).returncode == 0
    assert (index_dir / SOUND_NAME).exists()
    skipped = checked_in_background(index_dir)
    assert skipped.done() and skipped.result() == "ok"

    database = index_dir / "kb.sqlite3"
    before = database.stat()
    db = sqlite3.connect(database)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'chunks'"
                      " ORDER BY name LIMIT 1").fetchone()[0]
    db.close()  # the last connection: its log goes, and the files are again as kb left them
    skipped = checked_in_background(index_dir)
    assert skipped.done() and skipped.result() == "ok"
    with open(database, "r+b") as handle:
        handle.seek(root * page_size - 600)
        handle.write(bytes(range(200, 256)) * 10)
    os.utime(database, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert database.stat().st_mtime_ns == before.st_mtime_ns and database.stat().st_size == before.st_size
    ran = kb("index", *where, check=False)
    assert ran.returncode == 2 and str(database) in ran.stderr and "kb index --rebuild" in ran.stderr, ran.stderr
