"""The index on disk: the SQLite store (`store`), FAISS vectors (`vectors`), the incremental indexer with
generations and the writer lock (`indexer`), integrity check and repair (`integrity`) and the change
log beside it (`audit`, written by the indexer, so it lives here rather than in `office`)."""
