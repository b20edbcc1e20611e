"""Shared fixtures: the real default model, converted once per machine, and a small index of
the seed article plus two laws, built once per test session (helpers and paths: support.py)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from support import CORPUS, FIXTURE_LAWS, SEED

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

@pytest.fixture(autouse=True)
def _no_kb_environment(monkeypatch):
    """A developer's KB_* variables, or a Chinese locale, must not change what the tests see (the
    CLI speaks Chinese in one: tests/cli/test_cli_words.py sets it where it means to)."""
    for name in list(os.environ):
        if name.startswith("KB_") or name in ("LC_ALL", "LC_MESSAGES"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LANG", "C.UTF-8")


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


