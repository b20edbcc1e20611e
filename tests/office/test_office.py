"""Running kb for an office: the admin password and its throttle, the audit log, backup and
restore (also in the middle of a re-index), uploads that try to leave the corpus folder, and the
page's manage view for staff and for the admin."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest
from support import ROOT, kb

from kb.config import Settings
from kb.index import audit
from kb.index.integrity import check_index
from kb.office.admin import (
    FIRST_LOCKOUT_S,
    FREE_ATTEMPTS,
    Access,
    Attempts,
    access,
    hash_password,
    is_loopback,
    save_password_hash,
    verify_password,
)
from kb.office.backup import MANIFEST_NAME, BackupError, backup, restore
from kb.office.uploads import add_and_index, add_files, remove_document
from kb.search import Searcher

NOTICE = "# 冰城社区议事会\n\n香坊区在社区设立冰城议事会，居民与委员每月协商停车难题。\n".encode()


def test_password_is_stored_only_as_a_salted_hash():
    first, second = hash_password("冰城议事2022"), hash_password("冰城议事2022")
    assert first != second and "冰城" not in first and first.startswith("scrypt$")
    assert verify_password("冰城议事2022", first) and not verify_password("冰城议事2023", first)
    assert not verify_password("anything", "not-a-hash")
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")


def test_password_hash_goes_into_kb_toml_keeping_other_settings(tmp_path):
    config = tmp_path / "kb.toml"
    config.write_text('top_k = 7\n\n[extra]\nnote = "kept"\n', encoding="utf-8")
    save_password_hash(config, hash_password("first-password"))
    save_password_hash(config, hashed := hash_password("second-password"))
    text = config.read_text(encoding="utf-8")
    assert text.count("admin_password_hash") == 1 and text.index("admin_password_hash") < text.index("[extra]")
    settings = Settings.load(config_file=config)
    assert settings.top_k == 7 and settings.admin_password_hash == hashed
    assert oct(config.stat().st_mode & 0o777) == "0o600"


def test_who_may_manage():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20") and not is_loopback(None)
    assert access(None, "127.0.0.1") is Access.LOOPBACK
    assert access(None, "0.0.0.0") is Access.CLOSED and access(None, None) is Access.CLOSED
    assert access("scrypt$…", "0.0.0.0") is Access.PASSWORD


def test_wrong_passwords_lock_out_then_double():
    now = [1000.0]
    attempts = Attempts(clock=lambda: now[0])
    stored = hash_password("right-password")
    for _ in range(FREE_ATTEMPTS):
        assert not attempts.try_password("wrong", stored)
    assert attempts.wait_seconds() == FIRST_LOCKOUT_S
    assert not attempts.try_password("right-password", stored)  # even the right one waits
    now[0] += FIRST_LOCKOUT_S
    assert not attempts.try_password("wrong again", stored)
    assert attempts.wait_seconds() == 2 * FIRST_LOCKOUT_S
    now[0] += 2 * FIRST_LOCKOUT_S
    assert attempts.try_password("right-password", stored) and attempts.wait_seconds() == 0


def test_cli_sets_password_and_logs_changes(tmp_path, fixture_corpus):
    index_dir = tmp_path / "index"
    result = subprocess.run([sys.executable, "-m", "kb", "admin", "set-password", "--password-stdin"],
                            input="office-secret-1\n", capture_output=True, text=True, cwd=tmp_path,
                            env={**_clean_env(), "KB_INDEX_DIR": str(index_dir)}, check=True)
    assert "kb.toml" in result.stdout
    stored = (tmp_path / "kb.toml").read_text(encoding="utf-8")
    assert "office-secret-1" not in stored and verify_password("office-secret-1", stored.split('"')[1])

    kb("index", "--corpus-dir", str(fixture_corpus), index_dir=index_dir)
    log = kb("log", index_dir=index_dir).stdout
    assert "set-password" in log and "-> added" in log and "sha256:" in log and "cli " in log
    assert log.count("-> added") == 3


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def test_every_page_change_is_in_the_audit_log(tmp_path, embedder):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    actor = "管理员会话 test"
    added, report = add_and_index(settings, [("议事会.md", NOTICE), ("议事会副本.md", NOTICE), ("x.exe", b"MZ")],
                                  embedder=embedder, actor=actor)
    assert report.added == 1
    remove_document(settings, added.saved[0], actor=actor)
    rows = [(e.action, e.target, e.result) for e in reversed(audit.entries(settings.index_dir))]
    assert rows == [
        ("upload", "uploads/议事会.md", "saved"),
        ("upload", "议事会副本.md", "duplicate"),
        ("upload", "x.exe", "refused"),
        ("index", "uploads/议事会.md", "added"),
        ("remove", "uploads/议事会.md", "removed"),
    ]
    logged = audit.entries(settings.index_dir)
    assert all(e.actor == actor for e in logged)
    import hashlib

    assert {e.content_hash for e in logged if e.result in ("saved", "added", "removed")} == {
        hashlib.sha256(NOTICE).hexdigest()}


def test_uploads_and_removals_stay_inside_the_corpus(tmp_path):
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    outside = tmp_path / "outside.md"
    outside.write_text("不能删除", encoding="utf-8")
    result = add_files(settings, [("../../outside.md", NOTICE), ("/etc/passwd.md", NOTICE + b"x"),
                                  ("..\\..\\win.md", NOTICE + b"y")])
    assert sorted(result.saved) == ["uploads/outside.md", "uploads/passwd.md", "uploads/win.md"]
    assert all((settings.corpus_dir / doc).resolve().is_relative_to(settings.corpus_dir.resolve())
               for doc in result.saved)
    assert remove_document(settings, "../outside.md").removed == 0
    assert outside.read_text(encoding="utf-8") == "不能删除"


def test_backup_taken_during_a_reindex_restores_cleanly(tmp_path, seed_index):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_index.corpus_dir, corpus)
    shutil.copytree(seed_index.index_dir, index_dir)
    for number in range(40):  # new documents, so the re-index has real work to do
        (corpus / f"新增材料{number:02d}.md").write_text(
            f"# 新增材料{number}\n\n第{number}号委员工作站本月接待群众{number * 3 + 7}人次，收集意见建议若干条。\n",
            encoding="utf-8")
    env = {**_clean_env(), "KB_INDEX_DIR": str(index_dir)}
    writer = subprocess.Popen([sys.executable, "-m", "kb", "index", "--corpus-dir", str(corpus), "-q"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = index_dir / "index.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip() == str(writer.pid)):
        time.sleep(0.05)
    assert writer.poll() is None, "the re-index ended before the backup could overlap it"
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    info = backup(settings, tmp_path / "backup", actor="test")
    assert writer.wait(timeout=300) == 0, writer.stderr.read()
    assert info.index.generation >= 1 and (tmp_path / "backup" / MANIFEST_NAME).exists()

    fresh = Settings(corpus_dir=tmp_path / "restored-corpus", index_dir=tmp_path / "restored-index")
    report = restore(fresh, tmp_path / "backup")
    checked = check_index(fresh)
    assert checked.ok, checked.problems
    assert checked.documents == info.documents and report.generation > info.index.generation - 1
    searcher = Searcher(fresh)
    try:
        assert searcher.search("五常大米", mode="keyword", k=1).hits[0].unit == "五常市政协"
    finally:
        searcher.close()


def test_restore_replaces_a_live_index_and_keeps_the_old_corpus(tmp_path, seed_index, embedder):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_index.corpus_dir, corpus)
    shutil.copytree(seed_index.index_dir, index_dir)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    backup(settings, tmp_path / "backup")
    searcher = Searcher(settings, embedder)  # a reader that stays open, like the page
    before = searcher.search("社区停车难怎么协商", k=1).hits[0].doc_id
    add_and_index(settings, [("议事会.md", NOTICE)], embedder=embedder)
    assert searcher.search("社区停车难怎么协商", k=1).hits[0].doc_id == "uploads/议事会.md"

    report = restore(settings, tmp_path / "backup", embedder=embedder, actor="test")
    assert searcher.search("社区停车难怎么协商", k=1).hits[0].doc_id == before
    assert searcher.generation == report.generation
    searcher.close()
    assert check_index(settings).ok
    assert (Path(report.corpus_moved_to) / "uploads" / "议事会.md").exists()
    assert not (corpus / "uploads").exists()
    assert audit.entries(index_dir)[0].action == "restore"


def test_restore_refuses_other_settings_or_damage_unless_rebuilt(tmp_path, seed_index, embedder):
    backup(seed_index.model_copy(), tmp_path / "backup")
    other = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", chunk_size=200, chunk_overlap=40)
    with pytest.raises(BackupError, match="chunking .*--rebuild"):
        restore(other, tmp_path / "backup", embedder=embedder)
    assert not (tmp_path / "index" / "kb.sqlite3").exists()
    report = restore(other, tmp_path / "backup", rebuild=True, embedder=embedder)
    assert report.rebuilt and check_index(other).ok

    damaged = tmp_path / "damaged"
    shutil.copytree(tmp_path / "backup", damaged)
    with open(next((damaged / "corpus").rglob("*.md")), "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(BackupError, match="checksum"):
        restore(other, damaged, embedder=embedder)
    with pytest.raises(BackupError, match="not empty"):
        backup(seed_index, damaged)


@pytest.fixture
def manage_page(seed_index, monkeypatch, tmp_path):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_index.corpus_dir, corpus)
    shutil.copytree(seed_index.index_dir, index_dir)
    monkeypatch.setenv("KB_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(corpus))
    previous = streamlit_config.get_option("server.address")
    yield lambda: AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    streamlit_config.set_option("server.address", previous)


def test_staff_on_the_network_only_search(manage_page):
    streamlit_config.set_option("server.address", "0.0.0.0")
    at = manage_page()
    at.run()
    manage = at.tabs[2]
    assert any("kb admin set-password" in i.value for i in manage.info)
    assert not manage.button and not at.get("file_uploader")


def test_admin_logs_in_to_manage(manage_page, monkeypatch):
    streamlit_config.set_option("server.address", "0.0.0.0")
    monkeypatch.setenv("KB_ADMIN_PASSWORD_HASH", hash_password("office-secret-1"))
    at = manage_page()
    at.run()
    assert not at.get("file_uploader")
    # A visitor from the network learns no server path; the admin sees where the index lives.
    shown = [c.value for c in at.tabs[2].caption] + [t.value for t in at.tabs[2].text]
    assert shown and not any("索引目录" in line or "/" in line for line in shown), shown
    at.text_input(key="password").input("wrong-password")
    at.tabs[2].button[0].click().run()
    assert any("密码不正确" in e.value for e in at.error)
    assert not at.get("file_uploader")
    at.text_input(key="password").input("office-secret-1")
    at.tabs[2].button[0].click().run()
    assert at.get("file_uploader") and at.button(key="reindex")
    assert any("索引目录" in c.value for c in at.tabs[2].caption)
    results = [row for row in at.tabs[2].dataframe[-1].value.to_dict("records")]
    # The change log in Chinese, at local times.
    assert {(r["操作"], r["结果"]) for r in results} >= {("登录", "拒绝"), ("登录", "完成")}
    assert "密码错误" in {r["说明"] for r in results}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", r["时间"]) for r in results)


def test_loopback_without_password_manages(manage_page):
    streamlit_config.set_option("server.address", "127.0.0.1")
    at = manage_page()
    at.run()
    assert at.get("file_uploader") and any("本机" in c.value for c in at.tabs[2].caption)


def test_a_locked_out_attempt_is_in_the_change_log(manage_page, monkeypatch):
    """After five wrong passwords the next try is refused unchecked, and the log says so (the counter is
    the server process's, so this test starts and leaves it clean)."""
    from kb.index.audit import entries
    from kb.page import shared

    shared.password_attempts.clear()
    streamlit_config.set_option("server.address", "0.0.0.0")
    monkeypatch.setenv("KB_ADMIN_PASSWORD_HASH", hash_password("office-secret-1"))
    at = manage_page()
    at.run()
    try:
        for _ in range(FREE_ATTEMPTS + 1):
            at.text_input(key="password").input("wrong-password")
            at.tabs[2].button[0].click().run()
        assert any("密码错误次数过多" in e.value for e in at.error)
        logged = entries(Path(os.environ["KB_INDEX_DIR"]), 20)
        reasons = [row.reason.code for row in logged if row.action == "login" and row.reason]
        assert reasons.count("wrong_password") == FREE_ATTEMPTS and reasons.count("locked_out") == 1, reasons
    finally:
        shared.password_attempts.clear()
