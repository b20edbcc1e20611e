"""The learning layer: a catalogue of every unit's practice (lead, figures, keywords), themes,
similar practices and approach cards, built from the index once per generation."""

from kb.practices.cards import approach_cards, card_markdown
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
from kb.practices.themes import BOILERPLATE

__all__ = [
    "BOILERPLATE", "EXPORT_FORMATS", "ApproachCard", "ApproachPart", "Catalogue", "Figure", "Practice",
    "SimilarPractice", "Theme", "approach_cards", "build_catalogue", "card_markdown", "export", "figures_in",
    "lead_of", "matching",
]
