"""Retrieval quality on BEIR-layout files (corpus.jsonl, queries.jsonl, qrels/*.tsv).

The corpus is indexed into its own folder, named by a hash of the corpus content and the
settings that change vectors or chunks, so a second run only searches; documents are ranked
by their best chunk, because relevance is judged per document.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

from pydantic import BaseModel

from kb.config import MODEL_MODES, Settings
from kb.hashing import feed_file
from kb.index.indexer import Progress, index_candidates
from kb.index.plan import Candidate
from kb.index.report import IndexReport
from kb.ingest import IngestError
from kb.ingest.beir import json_rows
from kb.model.embedder import Embedder
from kb.reasons import KbError
from kb.records import Document, DocumentMetadata, Section
from kb.search import MODES, Searcher

CUTOFFS = (10, 100)


class EvalError(KbError, ValueError):
    pass


class BeirRow(BaseModel):
    doc_id: str
    title: str
    text: str


class ModeScores(BaseModel):
    mode: str
    ndcg_at_10: float
    mrr_at_10: float
    recall_at_10: float
    recall_at_100: float
    queries: int
    seconds_per_query: float


class EvalReport(BaseModel):
    corpus: str
    documents: int
    queries: int
    index_dir: str
    index: IndexReport | None
    scores: list[ModeScores]


def read_corpus(path: Path) -> list[BeirRow]:
    rows: list[BeirRow] = []
    for number, record in _jsonl(path):
        if "_id" not in record or "text" not in record:
            raise EvalError(f"{path}:{number}: a corpus row needs '_id' and 'text'")
        rows.append(BeirRow(doc_id=str(record["_id"]), title=str(record.get("title") or ""), text=str(record["text"])))
    if not rows:
        raise EvalError(f"{path}: no documents")
    return rows


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, record in _jsonl(path):
        if "_id" not in record or "text" not in record:
            raise EvalError(f"{path}:{number}: a query row needs '_id' and 'text'")
        queries[str(record["_id"])] = str(record["text"])
    return queries


def read_qrels(path: Path) -> dict[str, set[str]]:
    """Relevant documents per query, from one TSV file or every TSV in a folder; a header row
    and 2-, 3- or 4-column (TREC) layouts are accepted, and score 0 means not relevant."""
    files = sorted(path.glob("*.tsv")) if path.is_dir() else [path]
    if not files:
        raise EvalError(f"{path}: no .tsv qrels files")
    qrels: dict[str, set[str]] = {}
    for file in files:
        try:
            with open(file, encoding="utf-8", newline="") as handle:
                for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
                    if not row or (number == 1 and row[0].lower() in ("query-id", "qid", "query_id")):
                        continue
                    if len(row) == 2:
                        qid, doc, score = row[0], row[1], "1"
                    elif len(row) == 3:
                        qid, doc, score = row
                    elif len(row) == 4:
                        qid, _, doc, score = row
                    else:
                        raise EvalError(f"{file}:{number}: expected 2 to 4 tab-separated columns")
                    try:
                        relevant = float(score) > 0
                    except ValueError:
                        raise EvalError(f"{file}:{number}: score {score!r} is not a number") from None
                    if relevant:
                        qrels.setdefault(qid.strip(), set()).add(doc.strip())
        except OSError as exc:
            raise EvalError(f"{file}: {exc.strerror or exc}") from None
    return qrels


def _jsonl(path: Path):
    try:
        with open(path, encoding="utf-8-sig") as handle:
            yield from json_rows(handle, path)
    except OSError as exc:
        raise EvalError(f"{path}: {exc.strerror or exc}") from None
    except IngestError as exc:
        raise EvalError(str(exc)) from None


def ndcg_at(ranked: list[str], relevant: set[str], k: int) -> float:
    gain = sum(1.0 / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return gain / ideal if ideal else 0.0


def mrr_at(ranked: list[str], relevant: set[str], k: int) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: list[str], relevant: set[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def _document(row: BeirRow, content_hash: str) -> Document:
    return Document(
        doc_id=row.doc_id,
        source=row.doc_id,
        text=row.text,
        metadata=DocumentMetadata(title=row.title),
        sections=[Section(heading_path=[], start=0, end=len(row.text))],
        content_hash=content_hash,
    )


def candidates_from_rows(rows: list[BeirRow]) -> list[Candidate]:
    candidates = []
    for row in rows:
        digest = hashlib.sha256(f"{row.title}\n{row.text}".encode()).hexdigest()
        candidates.append(Candidate(row.doc_id, digest, row.doc_id, lambda row=row, d=digest: _document(row, d)))
    return candidates


def eval_index_dir(settings: Settings, corpus_file: Path, identity_key: str) -> Path:
    digest = hashlib.sha256()
    feed_file(digest, corpus_file)
    digest.update(json.dumps([identity_key, settings.chunking_identity()]).encode())
    return settings.index_dir / "eval" / f"{corpus_file.parent.name}-{digest.hexdigest()[:12]}"


class EvalSet(BaseModel):
    """A judged corpus, indexed: what every quality measurement (CLI or bench/) searches."""

    corpus: str
    documents: int
    settings: Settings
    questions: dict[str, str]
    judged: dict[str, set[str]]
    asked: list[str]
    index: IndexReport | None


def prepare(
    settings: Settings,
    corpus: Path,
    queries: Path,
    qrels: Path,
    embedder: Embedder,
    progress: Progress | None = None,
    limit: int | None = None,
) -> EvalSet:
    rows = read_corpus(corpus)
    questions = read_queries(queries)
    judged = read_qrels(qrels)
    ids = {row.doc_id for row in rows}
    asked = [qid for qid in questions if judged.get(qid, set()) & ids]
    if not asked:
        raise EvalError(f"{qrels}: no query in {queries} has a relevant document in {corpus}")
    if limit:
        asked = asked[:limit]
    index_dir = eval_index_dir(settings, corpus, embedder.identity.key())
    eval_settings = settings.model_copy(update={"index_dir": index_dir})
    report = index_candidates(
        eval_settings, candidates_from_rows(rows), [""], embedder=embedder, progress=progress, unique_content=False
    )
    return EvalSet(corpus=str(corpus), documents=len(rows), settings=eval_settings, questions=questions,
                   judged=judged, asked=asked, index=report)


def score(mode: str, ranked: dict[str, list[str]], judged: dict[str, set[str]], seconds: float = 0.0) -> ModeScores:
    """Mean metrics over the queries in ``ranked`` (query id → document ids, best first)."""
    totals = {"ndcg": 0.0, "mrr": 0.0, "r10": 0.0, "r100": 0.0}
    for qid, docs in ranked.items():
        relevant = judged[qid]
        totals["ndcg"] += ndcg_at(docs, relevant, 10)
        totals["mrr"] += mrr_at(docs, relevant, 10)
        totals["r10"] += recall_at(docs, relevant, 10)
        totals["r100"] += recall_at(docs, relevant, 100)
    n = max(len(ranked), 1)
    return ModeScores(mode=mode, ndcg_at_10=totals["ndcg"] / n, mrr_at_10=totals["mrr"] / n,
                      recall_at_10=totals["r10"] / n, recall_at_100=totals["r100"] / n, queries=len(ranked),
                      seconds_per_query=seconds / n)


def documents_of(response) -> list[str]:
    """Documents in the order of their best chunk, because relevance is judged per document."""
    return list(dict.fromkeys(hit.doc_id for hit in response.hits))


def evaluate(
    settings: Settings,
    corpus: Path,
    queries: Path,
    qrels: Path,
    modes: list[str] | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
) -> EvalReport:
    modes = modes or list(MODES)
    for mode in modes:
        if mode not in MODES:
            raise EvalError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    embedder = embedder or Embedder(settings)
    judged_set = prepare(settings, corpus, queries, qrels, embedder, progress, limit)
    searcher = Searcher(judged_set.settings, embedder)
    if set(modes) & set(MODEL_MODES):
        embedder.embed_query("预热")  # the model loads here, not inside the first timed query
    scores = []
    try:
        for mode in modes:
            ranked: dict[str, list[str]] = {}
            seconds = 0.0
            for number, qid in enumerate(judged_set.asked, start=1):
                response = searcher.search(judged_set.questions[qid], mode=mode, k=max(CUTOFFS))
                seconds += response.seconds
                ranked[qid] = documents_of(response)
                if progress:
                    progress(f"searching ({mode})", number, len(judged_set.asked))
            scores.append(score(mode, ranked, judged_set.judged, seconds))
    finally:
        searcher.close()
    return EvalReport(
        corpus=str(corpus),
        documents=judged_set.documents,
        queries=len(judged_set.asked),
        index_dir=str(judged_set.settings.index_dir),
        index=judged_set.index,
        scores=scores,
    )


def format_table(report: EvalReport) -> str:
    lines = [
        f"{report.documents} documents, {report.queries} queries",
        f"{'mode':<9} {'nDCG@10':>8} {'MRR@10':>8} {'R@10':>8} {'R@100':>8} {'ms/query':>9}",
    ]
    for s in report.scores:
        lines.append(
            f"{s.mode:<9} {s.ndcg_at_10:>8.4f} {s.mrr_at_10:>8.4f} {s.recall_at_10:>8.4f}"
            f" {s.recall_at_100:>8.4f} {s.seconds_per_query * 1000:>9.1f}"
        )
    return "\n".join(lines)


class PracticeScores(BaseModel):
    """Practices found against a gold file: a found practice is right when its unit is the gold's and
    its span holds that gold practice's phrase and no other gold practice's of the document."""

    gold: int
    found: int
    right: int
    misses: list[str]
    wrong: list[str]

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.gold if self.gold else 1.0


def score_practices(folder: Path, gold: dict[str, list[dict]]) -> PracticeScores:
    """The practices the detector finds in each document of ``folder`` against ``gold``: document →
    [{"unit", "contains"}] (tests/data/practices/gold.json)."""
    from kb.ingest import load

    right, misses, wrong, total_found = 0, [], [], 0
    for doc, expected in gold.items():
        loaded = load(folder / doc, doc)
        text, spans = loaded.text, loaded.practices
        total_found += len(spans)
        matched: set[int] = set()
        for span in spans:
            inside = [i for i, g in enumerate(expected) if g["contains"] in text[span.start:span.end]]
            hit = next((i for i in inside if expected[i]["unit"] == span.unit and i not in matched), None)
            if hit is not None and len(inside) == 1:
                matched.add(hit)
                right += 1
            else:
                wrong.append(f"{doc}: {span.unit} «{span.title[:24]}» ({span.layout})")
        misses += [f"{doc}: {g['unit']} «{g['contains']}»" for i, g in enumerate(expected) if i not in matched]
    return PracticeScores(gold=sum(map(len, gold.values())), found=total_found, right=right, misses=misses,
                          wrong=wrong)
