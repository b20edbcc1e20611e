"""Many staff searching the page at once while the admin re-indexes: time from pressing Enter to
the results, at 1, 5 and 10 concurrent users of `kb serve` on loopback.

Each user is a session speaking Streamlit's own websocket protocol, as the page's JavaScript does:
it sends the query as the search box's new value (a rerun of the results fragment) and waits until the
server has sent every element of the answer. That measures the server, which is what an office shares;
ten browsers rendering on this same 2-core machine would measure mostly themselves (an earlier version
drove headless Chromium: 10 users, p50 6.7 s, most of it spent by the browsers). One real headless
Chromium search runs first, to check that a browser shows the results.

While the users search, an admin process keeps adding a document and running `kb index`, so searches
straddle commits. Every answer is checked: no error or exception, results present and stamped with a
committed generation (a half-built index would show an error or no results).

    python bench/load.py              # 1, 5, 10 users × 40 searches each, on a copy of index/ and corpus/
    python bench/load.py --smoke      # 1 and 2 users × 2 searches (CI)

Needs Debian's chromium (`apt-get install chromium`) and playwright (the test extra) for the browser check.
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


def start_server(env: dict[str, str], port: int, *args: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "kb", "serve", "--port", str(port), *args], env=env,
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


async def browser_check(url: str) -> tuple[str | None, float]:
    """One real Chromium visit, the server's first: None when the results showed, else what went wrong;
    and the first contentful paint after navigation, by the browser's own clock (the page shell's
    Chinese loading line: goal ≤ 1 s)."""
    from playwright.async_api import async_playwright

    query = questions()[0]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = await browser.new_page()
        await page.goto(url, wait_until="commit")
        await page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length > 0")
        first_paint = await page.evaluate(
            "() => performance.getEntriesByName('first-contentful-paint')[0].startTime") / 1000
        box = page.get_by_label("输入问题或关键词，按回车检索")
        await box.wait_for(timeout=120_000)
        await box.fill(query)
        await box.press("Enter")
        try:
            await page.get_by_text(f"「{query}」共", exact=False).first.wait_for(timeout=120_000)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return f"the browser showed no results ({exc.__class__.__name__})", first_paint
        finally:
            await browser.close()
    return None, first_paint


class Session:
    """A page session over Streamlit's websocket: what the browser's JavaScript sends and receives."""

    def __init__(self, url: str):
        self.url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"

    async def __aenter__(self):
        import websockets

        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None)
        self.box_id = self.fragment = self.session_id = None
        await self.run(None)
        if self.box_id is None:
            raise RuntimeError("the page has no search box")
        return self

    async def __aexit__(self, *exc):
        await self.socket.close()

    async def run(self, query: str | None) -> tuple[list[str], list[str]]:
        """Send a rerun (the search box's new value) and collect the markdown and errors of the answer."""
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = ""
        if query is not None:
            message.rerun_script.fragment_id = self.fragment
            widget = message.rerun_script.widget_states.widgets.add()
            widget.id, widget.string_value = self.box_id, query
        await self.socket.send(message.SerializeToString())
        texts, errors = [], []
        while True:
            reply = ForwardMsg()
            reply.ParseFromString(await self.socket.recv())
            kind = reply.WhichOneof("type")
            if kind == "new_session":
                self.session_id = reply.new_session.initialize.session_id
            if kind == "script_finished":
                return texts, errors
            if kind != "delta" or reply.delta.WhichOneof("type") != "new_element":
                continue
            element = reply.delta.new_element
            which = element.WhichOneof("type")
            if which == "text_input" and element.text_input.id.endswith("-query"):
                self.box_id, self.fragment = element.text_input.id, reply.delta.fragment_id
            elif which == "markdown":
                texts.append(element.markdown.body)
            elif which == "exception" or (which == "alert" and element.alert.format == Alert.ERROR):
                errors.append(element.exception.message if which == "exception" else element.alert.body)


async def user(url: str, queries: list[str], timings: list[float], problems: list[str], generations: set[str]) -> None:
    async with Session(url) as session:
        for query in queries:
            started = time.perf_counter()
            texts, errors = await session.run(query)
            elapsed = time.perf_counter() - started
            answer = next((t for t in texts if t.startswith(f"「{query}」共")), None)
            if errors or answer is None or "共 0 条结果" in answer or "索引第" not in answer:
                problems.append(f"{query}: {errors or answer or 'no results'}")
                continue
            timings.append(elapsed)
            generations.add(answer.rsplit("索引第", 1)[1].split("版")[0].strip())


async def level(url: str, users: int, per_user: int) -> tuple[list[float], list[str], set[str]]:
    pool = questions()
    timings: list[float] = []
    problems: list[str] = []
    generations: set[str] = set()
    await asyncio.gather(*[
        user(url, [pool[(u * 7 + i) % len(pool)] for i in range(per_user)], timings, problems, generations)
        for u in range(users)
    ])
    return timings, problems, generations


def peak_rss_mb(pid: int) -> float:
    """The server process's high-water mark of resident memory, from Linux's /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--searches", type=int, default=40, help="per user")
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
        url = f"http://127.0.0.1:{port}/"
        try:
            # The server's first visitor: it loads the model meanwhile.
            browser_problem, first_paint = asyncio.run(browser_check(url))
            admin.start()
            for users in args.users:
                timings, problems, generations = asyncio.run(level(url, users, args.searches))
                rows.append({"users": users, "searches": len(timings), "generations": sorted(generations, key=int),
                             "p50_s": percentile(timings, 50),
                             "p95_s": percentile(timings, 95), "mean_s": statistics.fmean(timings) if timings else 0,
                             "problems": problems})
            serving_peak_mb = peak_rss_mb(server.pid)
        finally:
            admin.stop.set()
            admin.join(timeout=300)
            server.terminate()
            server.wait(timeout=30)

    print(f"time from sending a query to the last element of its answer, `kb serve` on the bundled corpus, "
          f"websocket sessions; meanwhile {admin.runs} admin re-index runs, {len(admin.failures)} failed; "
          f"browser check: {browser_problem or 'results shown'}, first (Chinese) paint {first_paint:.2f} s after "
          f"opening (goal ≤ 1.0 s); peak RSS of kb serve {serving_peak_mb:.0f} MB")
    print(f"{'users':>5} {'searches':>9} {'p50 s':>7} {'p95 s':>7} {'problems':>9}  index generations answered")
    for row in rows:
        print(f"{row['users']:>5} {row['searches']:>9} {row['p50_s']:>7.2f} {row['p95_s']:>7.2f} {len(row['problems']):>9}"
              f"  {', '.join(row['generations'])}")
    for row in rows:
        for problem in row["problems"][:5]:
            print(f"  {row['users']} users: {problem}")
    for failure in admin.failures[:3]:
        print(f"  admin: {failure}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "admin_runs": admin.runs, "admin_failures": admin.failures,
                                         "browser_problem": browser_problem, "first_paint_s": first_paint,
                                         "serving_peak_rss_mb": serving_peak_mb},
                                        ensure_ascii=False, indent=1))
    if any(row["problems"] for row in rows) or admin.failures or browser_problem:
        sys.exit(1)


if __name__ == "__main__":
    main()
