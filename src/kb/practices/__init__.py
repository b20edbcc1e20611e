"""The learning layer: a catalogue of every unit's practice (lead, figures, keywords), themes,
similar practices and approach cards, built from the index once per generation."""

from kb.practices.atlas import MapPoint, practice_map
from kb.practices.cards import approach_cards, card_markdown, card_text
from kb.practices.catalogue import build_catalogue, figures_in, lead_of, matching
from kb.practices.export import EXPORT_FORMATS, export
from kb.practices.records import (
    ApproachCard,
    ApproachPart,
    Catalogue,
    Figure,
    Practice,
    SimilarPractice,
    Theme,
)
from kb.practices.themes import BOILERPLATE, warm

__all__ = [
    "BOILERPLATE", "EXPORT_FORMATS", "ApproachCard", "ApproachPart", "Catalogue", "Figure", "MapPoint", "Practice",
    "SimilarPractice", "Theme", "approach_cards", "build_catalogue", "card_markdown", "card_text", "export", "figures_in",
    "lead_of", "matching", "practice_map", "warm",
]
