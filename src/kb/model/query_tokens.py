"""Tokenizing a lone query without loading the whole vocabulary.

The bundled model's `tokenizer.json` holds 250,002 pieces; the tokenizers library needs about half a
second to read it and build its lattice, longer than the rest of a hybrid `kb search` after imports.
A Unigram tokenizer's answer for a text depends only on the pieces that occur in that text (its
lattice) and on the lowest score of the vocabulary (what an unknown character costs). So a query is
tokenized by the same library, with the same normalizer and pre-tokenizer, over a vocabulary of just
those pieces: they are looked up in a SQLite table made once from `tokenizer.json`, and the ids
mapped back. Passages in bulk keep the whole tokenizer; tests compare both on thousands of texts.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import sqlite3
import tempfile
import threading
from functools import cached_property
from pathlib import Path

from kb.cache import cache_home

log = logging.getLogger(__name__)

_SCHEMA_VERSION = 1


class PieceTable:
    """`tokenizer.json`'s pieces in SQLite, and the tokenizer around them with an empty vocabulary."""

    def __init__(self, tokenizer_json: Path):
        self.source = Path(tokenizer_json)
        # One connection serves a server's every thread (the page's sessions, the API's workers).
        self._lock = threading.Lock()

    @cached_property
    def path(self) -> Path:
        """Named after the model folder and the file's size and time: a changed file is another table."""
        stat = self.source.stat()
        name = f"{self.source.parent.name}-{stat.st_size}-{stat.st_mtime_ns}-v{_SCHEMA_VERSION}.sqlite3"
        return cache_home() / "query-pieces" / name

    @cached_property
    def _connection(self) -> sqlite3.Connection:
        """A damaged table (a disk error, a file cut short) is made again once; what fails then is raised."""
        if self.path.is_file():
            try:
                return self._open()
            except sqlite3.DatabaseError as exc:
                log.warning("making the query tokenizer's piece table %s again: %s", self.path, exc)
        self._build()
        return self._open()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            rows = connection.execute("SELECT count(*) FROM shell WHERE key IN ('tokenizer', 'meta')").fetchone()
            if rows != (2,):
                raise sqlite3.DatabaseError("the piece table is incomplete")
        except BaseException:
            connection.close()
            raise
        return connection

    def _rows(self, sql: str, parameters: list) -> list[tuple]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    @cached_property
    def shell(self) -> dict:
        """tokenizer.json with an empty vocabulary: its normalizer, pre-tokenizer and special tokens."""
        return json.loads(self._rows("SELECT value FROM shell WHERE key = 'tokenizer'", [])[0][0])

    @cached_property
    def meta(self) -> dict:
        """The id of the lowest-scored piece and the longest piece's length in characters."""
        return json.loads(self._rows("SELECT value FROM shell WHERE key = 'meta'", [])[0][0])

    def pieces(self, candidates: set[str]) -> dict[int, list]:
        """Id → [piece, score], for those of ``candidates`` that are pieces."""
        return self._select("piece", list(candidates))

    def piece_rows(self, ids: list[int]) -> dict[int, list]:
        """Id → [piece, score] of these ids."""
        return self._select("id", ids)

    def _select(self, column: str, values: list) -> dict[int, list]:
        found: dict[int, list] = {}
        for start in range(0, len(values), 500):  # under SQLite's limit on bound parameters
            part = values[start : start + 500]
            for piece, piece_id, score in self._rows(
                    f"SELECT piece, id, score FROM pieces WHERE {column} IN ({','.join('?' * len(part))})", part):
                found[piece_id] = [piece, score]
        return found

    def _build(self) -> None:
        """Once per model folder. Written under another name and renamed, so that two processes
        building at once each leave a whole table."""
        tokenizer = json.loads(self.source.read_text(encoding="utf-8"))
        model = tokenizer["model"]
        if model.get("type") != "Unigram":
            raise ValueError(f"{self.source}: a {model.get('type')} model, not Unigram")
        vocabulary = model["vocab"]
        lowest = min(range(len(vocabulary)), key=lambda i: vocabulary[i][1])
        shell = {**tokenizer, "model": {**model, "vocab": []}}
        meta = {"lowest_id": lowest, "longest": max(len(piece) for piece, _ in vocabulary)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(handle)
        temporary = Path(name)
        try:
            with sqlite3.connect(temporary) as connection:
                connection.execute("CREATE TABLE pieces (piece TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE, "
                                   "score REAL NOT NULL) WITHOUT ROWID")
                connection.execute("CREATE TABLE shell (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                connection.executemany("INSERT INTO pieces VALUES (?, ?, ?)",
                                       ((piece, i, score) for i, (piece, score) in enumerate(vocabulary)))
                connection.executemany("INSERT INTO shell VALUES (?, ?)",
                                       [("tokenizer", json.dumps(shell, ensure_ascii=False)),
                                        ("meta", json.dumps(meta))])
            connection.close()
            temporary.chmod(0o644)
            temporary.replace(self.path)
        finally:
            temporary.unlink(missing_ok=True)
        log.info("wrote the query tokenizer's piece table %s", self.path)


class QueryTokenizer:
    """Token ids of one text, as `tokenizer.json` gives them, from the pieces of that text alone."""

    def __init__(self, tokenizer_json: Path, max_tokens: int):
        self.table = PieceTable(tokenizer_json)
        self.max_tokens = max_tokens

    @cached_property
    def _added(self) -> list[dict]:
        return self.table.shell.get("added_tokens", [])

    @cached_property
    def _added_pattern(self) -> re.Pattern | None:
        """Added tokens are cut out of the raw text before normalization (tokenizers matches them first)."""
        contents = sorted((token["content"] for token in self._added), key=len, reverse=True)
        return re.compile("|".join(map(re.escape, contents))) if contents else None

    @cached_property
    def _always(self) -> dict[int, list]:
        """In every text's vocabulary: the added tokens, and the piece of the lowest score (which prices
        unknown characters)."""
        return self.table.piece_rows(sorted({token["id"] for token in self._added} | {self.table.meta["lowest_id"]}))

    @cached_property
    def _splitter(self):
        """The normalizer and pre-tokenizer alone (no vocabulary of the text's), to find the text's words."""
        return self._tokenizer_over(self._always)[0]

    def encode(self, text: str) -> list[int]:
        tokenizer, global_ids = self._tokenizer_over({**self._always, **self._pieces_of(text)})
        return [global_ids[i] for i in tokenizer.encode(text).ids]

    def _pieces_of(self, text: str) -> dict[int, list]:
        """Every piece that is a substring of one of the text's words."""
        segments = self._added_pattern.split(text) if self._added_pattern else [text]
        longest = self.table.meta["longest"]
        candidates: set[str] = set()
        for segment in segments:
            normalized = self._splitter.normalizer.normalize_str(segment)
            for word, _ in self._splitter.pre_tokenizer.pre_tokenize_str(normalized):
                for start in range(len(word)):
                    for end in range(start + 1, min(len(word), start + longest) + 1):
                        candidates.add(word[start:end])
        return self.table.pieces(candidates)

    def _tokenizer_over(self, vocabulary: dict[int, list]):
        """The tokenizer with only ``vocabulary`` (id → [piece, score], kept in id order), and the global
        id of each of its ids."""
        from tokenizers import Tokenizer

        shell = self.table.shell
        ids = sorted(vocabulary)
        local = {global_id: i for i, global_id in enumerate(ids)}
        model = {**shell["model"], "vocab": [vocabulary[i] for i in ids]}
        if model.get("unk_id") is not None:
            model["unk_id"] = local[model["unk_id"]]
        added = [{**token, "id": local[token["id"]]} for token in self._added]
        processor = copy.deepcopy(shell.get("post_processor"))
        for special in (processor or {}).get("special_tokens", {}).values():
            special["ids"] = [local[i] for i in special["ids"]]
        tokenizer = Tokenizer.from_str(json.dumps({**shell, "model": model, "added_tokens": added,
                                                   "post_processor": processor}))
        tokenizer.enable_truncation(self.max_tokens)
        tokenizer.no_padding()
        return tokenizer, ids
