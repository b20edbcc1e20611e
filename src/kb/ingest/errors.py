class IngestError(ValueError):
    """A file cannot be read as a document; the message starts with the file's path."""
