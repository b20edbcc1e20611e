"""kb: a searchable knowledge base with semantic retrieval for Chinese documents."""

__version__ = "0.1.0"
