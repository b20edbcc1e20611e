"""Many staff searching the page at once while the admin re-indexes: time from pressing Enter to
the results, at 1, 5 and 10 concurrent users, each a real headless Chromium session on `kb serve`.

While the users search, an admin process keeps adding a document and running `kb index`, so
searches straddle commits. Every answer is checked: no error on the page, results present and
stamped with a committed generation (a half-built index would show an error or no results).

    python bench/load.py              # 1, 5, 10 users × 8 searches each, on a copy of index/ and corpus/
    python bench/load.py --smoke      # 1 and 2 users × 2 searches (CI)

Needs Debian's chromium (`apt-get install chromium`) and playwright (the test extra).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]


def questions() -> list[str]:
    with open(ROOT / "tests" / "data" / "seed_queries.tsv", encoding="utf-8") as handle:
        return [row["query"] for row in csv.DictReader(handle, delimiter="\t")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "kb", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    sys.exit("kb serve did not answer within 300 s")


class Admin(threading.Thread):
    """Adds a document and re-indexes, again and again, until told to stop."""

    def __init__(self, env: dict[str, str], corpus: Path):
        super().__init__(daemon=True)
        self.env, self.corpus = env, corpus
        self.stop = threading.Event()
        self.runs = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            note = self.corpus / "uploads" / f"负载测试通知{self.runs:03d}.md"
            note.parent.mkdir(exist_ok=True)
            note.write_text(f"# 负载测试通知{self.runs}\n\n第{self.runs}次更新：委员工作站接待群众。\n", encoding="utf-8")
            out = subprocess.run([sys.executable, "-m", "kb", "index", "-q", "--wait"], env=self.env,
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                self.failures.append(out.stderr.strip()[-300:])
            self.runs += 1


async def user(browser, url: str, queries: list[str], timings: list[float], problems: list[str]) -> None:
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    await page.goto(url, wait_until="networkidle")
    box = page.get_by_label("输入问题或关键词，按回车检索")
    await box.wait_for(timeout=120_000)
    for query in queries:
        await box.fill(query)
        started = time.perf_counter()
        await box.press("Enter")
        caption = page.get_by_text(f"「{query}」共", exact=False)
        try:
            await caption.first.wait_for(timeout=120_000)
        except Exception as exc:  # noqa: BLE001 - any failure to show results is what we count
            problems.append(f"{query}: no results shown ({exc.__class__.__name__})")
            continue
        timings.append(time.perf_counter() - started)
        text = await caption.first.inner_text()
        if "共 0 条结果" in text or "索引第" not in text:
            problems.append(f"{query}: {text}")
        if await page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count():
            problems.append(f"{query}: the page shows an error")
    await context.close()


async def level(url: str, users: int, per_user: int) -> tuple[list[float], list[str]]:
    from playwright.async_api import async_playwright

    pool = questions()
    timings: list[float] = []
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        await asyncio.gather(*[
            user(browser, url, [pool[(u * 7 + i) % len(pool)] for i in range(per_user)], timings, problems)
            for u in range(users)
        ])
        await browser.close()
    return timings, problems


def percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--searches", type=int, default=8, help="per user")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index")
    parser.add_argument("--corpus-dir", type=Path, default=ROOT / "corpus")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.searches = [1, 2], 2
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} not found: apt-get install chromium")

    with tempfile.TemporaryDirectory() as work:
        corpus, index_dir = Path(work) / "corpus", Path(work) / "index"
        shutil.copytree(args.corpus_dir, corpus)
        if (args.index_dir / "kb.sqlite3").exists():
            shutil.copytree(args.index_dir, index_dir, ignore=shutil.ignore_patterns("eval", "*.lock"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(index_dir), KB_CORPUS_DIR=str(corpus))
        if not index_dir.exists():
            subprocess.run([sys.executable, "-m", "kb", "index", "-q"], env=env, check=True)
        port = free_port()
        server = start_server(env, port)
        admin = Admin(env, corpus)
        rows = []
        try:
            asyncio.run(level(f"http://127.0.0.1:{port}/", 1, 1))  # the server loads the model here
            admin.start()
            for users in args.users:
                timings, problems = asyncio.run(level(f"http://127.0.0.1:{port}/", users, args.searches))
                rows.append({"users": users, "searches": len(timings), "p50_s": percentile(timings, 50),
                             "p95_s": percentile(timings, 95), "mean_s": statistics.fmean(timings) if timings else 0,
                             "problems": problems})
        finally:
            admin.stop.set()
            admin.join(timeout=300)
            server.terminate()
            server.wait(timeout=30)

    print(f"time from Enter to results on `kb serve` (bundled corpus), headless Chromium sessions; "
          f"meanwhile {admin.runs} admin re-index runs, {len(admin.failures)} failed")
    print(f"{'users':>5} {'searches':>9} {'p50 s':>7} {'p95 s':>7} {'problems':>9}")
    for row in rows:
        print(f"{row['users']:>5} {row['searches']:>9} {row['p50_s']:>7.2f} {row['p95_s']:>7.2f} {len(row['problems']):>9}")
    for row in rows:
        for problem in row["problems"][:5]:
            print(f"  {row['users']} users: {problem}")
    for failure in admin.failures[:3]:
        print(f"  admin: {failure}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "admin_runs": admin.runs, "admin_failures": admin.failures},
                                        ensure_ascii=False, indent=1))
    if any(row["problems"] for row in rows) or admin.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
