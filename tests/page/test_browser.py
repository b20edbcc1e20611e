"""A real browser on `kb serve`, walked as new staff would: the first visit, a question, a filter,
the context, similar passages, 学习 with its charts and the map's labels, similar practices of other
units, a Word export opened with python-docx and rendered by LibreOffice to an image, and 管理 (an
upload found without restarting, a theme chosen before it still chosen after its re-index). On every tab the visible text is read and any Latin
word outside a short allowlist fails the test. Screenshots of each step are saved (to
PAGE_SCREENSHOTS when set; README's come from there). Needs Debian's chromium (CI installs it)."""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
from pathlib import Path

import pytest
from support import kb, kb_serve

from kb.ingest import LOADERS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")

# Latin words the page may show: the product, the keyword ranking's name, Word and Excel, file
# suffixes, and size units (B, KB, MB) of an uploaded file.
ALLOWED = {"kb", "bm25", "md", "markdown", "txt", "docx", "doc", "pdf", "html", "htm", "csv", "xlsx", "json", "jsonl",
           "word", "excel", "b", "mb"}
# Every suffix kb reads, as the uploader lists them.
ALLOWED |= {suffix.lstrip(".") for suffix in LOADERS}
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# The text a person sees: not icon ligatures ("keyboard_arrow_right" drawn as an arrow), not
# the screen-reader-only "Skip to main content", nothing hidden or of no size.
_VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, element = node.parentElement;
    if (!element || !node.textContent.trim() || element.closest("script, style, noscript")) continue;
    const style = getComputedStyle(element), box = element.getBoundingClientRect();
    if (style.fontFamily.includes("Material") || box.width <= 1 || box.height <= 1) continue;
    if (!element.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    out.push(node.textContent);
  }
  return out.join("\\n");
}"""
# File names, paths and the model's name are names, not UI words.
_NAME = re.compile(r"\S*[/\\]\S*|\S+\.(?:md|txt|docx?|pdf|html?|csv|xlsx|json)\b|multilingual-e5-\w+|[0-9a-f]{8,}")


def _corpus_words(corpus: Path) -> set[str]:
    """Latin words of the documents themselves (a "GDP" in a passage is the author's, not the page's)."""
    words: set[str] = set()
    for path in corpus.rglob("*"):
        if path.is_file():
            words |= {w.lower() for w in _LATIN.findall(path.read_text(encoding="utf-8", errors="ignore"))}
            words |= {w.lower() for w in _LATIN.findall(path.name)}
    return words


def english_words(text: str, allowed: set[str]) -> list[str]:
    text = _NAME.sub(" ", text)
    return sorted({w for w in _LATIN.findall(text) if w.lower() not in allowed})


@pytest.fixture
def server(bundled_index, tmp_path):
    # A copy, because this test uploads into the corpus and re-indexes.
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(bundled_index.corpus_dir, corpus)
    shutil.copytree(bundled_index.index_dir, index_dir)
    with kb_serve({"KB_INDEX_DIR": str(index_dir), "KB_CORPUS_DIR": str(corpus)}) as url:
        yield url, corpus


class Walk:
    """The browser session of one test: screenshots and the English words found on the way."""

    def __init__(self, page, shots: Path, allowed: set[str]):
        self.page, self.shots, self.allowed = page, shots, allowed
        self.english: dict[str, list[str]] = {}

    def settle(self) -> None:
        """Streamlit sends elements one by one: wait until the page stops changing."""
        previous = None
        for _ in range(40):
            text = self.page.inner_text("body")
            if text == previous and "正在" not in text[-200:]:
                return
            previous = text
            self.page.wait_for_timeout(250)

    def look(self, step: str) -> None:
        self.settle()
        found = english_words(self.page.evaluate(_VISIBLE_TEXT), self.allowed)
        if found:
            self.english[step] = found
        self.page.screenshot(path=str(self.shots / f"{step}.png"), full_page=True)

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()
        self.page.wait_for_timeout(300)


def _chart_texts(page, chart) -> str:
    """The words a chart draws (Streamlit has Vega draw charts as SVG)."""
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    return "\n".join(chart.locator("svg text").evaluate_all("nodes => nodes.map(node => node.textContent)"))


def _rendered_by_libreoffice(saved: Path, image: Path) -> None:
    """The export as another word processor draws it: LibreOffice to PDF, its first page to an image."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
    import subprocess

    import pypdfium2

    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{saved.parent / 'lo-profile'}",
                    "--convert-to", "pdf", "--outdir", str(saved.parent), str(saved)],
                   check=True, capture_output=True, timeout=240)
    pdf = pypdfium2.PdfDocument(str(saved.with_suffix(".pdf")))
    width, height = pdf[0].get_size()
    assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1  # A4
    assert "五常" in pdf[0].get_textpage().get_text_range()
    rendered = pdf[0].render(scale=1.5).to_pil().convert("L")
    rendered.save(image)
    assert sum(rendered.histogram()[:128]) > 0.005 * rendered.width * rendered.height, "the page is nearly blank"


def test_new_staff_walk_the_page(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, corpus = server
    shots = Path(os.environ.get("PAGE_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        # A fresh profile folder, or Chromium stalls on the closed network.
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, accept_downloads=True,
            viewport={"width": 1400, "height": 1500}, locale="zh-CN",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
        )
        page = browser.new_page()
        walk = Walk(page, shots, ALLOWED | _corpus_words(corpus))

        # 1. First visit: the first thing the browser paints is Chinese. The page shell carries the
        # loading line inside React's root, so the first contentful paint is that line (how soon it
        # comes is a speed figure: `python bench/load.py` measures it on a server's first visit).
        page.goto(url, wait_until="commit")
        shell = urllib.request.urlopen(url, timeout=10).read().decode("utf-8")
        assert "正在打开知识库" in shell.split('<div id="root">', 1)[1][:400]
        page.get_by_text(re.compile("正在打开知识库|语义模型加载中|输入问题或关键词")).first.wait_for(timeout=30_000)
        box = page.get_by_label("输入问题或关键词，按回车检索")
        box.wait_for(timeout=120_000)
        walk.look("0-first-visit")

        # 2. A question, answered by a practice with its reasons in words.
        page.get_by_text("语义模型加载中").wait_for(state="detached", timeout=120_000)
        box.fill("哪个县组织委员帮农民打造大米品牌？")
        box.press("Enter")
        first = page.locator("strong", has_text="1. ").first
        first.wait_for(timeout=60_000)
        assert "五常市政协" in first.inner_text()
        page.get_by_text("意思相近 · 关键词命中：").first.wait_for(timeout=30_000)
        page.locator("mark").first.wait_for(timeout=30_000)
        walk.look("1-search")

        # 3. The numbers one click away; the context with the neighbouring unit labelled.
        page.get_by_role("button", name="得分详情").first.click()
        page.get_by_text("语义检索第").first.wait_for(timeout=10_000)
        walk.look("2-score-details")
        page.keyboard.press("Escape")
        page.get_by_text("上下文与全文").first.click()
        page.get_by_text("以下属于另一单位的做法").first.wait_for(timeout=10_000)
        assert "**" not in page.inner_text("body")
        walk.look("3-context")

        # 4. A Word export of the results, opened as Word would.
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="导出为 Word").first.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        import docx

        text = "\n".join(p.text for p in docx.Document(str(saved)).paragraphs)
        assert saved.suffix == ".docx" and "五常大米" in text and "来源：《" in text
        _rendered_by_libreoffice(saved, shots / "9-word-export.png")

        # 5. A filter, next to the search it narrows.
        page.get_by_text("检索方式与筛选").click()
        walk.look("4-settings")
        page.get_by_role("button", name="相似段落").first.click()
        page.get_by_text("与所选段落意思相近的内容").wait_for(timeout=60_000)
        walk.look("5-similar")
        page.get_by_role("button", name="返回检索结果").click()

        # 6. 学习: charts, the map, the practices.
        walk.tab("学习")
        page.get_by_text("实践地图").wait_for(timeout=60_000)
        assert page.locator("[data-testid='stVegaLiteChart']").count() >= 4
        # Streamlit's English toolbars (Show data, Download as PNG, Fullscreen …) do not appear on hover.
        page.locator("[data-testid='stVegaLiteChart']").first.hover()
        page.wait_for_timeout(500)
        assert page.locator("[data-testid='stElementToolbar']:visible").count() == 0
        assert page.locator("summary:visible", has_text=re.compile("Show data|View source|PNG")).count() == 0
        # The map's dots carry their unit and title without hovering, and theme names over their practices.
        drawn = _chart_texts(page, page.locator("[data-testid='stVegaLiteChart']").nth(3))
        assert "延寿县政协" in drawn or "延寿县" in drawn, drawn[:300]
        assert "委员工作站建设" in drawn, drawn[:300]
        walk.look("6-learn")
        # Similar practices come from other units, with what they share.
        station = page.locator("[data-testid='stExpander']").filter(
            has=page.locator("summary", has_text="延寿县政协：进一步加强"))
        station.locator("summary").click()
        listed = station.locator("[data-testid='stMarkdown']", has_text="谁还做过类似的")
        listed.wait_for(timeout=30_000)
        others = listed.inner_text().split("谁还做过类似的", 1)[1]
        assert "都讲到" in others and "延寿县政协" not in others and others.count("政协") >= 3, others
        walk.look("6b-similar-practices")
        # A theme chosen here stays chosen after the re-index of the upload below.
        page.get_by_label("主题").last.click()
        chosen = page.get_by_role("option").first.inner_text()
        page.get_by_role("option").first.click()
        walk.settle()

        # 7. 管理 on this machine (loopback): upload a file and find it without restarting.
        walk.tab("管理")
        page.get_by_text("索引状态").wait_for(timeout=30_000)
        walk.look("7-manage")
        notice = tmp_path / "冰城社区议事会.md"
        notice.write_text("# 冰城社区议事会\n\n香坊区在社区设立冰城议事会，居民与委员每月协商停车难题。\n", encoding="utf-8")
        page.locator("input[type=file]").set_input_files(str(notice))
        page.get_by_role("button", name="导入并建立索引").click()
        page.get_by_text("索引完成").wait_for(timeout=120_000)
        walk.look("8-upload")
        # The change log names the session and where it came from (this machine, here).
        logged = kb("log", "-n", "5", "--index-dir", str(corpus.parent / "index")).stdout
        assert "冰城社区议事会" in logged and "（本机）" in logged, logged
        walk.tab("学习")
        page.get_by_text("逐项浏览").wait_for(timeout=60_000)
        walk.settle()
        theme_box = page.locator("[data-testid='stSelectbox']").filter(has=page.get_by_text("主题", exact=True))
        walk.look("8b-theme-after-reindex")
        assert theme_box.locator("input").input_value().startswith(chosen.split("（")[0])

        walk.tab("检索")
        box.fill("社区停车难怎么协商")
        box.press("Enter")
        # Not a practice of a unit, not a law: the new document leads the 其他资料 section by its title.
        page.locator("strong", has_text="冰城社区议事会").first.wait_for(timeout=60_000)
        browser.close()
    assert not walk.english, "\n".join(f"{step}: {words}" for step, words in walk.english.items())
    assert (shots / "1-search.png").stat().st_size > 10_000
