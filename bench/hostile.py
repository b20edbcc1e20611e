"""A hostile month in an office, measured: bombs, anonymous uploads, damaged index files and a full disk.

- bombs: a .docx whose image inflates to 1 GB, a .docx of a million paragraphs, a 3 GB sparse file and a
  PDF of 5,000 pages, each beside one real document: peak RSS of `kb index` and of the page's upload path
  (`add_and_index`, what 管理's 导入并建立索引 runs), each in a process of its own, and the reason named;
- uploads: ten 45 MB PUTs to Streamlit's upload endpoint from a live visitor session of `kb serve --host
  0.0.0.0` with a password set: what each got, and the server's resident memory before and after;
- corruption: an index damaged part by part (truncated, overwritten, flipped bytes in the database,
  a text no longer UTF-8, keyword rows lost, the vector file truncated, removed or changed): tried, named
  (by `kb check` or a one-line error), repaired (by `kb check --repair`, then `kb index`), tracebacks seen;
- full-disk: `kb index` adding documents on a tmpfs that fills at N points of the run (a mount namespace of
  its own, so root on Linux): one line or a commit each time, `kb check` passing after.

    python bench/hostile.py                        # every part
    python bench/hostile.py --smoke                # every part at its smallest (CI)
    python bench/hostile.py full-disk --levels 8   # one part; --json FILE writes the figures there too
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from load import Session, free_port, peak_rss_mb, start_server

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "2022-哈尔滨市政协系统创新工作综述.md"
LAWS = sorted((ROOT / "corpus" / "laws").glob("*.md"))
REAL = "# 委员工作站\n\n南岗区政协在街道建立委员工作站，委员每月接待群众。\n"
KB = [sys.executable, "-m", "kb"]


def env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("KB_")}, "HF_HUB_OFFLINE": "1"}


def kb(*args: str, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([*KB, *args], capture_output=True, text=True, env={**env(), **extra}, check=False)


def peak_of(code: str) -> tuple[float, str]:
    """Runs ``code`` in a fresh Python: its peak RSS in MB and what it printed last."""
    wrapper = ("import resource, subprocess, sys\n"
               f"out = subprocess.run([sys.executable, '-c', {code!r}], capture_output=True, text=True)\n"
               "print(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else 'ERROR ' + out.stderr[-400:])\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n")
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=env(), check=True)
    said, peak = out.stdout.strip().splitlines()[-2:]
    return float(peak), said


# -- bombs ------------------------------------------------------------------------------------------------

def _docx_with(path: Path, document_xml: bytes | None = None, extra: tuple[str, int] | None = None) -> None:
    """A real .docx (python-docx's own) with its text replaced and/or a part of ``extra[1]`` zero bytes."""
    import docx

    template = path.with_suffix(".template.docx")
    docx.Document().save(template)
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if document_xml is not None and item.filename == "word/document.xml":
                data = document_xml
            target.writestr(item, data)
        if extra:
            block = bytes(1 << 20)
            with target.open(extra[0], "w") as part:
                for _ in range(extra[1] >> 20):
                    part.write(block)
    template.unlink()


def make_bombs(folder: Path, smoke: bool) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    bombs = {}
    inflated_mb = 300 if smoke else 1024
    bombs[f"image inflating to {inflated_mb:,} MB (.docx)"] = folder / "zip-bomb.docx"
    _docx_with(folder / "zip-bomb.docx", extra=("word/media/image1.png", inflated_mb << 20))
    paragraphs = 200_000 if smoke else 1_000_000
    body = b"<w:p><w:r><w:t>\xe5\xa7\x94\xe5\x91\x98</w:t></w:r></w:p>" * paragraphs
    xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.'
           b'openxmlformats.org/wordprocessingml/2006/main"><w:body>' + body + b"</w:body></w:document>")
    bombs[f"{paragraphs:,} paragraphs (.docx)"] = folder / "paragraphs.docx"
    _docx_with(bombs[f"{paragraphs:,} paragraphs (.docx)"], document_xml=xml)
    bombs["3 GB sparse file (.txt)"] = folder / "sparse.txt"
    with open(bombs["3 GB sparse file (.txt)"], "wb") as handle:
        handle.truncate(3 * 1024**3)
    from pypdf import PdfWriter

    writer = PdfWriter()
    pages = 2_500 if smoke else 5_000
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    bombs[f"{pages:,} pages (.pdf)"] = folder / "pages.pdf"
    with open(bombs[f"{pages:,} pages (.pdf)"], "wb") as handle:
        writer.write(handle)
    return bombs


def bombs(work: Path, smoke: bool) -> list[dict]:
    """Each bomb beside one real document, and first the real document alone: the model it loads to
    embed that document is most of what `kb index` holds."""
    rows = []
    every = {"(none: the real document alone)": None, **make_bombs(work / "bombs", smoke)}
    for number, (name, bomb) in enumerate(every.items()):
        corpus, index_dir = work / f"corpus-{number}", work / f"index-{number}"
        corpus.mkdir()
        (corpus / "real.md").write_text(REAL, encoding="utf-8")
        if bomb is None:
            bomb = corpus / "real.md"
        else:
            os.link(bomb, corpus / bomb.name)
        started = time.monotonic()
        index_peak, said = peak_of(
            "import json, sys\nfrom kb.config import Settings\nfrom kb.office.indexing import index_files\n"
            f"r = index_files(Settings(corpus_dir={str(corpus)!r}, index_dir={str(index_dir)!r}))\n"
            "print(json.dumps({'added': r.added, 'refused': [f.code for f in r.failed]}))")
        seconds = time.monotonic() - started
        indexed = json.loads(said) if said.startswith("{") else {"added": 0, "refused": [said]}
        upload_peak, upload = None, "Streamlit refuses it past max_file_mb before kb sees it"
        if bomb.stat().st_size <= 50 * 1024 * 1024:
            upload_corpus, upload_index = work / f"upload-{number}", work / f"upload-index-{number}"
            upload_peak, upload = peak_of(
                "from pathlib import Path\nfrom kb.config import Settings\nfrom kb.office.uploads import add_and_index\n"
                f"s = Settings(corpus_dir={str(upload_corpus)!r}, index_dir={str(upload_index)!r})\n"
                f"added, report = add_and_index(s, [({bomb.name!r}, Path({str(bomb)!r}).read_bytes())], actor='bench')\n"
                "print(', '.join(i.reason.code for i in added.refused) or "
                "', '.join(f.code for f in (report.failed if report else [])) or 'indexed')")
        rows.append({"bomb": name, "file_mb": round(bomb.stat().st_blocks * 512 / 1e6, 1),
                     "index_peak_mb": round(index_peak), "index_seconds": round(seconds, 1),
                     "index_result": indexed, "upload_peak_mb": upload_peak and round(upload_peak),
                     "upload_result": upload})
    return rows


# -- anonymous uploads ------------------------------------------------------------------------------------

def _resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _put(port: int, session_id: str, number: int, size: int) -> str:
    """One upload as the page's JavaScript sends it (multipart, with the XSRF cookie and header)."""
    health = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    health.request("GET", "/_stcore/health")
    answer = health.getresponse()
    cookie = next((c.split(";")[0] for c in answer.headers.get_all("Set-Cookie") or [] if "_streamlit_xsrf" in c), "")
    answer.read()
    health.close()
    boundary = "kbbench"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f{number}.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode()
    body = head + bytes(size) + f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("PUT", f"/_stcore/upload_file/{session_id}/file-{number}", body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie,
            "X-Xsrftoken": cookie.split("=", 1)[-1]})
        response = connection.getresponse()
        return f"{response.status} {response.read()[:60].decode('utf-8', 'replace')}"
    except OSError as exc:  # the server answered and closed before taking the whole body
        return f"closed ({exc.__class__.__name__})"
    finally:
        connection.close()


def uploads(work: Path, smoke: bool) -> dict:
    from kb.office.admin import hash_password

    corpus, index_dir = work / "upload-corpus", work / "upload-index"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    kb("index", "-q", "--corpus-dir", str(corpus), "--index-dir", str(index_dir))
    port = free_port()
    server = start_server({**env(), "KB_INDEX_DIR": str(index_dir), "KB_CORPUS_DIR": str(corpus),
                           "KB_ADMIN_PASSWORD_HASH": hash_password("office-secret-1")}, port, "--host", "0.0.0.0")
    try:
        async def attempts() -> tuple[float, list[str], float]:
            async with Session(f"http://127.0.0.1:{port}/") as session:
                before = _resident_mb(server.pid)
                answers = [await asyncio.to_thread(_put, port, session.session_id, n, (5 if smoke else 45) << 20)
                           for n in range(3 if smoke else 10)]
                await asyncio.sleep(2)
                return before, answers, _resident_mb(server.pid)

        before, answers, after = asyncio.run(attempts())
        return {"attempts": len(answers), "answers": sorted(set(answers)), "rss_before_mb": round(before),
                "rss_after_mb": round(after), "peak_mb": round(peak_rss_mb(server.pid))}
    finally:
        server.terminate()
        server.wait(timeout=30)


# -- corruption -------------------------------------------------------------------------------------------

def _flip(path: Path, count: int, seed: int, start_fraction: float = 0.3) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for _ in range(count):
        at = rng.randrange(int(len(data) * start_fraction), len(data))
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _sql(index_dir: Path, statement: str, *args) -> None:
    with sqlite3.connect(index_dir / "kb.sqlite3") as db:
        db.execute(statement, args)


def _drop_wal(index_dir: Path) -> None:
    with sqlite3.connect(index_dir / "kb.sqlite3") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _vector_of_chunk_changed(index_dir: Path) -> None:
    with sqlite3.connect(index_dir / "kb.sqlite3") as db:
        stored = db.execute("SELECT vector FROM embeddings LIMIT 1 OFFSET 7").fetchone()[0]
    path = next(index_dir.glob("vectors-*.faiss"))
    data = path.read_bytes()
    at = data.find(stored)
    path.write_bytes(data[:at] + bytes(reversed(stored)) + data[at + len(stored):])


CORRUPTIONS = {
    "database truncated to half": lambda d: os.truncate(d / "kb.sqlite3", (d / "kb.sqlite3").stat().st_size // 2),
    "database header overwritten": lambda d: _overwrite(d / "kb.sqlite3", 0, b"\x00not a database\x00" * 4),
    "48 bytes flipped in the database": lambda d: _flip(d / "kb.sqlite3", 48, 1),
    "48 bytes flipped in the database (another place)": lambda d: _flip(d / "kb.sqlite3", 48, 2),
    "a chunk text no longer UTF-8": lambda d: _sql(
        d, "UPDATE chunks SET text = CAST(? AS TEXT) WHERE chunk_id = (SELECT min(chunk_id) FROM chunks)",
        "委员工作站".encode()[:7] + b"\xff" + "接待群众".encode()),
    "keyword rows lost": lambda d: _sql(d, "DELETE FROM chunk_fts WHERE rowid % 3 = 0"),
    "vector file truncated": lambda d: os.truncate(next(d.glob("vectors-*.faiss")),
                                                   next(d.glob("vectors-*.faiss")).stat().st_size // 2),
    "vector file removed": lambda d: next(d.glob("vectors-*.faiss")).unlink(),
    "one vector changed": _vector_of_chunk_changed,
    "64 bytes flipped in the vector file": lambda d: _flip(next(d.glob("vectors-*.faiss")), 64, 3, 0.5),
}


def _overwrite(path: Path, at: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(at)
        handle.write(data)


def corruption(work: Path, smoke: bool) -> list[dict]:
    corpus, clean = work / "damage-corpus", work / "damage-clean"
    (corpus / "laws").mkdir(parents=True)
    shutil.copy(SEED, corpus / SEED.name)
    for law in LAWS[:2]:
        shutil.copy(law, corpus / "laws" / law.name)
    kb("index", "-q", "--corpus-dir", str(corpus), "--index-dir", str(clean))
    _drop_wal(clean)
    rows = []
    cases = list(CORRUPTIONS.items())[: 3 if smoke else None]
    for name, damage in cases:
        index_dir = work / f"damaged-{len(rows)}"
        shutil.copytree(clean, index_dir)
        damage(index_dir)
        where = ["--index-dir", str(index_dir)]
        seen = {"check": kb("check", "--full", *where), "hybrid": kb("search", "委员工作站", *where),
                "keyword": kb("search", "委员工作站", "--mode", "keyword", *where)}
        seen["repair"] = kb("check", "--repair", "--full", *where)
        seen["index"] = kb("index", "-q", "--corpus-dir", str(corpus), *where)
        if seen["index"].returncode != 0 or "kb index --rebuild" in seen["repair"].stdout:
            seen["rebuild"] = kb("index", "-q", "--rebuild", "--corpus-dir", str(corpus), *where)
        seen["after"] = kb("check", "--full", *where)
        check = seen["check"]
        named = (check.returncode == 1 and "problem:" in check.stdout) or (
            check.returncode == 2 and len(check.stderr.strip().splitlines()) == 1)
        tracebacks = [step for step, out in seen.items() if "Traceback" in out.stdout + out.stderr]
        rows.append({"case": name, "named": named, "answered": [m for m in ("hybrid", "keyword")
                                                                if seen[m].returncode == 0],
                     "repaired_by": "check --repair" if "repaired:" in seen["repair"].stdout and seen["repair"].returncode == 0
                     else ("kb index --rebuild" if "rebuild" in seen else "kb index"),
                     "ok_after": seen["after"].returncode == 0, "tracebacks": tracebacks,
                     "said": (check.stdout.strip().splitlines() or check.stderr.strip().splitlines() or [""])[0][:140]})
    return rows


# -- full disk --------------------------------------------------------------------------------------------

def full_disk(work: Path, levels: int) -> list[dict]:
    """Generation 1 of the seed review and one law; the run adds three laws on a tmpfs sized from just
    above generation 1 to enough for generation 2, so it fills at a different point each time."""
    first, second = work / "disk-corpus-1", work / "disk-corpus-2"
    (first / "laws").mkdir(parents=True)
    shutil.copy(SEED, first / SEED.name)
    shutil.copy(LAWS[0], first / "laws" / LAWS[0].name)
    shutil.copytree(first, second)
    for law in LAWS[1:4]:
        shutil.copy(law, second / "laws" / law.name)
    built = work / "disk-generation-1"
    kb("index", "-q", "--corpus-dir", str(first), "--index-dir", str(built))
    _drop_wal(built)
    used_kb = sum(p.stat().st_size for p in built.iterdir()) // 1024
    low, high = used_kb + 64, used_kb * 3 + 256
    sizes = [low + (high - low) * i // max(levels - 1, 1) for i in range(levels)]
    rows = []
    for size in sizes:
        mount = work / f"disk-{size}k"
        mount.mkdir()
        out = subprocess.run(["unshare", "--mount", sys.executable, __file__, "_level", str(size), str(mount),
                              str(built), str(second)], capture_output=True, text=True, env=env(), check=False)
        if out.returncode != 0:
            sys.exit(f"the level of {size} KB could not run:\n{out.stderr[-2000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def _level(size_kb: int, mount: Path, built: Path, corpus: Path) -> dict:
    """Inside a mount namespace of its own: one tmpfs, one `kb index`, then what it left."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount)], check=True)
    index_dir = mount / "index"
    shutil.copytree(built, index_dir)
    ran = kb("index", "-q", "--corpus-dir", str(corpus), "--index-dir", str(index_dir))
    checked = kb("check", "--json", "--index-dir", str(index_dir))
    report = json.loads(checked.stdout) if checked.stdout.strip().startswith("{") else {}
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    logged = kb("log", "-n", "50", "--index-dir", str(index_dir))
    return {"disk_kb": size_kb, "exit": ran.returncode, "committed": ran.returncode == 0,
            "one_line": ran.returncode == 0 or (ran.returncode == 2 and len(lines) == 1),
            "error": lines[0] if ran.returncode else "", "generation": report.get("generation"),
            "check_ok": bool(report.get("ok")), "log_lines": len(logged.stdout.splitlines()),
            "log_readable": logged.returncode == 0,
            "temp_files": [p.name for p in index_dir.iterdir() if p.name.endswith((".tmp", ".partial"))]}


# -- report -----------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", nargs="?", choices=["bombs", "uploads", "corruption", "full-disk", "_level"])
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--levels", type=int, default=8)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures to this file as JSON")
    parser.add_argument("--work", type=Path)
    options = parser.parse_args()
    if options.part == "_level":
        size, mount, built, corpus = options.rest
        print(json.dumps(_level(int(size), Path(mount), Path(built), Path(corpus))))
        return
    work = Path(tempfile.mkdtemp(prefix="kb-hostile-", dir=options.work))
    parts = [options.part] if options.part else ["bombs", "uploads", "corruption", "full-disk"]
    figures: dict = {}
    try:
        for part in parts:
            if part == "full-disk" and subprocess.run(["unshare", "--mount", "true"], capture_output=True,
                                                      check=False).returncode != 0:
                figures["full_disk"] = "skipped: no mount namespace here (needs root on Linux)"
                continue
            runner = {"bombs": bombs, "uploads": uploads, "corruption": corruption,
                      "full-disk": lambda w, s: full_disk(w, 3 if s else options.levels)}[part]
            figures[part.replace("-", "_")] = runner(work, options.smoke)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if options.json:
        options.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    show(figures)


def show(figures: dict) -> None:
    for row in figures.get("bombs", []):
        print(f"bomb {row['bomb']:<34} {row['file_mb']:>7} MB on disk | kb index peak {row['index_peak_mb']:>4} MB "
              f"in {row['index_seconds']:>5} s, {row['index_result']} | upload path peak {row['upload_peak_mb']} MB: "
              f"{row['upload_result']}")
    if isinstance(figures.get("uploads"), dict):
        up = figures["uploads"]
        print(f"anonymous uploads: {up['attempts']} attempts, answers {up['answers']}; kb serve resident "
              f"{up['rss_before_mb']} MB before, {up['rss_after_mb']} MB after (peak {up['peak_mb']} MB)")
    for row in figures.get("corruption", []):
        print(f"damage {row['case']:<48} named {row['named']!s:<5} answered {','.join(row['answered']) or '-':<14} "
              f"repaired by {row['repaired_by']:<19} ok after {row['ok_after']!s:<5} tracebacks {row['tracebacks']}")
    if isinstance(figures.get("full_disk"), str):
        print(f"full disk: {figures['full_disk']}")
    for row in figures.get("full_disk", []) if isinstance(figures.get("full_disk"), list) else []:
        print(f"full disk at {row['disk_kb']:>5} KB: exit {row['exit']}, one line {row['one_line']}, generation "
              f"{row['generation']}, check ok {row['check_ok']}, log readable {row['log_readable']}, "
              f"temp files {row['temp_files']} | {row['error'][:110]}")


if __name__ == "__main__":
    main()
