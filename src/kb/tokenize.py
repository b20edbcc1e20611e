"""The one tokenizer for the lexical index, used by indexing and querying alike."""

from __future__ import annotations

import logging
import re
import threading

import jieba

jieba.setLogLevel(logging.WARNING)  # jieba prints its dictionary load at DEBUG through its own handler
_INIT_LOCK = threading.Lock()
_WORD = re.compile(r"\w", re.UNICODE)
# Function and question words that say nothing about a practice or an article.
STOP_WORDS = frozenset(
    ["的", "了", "和", "与", "及", "或", "是", "在", "对", "把", "被", "将", "于", "以", "之", "其", "这", "那", "有", "也", "都", "就", "而", "并", "等", "吗", "呢", "吧", "啊", "呀", "哪个", "哪些", "哪里", "什么", "怎么", "怎样", "如何", "为什么", "是否", "可以", "能否", "一个", "谁", "我", "你", "他", "她", "我们", "他们"]
)


def _ensure_initialized() -> None:
    if not jieba.dt.initialized:
        with _INIT_LOCK:
            jieba.initialize()


def tokenize(text: str) -> list[str]:
    """jieba search-mode tokens, lower-cased, without punctuation, whitespace or stop words."""
    _ensure_initialized()
    tokens = []
    for token in jieba.cut_for_search(text):
        token = token.strip().lower()
        if token and _WORD.search(token) and token not in STOP_WORDS:
            tokens.append(token)
    return tokens
