"""A disk that fills during `kb index`: one line that says whether the generation was committed, the
index as it was or as committed, no temporary file left, and the run's report and change-log entries
written with the generation or by the next run."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys

import pytest
from support import ROOT

from kb.config import Settings
from kb.index import audit, runlog
from kb.index.indexer import index_paths
from kb.index.store import Store
from kb.reasons import DiskFullError


def test_records_the_disk_had_no_room_for_are_written_by_the_next_run(tmp_path, embedder, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# 委员工作站\n\n南岗区政协在街道建立委员工作站。\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    index_paths(settings, embedder=embedder, actor="测试")
    (corpus / "b.md").write_text("# 委员之家\n\n香坊区政协在社区设立委员之家。\n", encoding="utf-8")

    written, left = runlog.write_records, []

    def no_room(index_dir, records):
        left.append(records)
        raise OSError(errno.ENOSPC, "No space left on device", str(index_dir / runlog.LAST_RUN_NAME))

    monkeypatch.setattr(runlog, "write_records", no_room)
    with pytest.raises(DiskFullError, match="generation 2 was committed and is searchable") as full:
        index_paths(settings, embedder=embedder, actor="测试")
    assert "written by the next `kb index`" in str(full.value)
    store = Store(settings.index_dir)
    assert store.generation() == 2 and "b.md" in store.document_hashes()
    store.close()
    assert runlog.last_run(settings.index_dir).generation == 1
    assert [e.target for e in audit.entries(settings.index_dir)] == ["a.md"]
    assert not [p.name for p in settings.index_dir.iterdir() if p.name.endswith(".tmp")]

    monkeypatch.setattr(runlog, "write_records", written)
    index_paths(settings, embedder=embedder, actor="测试")  # nothing to change; it writes what was left
    assert [(e.target, e.result) for e in audit.entries(settings.index_dir)] == [("b.md", "added"), ("a.md", "added")]
    assert runlog.last_run(settings.index_dir).generation == 2
    store = Store(settings.index_dir)
    assert store.get_meta(runlog.PENDING_KEY) == ""
    store.close()
    # Written once more (as after a crash between writing them and clearing them): still once in the log.
    runlog.write_records(settings.index_dir, left[0])
    assert [e.target for e in audit.entries(settings.index_dir)] == ["b.md", "a.md"]


def _can_mount_a_small_disk() -> bool:
    probe = subprocess.run(["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, check=False) if shutil.which("unshare") else None
    return probe is not None and probe.returncode == 0


@pytest.mark.skipif(not _can_mount_a_small_disk(), reason="needs a mount namespace for a small tmpfs (root, Linux)")
def test_a_real_full_disk_at_three_levels(tmp_path):
    """`kb index` on a small tmpfs that fills at three points of the run (bench/hostile.py, which has
    eight): every run ends in one line or a commit, and `kb check` passes after each."""
    figures = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "hostile.py"), "full-disk", "--levels", "3",
                          "--json", str(figures), "--work", str(tmp_path)], capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    levels = json.loads(figures.read_text(encoding="utf-8"))["full_disk"]
    assert len(levels) == 3
    for level in levels:
        assert level["one_line"] and level["check_ok"] and not level["temp_files"], level
        assert level["committed"] == (level["generation"] == 2), level
        assert level["committed"] or "nothing of this run was committed" in level["error"], level
