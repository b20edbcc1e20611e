"""A real browser on `kb serve`: type a question about a seed practice, see it first, upload a
file and find it without restarting. Needs Debian's chromium (CI installs it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(seed_index, tmp_path):
    # A copy, because this test uploads into the corpus and re-indexes.
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_index.corpus_dir, corpus)
    shutil.copytree(seed_index.index_dir, index_dir)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(index_dir), KB_CORPUS_DIR=str(corpus))
    process = subprocess.Popen([sys.executable, "-m", "kb", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("kb serve did not answer within 120 s:\n" + process.stdout.read())
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_question_upload_and_search_in_chromium(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        # A fresh profile folder, or Chromium stalls on the closed network.
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            viewport={"width": 1400, "height": 1000},
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
        )
        page = browser.new_page()
        page.goto(server, wait_until="networkidle")
        box = page.get_by_label("输入问题或关键词，按回车检索")
        box.wait_for(timeout=120_000)
        box.fill("哪个县组织委员帮农民打造大米品牌？")
        box.press("Enter")
        first = page.locator("strong", has_text="1. ").first
        first.wait_for(timeout=60_000)
        assert "五常市政协" in first.inner_text()
        # Streamlit sends each element separately: the highlighted text may land after the title.
        page.locator("mark").first.wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

        page.get_by_role("tab", name="管理").click()
        notice = tmp_path / "冰城社区议事会.md"
        notice.write_text("# 冰城社区议事会\n\n香坊区在社区设立冰城议事会，居民与委员每月协商停车难题。\n", encoding="utf-8")
        page.locator("input[type=file]").set_input_files(str(notice))
        page.get_by_role("button", name="导入并建立索引").click()
        page.get_by_text("索引完成").wait_for(timeout=120_000)
        page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)

        page.get_by_role("tab", name="检索").click()
        box.fill("社区停车难怎么协商")
        box.press("Enter")
        # Not a practice of a unit, not a law: the new document leads the 其他资料 section by its title.
        page.locator("strong", has_text="冰城社区议事会").first.wait_for(timeout=60_000)
        browser.close()
    assert (tmp_path / "search.png").stat().st_size > 10_000
