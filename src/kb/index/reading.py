"""What searchers, the catalogue and the status pages read from an index's database: passages and
their filters, keyword matches, vectors, practices, facets and counts. A base of kb.index.store.Store,
kept apart from the writes (documents, generations, the embedding cache)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from kb.records import FILTER_FIELDS, PracticeSpan


def filter_column(field: str) -> str:
    """The SQL column behind a filter field (kb.records.FILTER_FIELDS) that is stored as one."""
    spec = FILTER_FIELDS[field]
    return f"{'d' if spec.of_document else 'c'}.{spec.column}"


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's variable-length integer at ``at`` (big-endian groups of 7 bits, the ninth byte whole)
    and where the next one starts."""
    value = 0
    for offset in range(8):
        byte = data[at + offset]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + offset + 1
    return (value << 8) | data[at + 8], at + 9


class StoreReads:
    db: sqlite3.Connection
    path: Path

    def chunk_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    # -- passages, for search ------------------------------------------------------------
    def keyword_search(self, match: str, limit: int, allowed_sql: tuple[str, list] | None) -> list[tuple[int, float]]:
        sql = "SELECT rowid, bm25(chunk_fts) FROM chunk_fts WHERE chunk_fts MATCH ?"
        params: list = [match]
        if allowed_sql:
            sql += f" AND rowid IN ({allowed_sql[0]})"
            params += allowed_sql[1]
        sql += " ORDER BY bm25(chunk_fts) LIMIT ?"
        return [(row[0], -row[1]) for row in self.db.execute(sql, [*params, limit])]

    def substring_search(self, needle: str, limit: int, allowed_sql: tuple[str, list] | None) -> list[tuple[int, float]]:
        """Chunks containing ``needle`` literally, most occurrences first: for queries too short
        for the word index (a single character)."""
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sql = (
            "SELECT c.chunk_id, (length(c.context || c.text) - length(replace(c.context || c.text, ?, ''))) * 1.0"
            " / length(?) AS n FROM chunks c WHERE (c.context || c.text) LIKE ? ESCAPE '\\'"
        )
        params: list = [needle, needle, f"%{escaped}%"]
        if allowed_sql:
            sql += f" AND c.chunk_id IN ({allowed_sql[0]})"
            params += allowed_sql[1]
        sql += " ORDER BY n DESC, c.chunk_id LIMIT ?"
        return [(row[0], float(row[1])) for row in self.db.execute(sql, [*params, limit])]

    def filter_sql(self, filters: dict[str, list[str]], within: Sequence[int] | None = None) -> tuple[str, list] | None:
        """SQL selecting the chunk ids that pass ``filters`` (values of one field are OR-ed) and,
        when given, are among the chunk ids ``within`` (a theme's practices)."""
        if not filters and within is None:
            return None
        clauses, params = [], []
        if within is not None:
            clauses.append(f"c.chunk_id IN ({','.join('?' * len(within))})" if within else "0")
            params += [int(i) for i in within]
        for field, values in filters.items():
            spec = FILTER_FIELDS.get(field)
            if spec is None or not spec.column:
                raise ValueError(f"not a stored filter field: {field!r}")
            clauses.append(f"{filter_column(field)} IN ({','.join('?' * len(values))})")
            params += [spec.stored(v) for v in values]
        where = " AND ".join(clauses)
        return f"SELECT c.chunk_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE {where}", params

    def chunk_ids(self) -> np.ndarray:
        """Every chunk id of the generation, ascending."""
        return np.fromiter((r[0] for r in self.db.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")),
                           dtype=np.int64)

    def chunk_ids_for(self, allowed_sql: tuple[str, list]) -> np.ndarray:
        return np.array([r[0] for r in self.db.execute(*allowed_sql)], dtype=np.int64)

    def chunk_rows(self, chunk_ids: Sequence[int]) -> dict[int, dict]:
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        cursor = self.db.execute(
            "SELECT c.chunk_id, c.doc_id, c.ordinal, c.text, c.context, c.heading_path, c.start, c.end, c.unit,"
            " c.unit_type, c.page, c.kind, d.title, d.year, d.doc_type, d.source FROM chunks c JOIN documents d"
            f" ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({marks})",
            list(chunk_ids),
        )
        names = [col[0] for col in cursor.description]
        rows = {}
        for row in cursor:
            record = dict(zip(names, row))
            record["heading_path"] = json.loads(record["heading_path"])
            rows[record["chunk_id"]] = record
        return rows

    # -- reading for the practices layer ----------------------------------------------------
    def practices(self) -> list[tuple[str, PracticeSpan]]:
        """Every practice the detector found, as (document, span), in document order."""
        cursor = self.db.execute(
            "SELECT doc_id, unit, unit_type, title, heading, start, end, year, layout FROM practices"
            " ORDER BY doc_id, ordinal"
        )
        return [(row[0], PracticeSpan(unit=row[1], unit_type=row[2], title=row[3], heading=row[4], start=row[5],
                                      end=row[6], year=row[7], layout=row[8])) for row in cursor]

    def chunk_spans(self, doc_ids: Iterable[str]) -> dict[str, list[tuple[int, int, int]]]:
        """(chunk id, start, end) of every chunk of these documents, in document order."""
        found: dict[str, list[tuple[int, int, int]]] = {}
        wanted = list(doc_ids)
        for begin in range(0, len(wanted), 500):
            batch = wanted[begin : begin + 500]
            marks = ",".join("?" * len(batch))
            for chunk_id, doc_id, start, end in self.db.execute(
                f"SELECT chunk_id, doc_id, start, end FROM chunks WHERE doc_id IN ({marks}) ORDER BY doc_id, ordinal",
                batch,
            ):
                found.setdefault(doc_id, []).append((chunk_id, start, end))
        return found

    def documents_with_text(self, doc_ids: Iterable[str]) -> dict[str, dict]:
        wanted = list(doc_ids)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        cursor = self.db.execute(
            f"SELECT doc_id, title, unit, unit_type, year, doc_type, text FROM documents WHERE doc_id IN ({marks})",
            wanted,
        )
        names = [col[0] for col in cursor.description]
        return {row[0]: dict(zip(names, row)) for row in cursor}

    def chunk_tokens(self, chunk_ids: Sequence[int]) -> dict[int, set[str]]:
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        return {
            row[0]: set(row[1].split())
            for row in self.db.execute(f"SELECT rowid, tokens FROM chunk_fts WHERE rowid IN ({marks})", list(chunk_ids))
        }

    def chunk_token_text(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The keyword index's text of each chunk: its jieba search tokens, in order, space-joined."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        return dict(self.db.execute(f"SELECT rowid, tokens FROM chunk_fts WHERE rowid IN ({marks})", list(chunk_ids)))

    def law_titles(self) -> list[str]:
        """Titles of the laws, regulations and policy documents (the law-first rule looks for them)."""
        return [row[0] for row in self.db.execute(
            "SELECT DISTINCT d.title FROM documents d WHERE d.doc_type IN ('法律法规', '政策文件') AND d.title != ''")]

    def chunk_kinds(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for start in range(0, len(chunk_ids), 500):
            batch = list(chunk_ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            found.update(self.db.execute(f"SELECT chunk_id, kind FROM chunks WHERE chunk_id IN ({marks})", batch))
        return found

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """In how many chunks each term occurs (0 for a term no chunk has)."""
        terms = list(dict.fromkeys(terms))
        found = {term: 0 for term in terms}
        for term in terms:
            row = self.db.execute("SELECT doc FROM chunk_vocab WHERE term = ?", (term,)).fetchone()
            if row:
                found[term] = row[0]
        return found

    def vocabulary(self) -> dict[str, int]:
        """Every indexed term with the number of chunks it occurs in."""
        return dict(self.db.execute("SELECT term, doc FROM chunk_vocab"))

    def keyword_totals(self) -> tuple[int, int]:
        """The passages and tokens FTS5's bm25() counts (its "averages" record, id 1 of the index's
        data table: varints of the row count, then the token count of each column; the file format
        SQLite keeps). Read in one lookup, where summing the vocabulary reads every posting."""
        row = self.db.execute("SELECT block FROM chunk_fts_data WHERE id = 1").fetchone()
        if row is None:
            return 0, 0
        passages, at = _varint(row[0], 0)
        tokens, _ = _varint(row[0], at)
        return passages, tokens

    def neighbour_ids(self, chunk_id: int, before: int, after: int) -> list[int]:
        row = self.db.execute("SELECT doc_id, ordinal FROM chunks WHERE chunk_id = ?", (chunk_id,)).fetchone()
        if row is None:
            return []
        return [
            r[0]
            for r in self.db.execute(
                "SELECT chunk_id FROM chunks WHERE doc_id = ? AND ordinal BETWEEN ? AND ? ORDER BY ordinal",
                (row[0], row[1] - before, row[1] + after),
            )
        ]

    def section_text(self, chunk_id: int) -> str:
        """The whole section (practice, article) a chunk belongs to, from the document's text."""
        row = self.db.execute("SELECT doc_id, heading_path FROM chunks WHERE chunk_id = ?", (chunk_id,)).fetchone()
        if row is None:
            return ""
        span = self.db.execute(
            "SELECT min(start), max(end) FROM chunks WHERE doc_id = ? AND heading_path = ?", row
        ).fetchone()
        text = self.db.execute(
            "SELECT substr(text, ? + 1, ? - ?) FROM documents WHERE doc_id = ?", (span[0], span[1], span[0], row[0])
        ).fetchone()
        return text[0] if text else ""

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """Passages per value of each facet field, most first, from one pass over the passages (a pass
        per field took 5.6 s at 10⁶ passages, on the page's first render)."""
        fields = [name for name, spec in FILTER_FIELDS.items() if spec.facet]
        columns = ", ".join(filter_column(field) for field in fields)
        facets: dict[str, Counter] = {field: Counter() for field in fields}
        rows = self.db.execute(f"SELECT {columns}, count(*) FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
                               f" GROUP BY {columns}")
        for *values, count in rows:
            for field, value in zip(fields, values):
                if value not in (None, ""):
                    facets[field][str(value)] += count
        return {field: dict(counts.most_common()) for field, counts in facets.items()}

    def stats(self) -> dict:
        docs = self.db.execute("SELECT count(*), max(indexed_at) FROM documents").fetchone()
        return {
            "documents": docs[0],
            "chunks": self.chunk_count(),
            "last_indexed": docs[1],
            "cached_embeddings": self.db.execute("SELECT count(*) FROM embeddings").fetchone()[0],
            "database_bytes": self.path.stat().st_size if self.path.exists() else 0,
        }

    def documents(self) -> list[dict]:
        cursor = self.db.execute(
            "SELECT d.doc_id, d.title, d.unit, d.unit_type, d.year, d.doc_type, d.indexed_at, coalesce(n.chunks, 0)"
            " AS chunks FROM documents d LEFT JOIN (SELECT doc_id, count(*) AS chunks FROM chunks GROUP BY doc_id) n"
            " ON n.doc_id = d.doc_id ORDER BY d.doc_id"
        )
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row)) for row in cursor]
