"""Themes and similar practices against a judgement written before tuning, and how much the themes
move when one document is added or removed.

tests/data/practices/themes_judged.json says which of the 46 practices (the bundled corpus with the
development documents in corpus/devset) belong together. Scored:
- agreement of the themes with those groups, by pairs of practices (precision, recall, F1) and by the
  adjusted Rand index;
- similar practices: the share of practices whose first similar practice (of another unit) is one the
  judgement puts in the same group, and the same over the first three;
- churn: each development document is taken out and put back, one re-index each (the theme register
  carried through, as in an office). A theme untouched by the change (none of its practices in that
  document) is renamed if its name is gone after it, moved if it lost practices or gained others than
  that document's; a theme filter
  by every name seen before still finding its practices is counted too.

    python bench/themes.py            # everything (about 4 minutes)
    python bench/themes.py --smoke    # agreement, similarity and two documents' churn (CI)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from itertools import combinations
from pathlib import Path

import _shared

from kb.config import Settings
from kb.index.indexer import index_paths
from kb.index.store import Store
from kb.model.embedder import Embedder
from kb.practices import Catalogue, build_catalogue

ROOT = _shared.ROOT
DATA = ROOT / "tests" / "data" / "practices"


def judged() -> dict[str, str]:
    groups = json.loads((DATA / "themes_judged.json").read_text(encoding="utf-8"))["groups"]
    return {pid: group for group, members in groups.items() for pid in members}


def agreement(catalogue: Catalogue, truth: dict[str, str]) -> dict:
    theme_of = {pid: theme.name for theme in catalogue.themes for pid in theme.practice_ids}
    ids = [p.practice_id for p in catalogue.practices if p.practice_id in truth]
    together = {(a, b) for a, b in combinations(ids, 2) if theme_of[a] == theme_of[b]}
    judged_together = {(a, b) for a, b in combinations(ids, 2) if truth[a] == truth[b]}
    both = len(together & judged_together)
    precision, recall = both / max(len(together), 1), both / max(len(judged_together), 1)
    from sklearn.metrics import adjusted_rand_score

    return {"practices": len(ids), "themes": len(catalogue.themes), "pair_precision": precision,
            "pair_recall": recall, "pair_f1": 2 * precision * recall / max(precision + recall, 1e-9),
            "adjusted_rand": adjusted_rand_score([truth[i] for i in ids], [theme_of[i] for i in ids])}


def similarity(catalogue: Catalogue, truth: dict[str, str]) -> dict:
    """Over practices whose group holds a practice of another unit (else no right answer exists)."""
    first = top3 = asked = 0
    for practice in catalogue.practices:
        mates = [p for p in catalogue.practices if p.unit != practice.unit and truth.get(p.practice_id) is not None
                 and truth[p.practice_id] == truth.get(practice.practice_id)]
        if not mates:
            continue
        asked += 1
        found = [truth.get(s.practice_id) == truth[practice.practice_id] for s in catalogue.similar(practice.practice_id, 3)]
        first += bool(found[:1] and found[0])
        top3 += sum(found) / max(min(3, len(mates)), 1) if found else 0
    return {"asked": asked, "first_right": first / max(asked, 1), "top3_right": min(top3 / max(asked, 1), 1.0)}


def churn(settings: Settings, embedder: Embedder, documents: list[Path]) -> dict:
    corpus = settings.corpus_dir
    aside = corpus.parent / "aside"
    aside.mkdir(exist_ok=True)
    changes = renamed = moved = untouched = 0
    names_seen: dict[str, set[str]] = {}
    lost_filters: list[str] = []
    renamed_lines: list[str] = []
    seconds = []
    before = _catalogue(settings, embedder, seconds)
    for document in documents:
        for step in ("out", "back"):
            if step == "out":
                shutil.move(corpus / "devset" / document.name, aside / document.name)
            else:
                shutil.move(aside / document.name, corpus / "devset" / document.name)
            after = _catalogue(settings, embedder, seconds)
            changed = f"devset/{document.name}#"
            after_names = {t.name for t in after.themes}
            for theme in before.themes:
                names_seen.setdefault(theme.name, set()).update(theme.practice_ids)
                if any(pid.startswith(changed) for pid in theme.practice_ids):
                    continue
                untouched += 1
                if theme.name not in after_names:
                    renamed += 1
                    now = after.find_theme(theme.name)
                    renamed_lines.append(f"{theme.name} → {now.name if now else '—'} ({document.name} {step})")
                now = after.find_theme(theme.name)
                kept = {pid for pid in now.practice_ids if not pid.startswith(changed)} if now else set()
                moved += kept != set(theme.practice_ids)
            for name, members in names_seen.items():
                found = after.find_theme(name)
                alive = {p.practice_id for p in after.practices} & members
                if alive and (found is None or not alive & set(found.practice_ids)):
                    lost_filters.append(name)
            changes += 1
            before = after
    return {"changes": changes, "untouched_themes": untouched, "renamed": renamed, "renamed_themes": renamed_lines,
            "moved": moved,
            "names_seen": len(names_seen), "filters_lost": sorted(set(lost_filters)), "last": before,
            "catalogue_seconds_p50": sorted(seconds)[len(seconds) // 2]}


def _catalogue(settings: Settings, embedder: Embedder, seconds: list[float]) -> Catalogue:
    index_paths(settings, embedder=embedder)
    store = Store(settings.index_dir, create=False)
    try:
        started = time.perf_counter()
        catalogue = build_catalogue(store)
        seconds.append(time.perf_counter() - started)
        return catalogue
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="churn over two documents only (CI)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    truth = judged()
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        shutil.copytree(DATA / "docs", corpus / "devset")
        settings = Settings(corpus_dir=corpus, index_dir=Path(folder) / "index")
        embedder = Embedder(settings)
        catalogue = _catalogue(settings, embedder, [])
        agreed, similar = agreement(catalogue, truth), similarity(catalogue, truth)
        documents = sorted((DATA / "docs").iterdir())
        moved = churn(settings, embedder, documents[:2] if args.smoke else documents)
        drifted = agreement(moved.pop("last"), truth)
    print(f"themes: {agreed['themes']} over {agreed['practices']} judged practices; pairs: precision "
          f"{agreed['pair_precision']:.3f}, recall {agreed['pair_recall']:.3f}, F1 {agreed['pair_f1']:.3f}; "
          f"adjusted Rand {agreed['adjusted_rand']:.3f}")
    for theme in catalogue.themes:
        print(f"  {theme.theme_id:>4} {theme.name} ({len(theme.practice_ids)}): "
              + "、".join(catalogue.practice(pid).unit for pid in theme.practice_ids))
    print(f"similar practices ({similar['asked']} practices with a judged mate in another unit): first right "
          f"{similar['first_right']:.3f}, of the first three {similar['top3_right']:.3f}")
    print(f"churn over {moved['changes']} one-document changes: {moved['untouched_themes']} untouched themes, "
          f"{moved['renamed']} renamed, {moved['moved']} with other practices; {len(moved['filters_lost'])} of "
          f"{moved['names_seen']} names seen failed to find their practices at least once; catalogue p50 "
          f"{moved['catalogue_seconds_p50']:.2f} s")
    print(f"after the changes (every document back): {drifted['themes']} themes, pair F1 {drifted['pair_f1']:.3f}, "
          f"adjusted Rand {drifted['adjusted_rand']:.3f}")
    for line in moved["renamed_themes"]:
        print(f"  renamed: {line}")
    for line in moved["filters_lost"]:
        print(f"  filter lost: {line}")
    if args.json:
        args.json.write_text(json.dumps({"agreement": agreed, "similar": similar, "churn": moved, "after": drifted},
                                        ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
