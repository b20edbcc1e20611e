"""kb reads jieba's dictionary from a cache of its own (kb.tokenize): the very dictionary jieba loads
itself, and a damaged cache is made again, never read as a smaller dictionary."""

from __future__ import annotations

import os
import subprocess
import sys

import jieba
import pytest

from kb.tokenize import _dictionary_bytes, dictionary_cache_path, read_dictionary

QUESTIONS = ["委员工作室怎么建设", "民盟45721智库模式", "人民政府的职责", "黑土地保护", "政协委员履职平台"]
PRINT_TOKENS = ("import json, sys; from kb.tokenize import tokenize; "
                f"print(json.dumps([tokenize(q) for q in {QUESTIONS!r}], ensure_ascii=False))")


def test_the_cache_holds_jiebas_own_dictionary(tmp_path):
    own = jieba.Tokenizer()
    own.initialize()
    path = tmp_path / "dict.bin"
    path.write_bytes(_dictionary_bytes(own.FREQ, own.total))
    frequencies, total = read_dictionary(path)
    assert total == own.total
    assert frequencies == own.FREQ


def _tokens(cache_home) -> tuple[str, str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run([sys.executable, "-c", PRINT_TOKENS], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    return done.stdout, done.stderr


def test_a_process_writes_reads_and_repairs_the_cache(tmp_path, monkeypatch):
    own = jieba.Tokenizer()
    own.initialize()
    expected = [[t.lower() for t in own.cut_for_search(q)] for q in QUESTIONS]

    first, _ = _tokens(tmp_path)  # no cache: jieba's own load, then the cache is written
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = dictionary_cache_path()
    assert cached.is_file()
    second, _ = _tokens(tmp_path)  # read from the cache
    assert first == second
    for tokens, jieba_tokens in zip(__import__("json").loads(second), expected):
        assert set(tokens) <= set(jieba_tokens) and tokens

    whole = cached.read_bytes()
    for damage in (whole[: len(whole) // 2], b"KBJIEBA1" + b"\xff" * 64, b"not a cache"):
        cached.write_bytes(damage)
        again, warned = _tokens(tmp_path)
        assert again == first
        assert cached.read_bytes() == whole  # made again, whole
        if damage.startswith(b"KBJIEBA1"):
            assert "rebuilding kb's cache of jieba's dictionary" in warned


def test_a_damaged_cache_is_refused_with_its_reason(tmp_path):
    path = tmp_path / "dict.bin"
    path.write_bytes(_dictionary_bytes({"政协": 10, "政": 0}, 10)[:-3])
    with pytest.raises(ValueError, match="truncated|words for"):
        read_dictionary(path)
