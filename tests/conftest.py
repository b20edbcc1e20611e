"""Shared fixtures: the real default model, converted once per machine, and a small index of
the seed article plus two laws, built once per test session."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEED = CORPUS / "2022-哈尔滨市政协系统创新工作综述.md"
SHARED = ROOT.parent / "shared"
DATA = ROOT / "tests" / "data"
# The full STARD dev set where ../shared lies beside the checkout (CI); a small sample of it otherwise, so
# that a clone of the project alone passes too (tests/data/stard-sample/SOURCE.md).
FULL_STARD = (SHARED / "data" / "stard" / "reconstructed" / "corpus.jsonl").exists()
STARD = SHARED / "data" / "stard" / "reconstructed" if FULL_STARD else DATA / "stard-sample"
FIXTURE_LAWS = ("人民调解法(2010-08-28).md", "非物质文化遗产法(2011-02-25).md")


@pytest.fixture(autouse=True)
def _no_kb_environment(monkeypatch):
    """A developer's KB_* variables must not change what the tests see."""
    for name in list(os.environ):
        if name.startswith("KB_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def embedder():
    from kb.config import Settings
    from kb.model.embedder import Embedder

    return Embedder(Settings())


@pytest.fixture(scope="session")
def fixture_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copy(SEED, folder / SEED.name)
    (folder / "laws").mkdir()
    for name in FIXTURE_LAWS:
        shutil.copy(CORPUS / "laws" / name, folder / "laws" / name)
    return folder


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, fixture_corpus, embedder):
    """Settings of an index over the fixture corpus (read-only for the tests that use it)."""
    from kb.config import Settings
    from kb.index.indexer import index_paths

    settings = Settings(corpus_dir=fixture_corpus, index_dir=tmp_path_factory.mktemp("index"))
    report = index_paths(settings, embedder=embedder)
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory, embedder):
    """Settings of an index over the whole bundled corpus (the seed review and 27 laws), as a new
    user's `kb index` builds it: where laws can outrank practices (read-only for the tests)."""
    from kb.config import Settings
    from kb.index.indexer import index_paths

    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("bundled-index"))
    report = index_paths(settings, embedder=embedder)
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def searcher(seed_index, embedder):
    from kb.search import Searcher

    searcher = Searcher(seed_index, embedder)
    yield searcher
    searcher.close()


# The `kb` command run as a user runs it: a real process with no KB_* variables of the developer.
KB = [sys.executable, "-m", "kb"]


def kb(*args: str, index_dir: Path | None = None, cwd: Path | None = None, check: bool = True,
       env_extra: dict[str, str] | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["HF_HUB_OFFLINE"] = "1"
    if index_dir is not None:
        env["KB_INDEX_DIR"] = str(index_dir)
    env.update(env_extra or {})
    result = subprocess.run([*KB, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"kb {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def kb_serve(env_extra: dict[str, str]):
    """`kb serve` as a user starts it, on a free port, until its page answers; stopped after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", **env_extra)
    process = subprocess.Popen([*KB, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            if urllib.request.urlopen(url + "_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("kb serve did not answer within 120 s:\n" + process.stdout.read())
            time.sleep(0.2)
    try:
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Ask a server to stop, then make it."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
