"""The one tokenizer for the lexical index, used by indexing and querying alike."""

from __future__ import annotations

import json
import logging
import re
import struct
import threading
import zlib
from pathlib import Path

import jieba
import numpy as np

from kb.cache import cache_home, write_atomically

log = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)  # jieba prints its dictionary load at DEBUG through its own handler
_INIT_LOCK = threading.Lock()
_WORD = re.compile(r"\w", re.UNICODE)
# Function and question words that say nothing about a practice or an article.
STOP_WORDS = frozenset(
    ["的", "了", "和", "与", "及", "或", "是", "在", "对", "把", "被", "将", "于", "以", "之", "其", "这", "那", "有", "也", "都", "就", "而", "并", "等", "吗", "呢", "吧", "啊", "呀", "哪个", "哪些", "哪里", "什么", "怎么", "怎样", "如何", "为什么", "是否", "可以", "能否", "一个", "谁", "我", "你", "他", "她", "我们", "他们"]
)
_DICTIONARY_MAGIC = b"KBJIEBA1"


def _ensure_initialized() -> None:
    if not jieba.dt.initialized:
        with _INIT_LOCK:
            if not jieba.dt.initialized:
                _load_dictionary()


def tokenize(text: str) -> list[str]:
    """jieba search-mode tokens, lower-cased, without punctuation, whitespace or stop words."""
    _ensure_initialized()
    tokens = []
    for token in jieba.cut_for_search(text):
        token = token.strip().lower()
        if token and _WORD.search(token) and token not in STOP_WORDS:
            tokens.append(token)
    return tokens


def _load_dictionary() -> None:
    """jieba's prefix dictionary (half a million words and prefixes with their counts), read from kb's
    cache of it. jieba's own cache is a marshal dump that takes about 0.9 s to read, most of a keyword
    `kb search`'s start; the same dictionary as one text of words and an array of counts reads in
    about 0.15 s. The cache is made from jieba's own load once, so both give the very same dictionary."""
    path = dictionary_cache_path()
    try:
        frequencies, total = read_dictionary(path)
    except (OSError, ValueError) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("rebuilding kb's cache of jieba's dictionary %s: %s", path, exc)
        jieba.initialize()
        try:
            write_atomically(path, _dictionary_bytes(jieba.dt.FREQ, jieba.dt.total))
        except OSError as exc:  # a read-only home: every start then pays jieba's own load
            log.info("cannot cache jieba's dictionary at %s: %s", path, exc)
        return
    with jieba.dt.lock:
        jieba.dt.FREQ, jieba.dt.total = frequencies, total
        jieba.dt.initialized = True


def dictionary_cache_path() -> Path:
    """Named after jieba's version and its dictionary file's size and time, so that another jieba or
    another dictionary is never read from an old cache."""
    source = Path(jieba.__file__).parent / "dict.txt"
    stat = source.stat()
    return cache_home() / "jieba" / f"dict-{jieba.__version__}-{stat.st_size}-{stat.st_mtime_ns}.bin"


def _dictionary_bytes(frequencies: dict[str, int], total: int) -> bytes:
    words = "\n".join(frequencies).encode("utf-8")
    counts = np.fromiter(frequencies.values(), dtype="<i8", count=len(frequencies)).tobytes()
    body = counts + words
    header = json.dumps({"count": len(frequencies), "total": total, "bytes": len(body),
                         "crc32": zlib.crc32(body)}).encode("utf-8")
    return _DICTIONARY_MAGIC + struct.pack("<I", len(header)) + header + body


def read_dictionary(path: Path) -> tuple[dict[str, int], int]:
    """(word → count, total) from kb's cache; ValueError names what is wrong with a damaged file."""
    data = path.read_bytes()
    if not data.startswith(_DICTIONARY_MAGIC):
        raise ValueError("not a kb dictionary cache")
    start = len(_DICTIONARY_MAGIC) + 4
    (header_length,) = struct.unpack_from("<I", data, len(_DICTIONARY_MAGIC))
    try:
        header = json.loads(data[start : start + header_length])
        count, total, size, crc = (int(header[key]) for key in ("count", "total", "bytes", "crc32"))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable header: {exc}") from exc
    counts_at = start + header_length
    words_at = counts_at + 8 * count
    if count <= 0 or len(data) != counts_at + size or size < 8 * count:
        raise ValueError("truncated")
    if zlib.crc32(memoryview(data)[counts_at:]) != crc:
        raise ValueError("its checksum does not match")
    counts = np.frombuffer(data, dtype="<i8", count=count, offset=counts_at).tolist()
    words = data[words_at:].decode("utf-8").split("\n")
    if len(words) != count:
        raise ValueError(f"{len(words)} words for {count} counts")
    return dict(zip(words, counts)), total
