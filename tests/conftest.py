"""Shared fixtures: the real default model, converted once per machine, and a small index of
the seed article plus two laws, built once per test session."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _session_cache() -> Path:
    """A cache folder of this test session's own (OCR results, Streamlit's static files, anything kb
    caches), so tests never write into the user's ~/.cache/kb. The converted model, which takes half a
    minute and 900 MB to make, is taken from the machine's cache by hard links where it is there
    already; readable by every user, as the `nobody` test needs."""
    machine_models = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kb" / "models"
    cache = Path(tempfile.mkdtemp(prefix="kb-test-cache-"))
    cache.chmod(0o755)
    models = cache / "kb" / "models"
    models.mkdir(parents=True)
    for path in (cache / "kb", models):
        path.chmod(0o755)
    for folder in machine_models.glob("*-v*") if machine_models.is_dir() else ():
        if folder.is_dir() and not folder.name.startswith("."):
            try:
                shutil.copytree(folder, models / folder.name, copy_function=_link_or_copy)
                for path in (models / folder.name).rglob("*"):
                    if path.is_dir():
                        path.chmod(0o755)
                (models / folder.name).chmod(0o755)
            except OSError:
                shutil.rmtree(models / folder.name, ignore_errors=True)  # converted again on first use
    atexit.register(shutil.rmtree, cache, True)
    return cache


def _link_or_copy(source: str, target: str) -> None:
    """Big files by hard link (on another file system, a copy); small ones copied; readable by all."""
    if os.path.getsize(source) > 1 << 20:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
    else:
        shutil.copy2(source, target)
    # A link shares its mode with the machine's file: 0644 is what kb writes there itself (share_tree).
    os.chmod(target, 0o644)


os.environ["XDG_CACHE_HOME"] = str(_session_cache())

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


# The `kb` command as a real process, with no KB_* variables of the developer: for what only a process
# shows (start-up, exit on a signal, another user, the terminal's encoding, servers).
KB = [sys.executable, "-m", "kb"]


@dataclasses.dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def kb_process(*args: str, index_dir: Path | None = None, cwd: Path | None = None, check: bool = True,
               env_extra: dict[str, str] | None = None) -> Ran:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["HF_HUB_OFFLINE"] = "1"
    if index_dir is not None:
        env["KB_INDEX_DIR"] = str(index_dir)
    env.update(env_extra or {})
    result = subprocess.run([*KB, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False)
    return _checked(Ran(result.returncode, result.stdout, result.stderr), args, check)


def kb(*args: str, index_dir: Path | None = None, cwd: Path | None = None, check: bool = True,
       env_extra: dict[str, str] | None = None) -> Ran:
    """The `kb` command run in this process by click's runner: the same command line, exit code,
    stdout and stderr as a user gets, without a new interpreter's start-up (about 70 tests run it)."""
    from click.testing import CliRunner

    from kb.cli import main

    env = {"KB_INDEX_DIR": str(index_dir) if index_dir is not None else None, **(env_extra or {})}
    with contextlib.chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # What a process would print: the traceback of an exception the command did not handle.
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        return _checked(Ran(1, result.stdout, result.stderr + trace), args, check)
    return _checked(Ran(result.exit_code, result.stdout, result.stderr), args, check)


def _checked(result: Ran, args, check: bool) -> Ran:
    if check and result.returncode != 0:
        raise AssertionError(f"kb {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def kb_serve(env_extra: dict[str, str]):
    """`kb serve` as a user starts it, on a free port, until its page answers; stopped after.
    Streamlit takes a port number, not 0: when another process took the port meanwhile, the server
    ends at once and the next free port is tried."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", **env_extra)
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen([*KB, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}/"
        if _answers(url + "_stcore/health", process, deadline=time.monotonic() + 120):
            break
        output = process.stdout.read()
        if "already in use" not in output:
            pytest.fail("kb serve did not answer within 120 s:\n" + output)
    try:
        yield url
    finally:
        stop(process)


def _answers(url: str, process: subprocess.Popen, deadline: float) -> bool:
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return True
        except OSError:
            time.sleep(0.2)
    process.kill()
    return False


def stop(process: subprocess.Popen) -> None:
    """Ask a server to stop, then make it."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
