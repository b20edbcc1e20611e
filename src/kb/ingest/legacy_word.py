"""Word 97-2003 `.doc`, and `.wps`, which WPS 文字 saves in the same format: the text from the
WordDocument stream's piece table (the maintained pure-Python reader `legacy-doc`), structure from
the text's own layout as in plain text (numbered titles, lines that open with a unit). The Word
paragraph styles of these files are not read, so a heading shows as one only where its words make
it one. Encrypted files and .wps files of other formats are named refusals."""

from __future__ import annotations

import struct
from pathlib import Path

from kb.ingest.document import build_document
from kb.ingest.errors import IngestError
from kb.records import Document

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED_FLAG = 0x0100  # FIB base, fEncrypted (MS-DOC 2.5.2)


def load_doc(path: Path, doc_id: str) -> Document:
    return build_document(path, doc_id, word97_text(path, path.read_bytes()), path.read_bytes())


def load_wps(path: Path, doc_id: str) -> Document:
    raw = path.read_bytes()
    if not raw.startswith(OLE_MAGIC):
        raise IngestError(path, "empty" if not raw else "wps_not_word")
    return build_document(path, doc_id, word97_text(path, raw, wps=True), raw)


def word97_text(path: Path, raw: bytes, wps: bool = False) -> str:
    """The text of a Word 97 binary file; also what an old .doc renamed .docx holds."""
    from legacy_doc import ExtractionOptions, LegacyDocError, extract_text
    from legacy_doc.ole import OleReader

    if not raw:
        raise IngestError(path, "empty")
    if not raw.startswith(OLE_MAGIC):
        raise IngestError(path, "wps_not_word" if wps else "doc_damaged", detail="not an OLE compound file")
    options = ExtractionOptions(max_file_bytes=max(len(raw), ExtractionOptions().max_file_bytes))
    try:
        ole = OleReader(raw, options=options)
        if ole.has_stream("EncryptedPackage"):  # a password-protected .docx is an OLE file too
            raise IngestError(path, "word_encrypted")
        if not ole.has_stream("WordDocument"):
            raise IngestError(path, "wps_not_word" if wps else "doc_damaged", detail="no WordDocument stream")
        stream = ole.read_stream("WordDocument")
        if len(stream) >= 0x0C and struct.unpack_from("<H", stream, 0x0A)[0] & _ENCRYPTED_FLAG:
            raise IngestError(path, "word_encrypted")
        return extract_text(raw, options=options).text.replace("\r\n", "\n").replace("\r", "\n")
    except LegacyDocError as exc:
        raise IngestError(path, "doc_damaged", detail=exc) from None
