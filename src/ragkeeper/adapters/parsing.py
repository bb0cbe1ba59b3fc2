"""Parser adapter: unstructured's `partition` (type detected from name and content) + chunking."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from ragkeeper.adapters.batched_nlp import partition_twice
from ragkeeper.core.sync.ids import chunk_uuid, content_hash, occurrences
from ragkeeper.errors import UnsupportedDocument, first_line
from ragkeeper.models import Chunk, ParsedDocument, SourceObject
from ragkeeper.settings import ParseSettings

# unstructured prints a sales notice and pings an analytics endpoint unless told not to.
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


# Partitioners `partition()` may pick; importing them up front lets forked parse workers share them.
_PARTITIONERS = ("html", "text", "md", "docx", "pptx", "csv", "email", "json", "xml", "pdf")


def preload_partitioners() -> None:
    """Import unstructured's partitioners and chunkers, and run a tiny parse that loads its models."""
    import importlib

    for name in _PARTITIONERS:
        importlib.import_module(f"unstructured.partition.{name}")
    importlib.import_module("unstructured.chunking.basic")
    importlib.import_module("unstructured.chunking.title")
    sample = SourceObject(uri="file:///warm-up.md", key="warm-up.md", size=0, etag="")
    UnstructuredParser(ParseSettings()).parse(sample, b"# Warm up\n\nA short paragraph of text.\n", "Warm")


class UnstructuredParser:
    """Partitions documents with unstructured and cuts them into chunks."""

    def __init__(self, settings: ParseSettings) -> None:
        from ragkeeper.adapters.spacy_model import ensure_spacy_model

        ensure_spacy_model()
        self._settings = settings

    def parse(self, obj: SourceObject, data: bytes, collection: str) -> ParsedDocument:
        """Partition and chunk one document; UnsupportedDocument when nothing usable comes out."""
        if not data.strip():
            raise UnsupportedDocument(f"{obj.uri}: empty file")
        elements = self._partition(obj, data)
        texts = [e for e in elements if (e.text or "").strip()]
        if not texts:
            raise UnsupportedDocument(f"{obj.uri}: no text could be extracted")
        chunks = self._to_chunks(obj, self._chunk(texts), collection, _document_title(texts, obj.key))
        is_pdf = any(e.metadata.filetype == "application/pdf" for e in texts)
        return ParsedDocument(
            obj=obj,
            chunks=tuple(chunks),
            text="\n\n".join(e.text for e in texts),
            element_count=len(texts),
            page_count=_pdf_page_count(data) if is_pdf else None,
            pages_with_text=len({e.metadata.page_number for e in texts if e.metadata.page_number})
            if is_pdf
            else None,
        )

    def _partition(self, obj: SourceObject, data: bytes) -> list[Any]:
        from unstructured.partition.auto import partition

        name = PurePosixPath(obj.key).name

        def partition_once() -> list[Any]:
            return partition(
                file=io.BytesIO(data),
                metadata_filename=name,
                strategy=self._settings.strategy,
                languages=self._settings.languages,
            )

        try:
            if _heuristics_dominate(data, name):
                return partition_twice(partition_once)
            return partition_once()
        except Exception as error:
            raise UnsupportedDocument(f"{obj.uri}: cannot parse ({first_line(error, 200)})") from error

    def _chunk(self, elements: Sequence[Any]) -> list[Any]:
        s = self._settings
        if s.chunking == "basic":
            from unstructured.chunking.basic import chunk_elements

            return chunk_elements(
                list(elements),
                max_characters=s.max_characters,
                new_after_n_chars=s.new_after_n_chars,
                overlap=s.overlap,
                include_orig_elements=True,
            )
        from unstructured.chunking.title import chunk_by_title

        return chunk_by_title(
            list(elements),
            max_characters=s.max_characters,
            new_after_n_chars=s.new_after_n_chars,
            overlap=s.overlap,
            combine_text_under_n_chars=s.combine_under_n_chars,
            # Sections end at page breaks, so most chunks sit on one page and cite it exactly;
            # sections shorter than combine_under_n_chars may still be merged across pages.
            multipage_sections=False,
            include_orig_elements=True,
        )

    @staticmethod
    def _to_chunks(obj: SourceObject, pieces: Sequence[Any], collection: str, title: str) -> list[Chunk]:
        texts = [piece.text for piece in pieces]
        hashes = [content_hash(text) for text in texts]
        chunks = []
        for index, (piece, text, digest, occurrence) in enumerate(
            zip(pieces, texts, hashes, occurrences(hashes), strict=True)
        ):
            metadata = piece.metadata
            # orig_elements (the full source elements, often larger than the chunk) is only read
            # here for the section heading and never stored.
            originals = metadata.orig_elements or []
            chunks.append(
                Chunk(
                    id=chunk_uuid(collection, obj.uri, digest, occurrence),
                    text=text,
                    source_uri=obj.uri,
                    source_etag=obj.etag,
                    content_hash=digest,
                    chunk_index=index,
                    occurrence=occurrence,
                    file_type=metadata.filetype or "",
                    title=title,
                    section=_section(originals),
                    page_number=metadata.page_number,
                )
            )
        return chunks


def _heuristics_dominate(data: bytes, name: str) -> bool:
    """Whether unstructured's spaCy heuristics are most of this document's parse time (HTML, text).

    Those documents are parsed twice with the heuristics batched (`batched_nlp`); for the others
    (PDF, Office files) reading the format costs more than a second pass saves.
    """
    from unstructured.file_utils.filetype import detect_filetype
    from unstructured.file_utils.model import FileType

    try:
        file_type = detect_filetype(file=io.BytesIO(data), metadata_file_path=name)
    except Exception:  # partition() detects again and reports the problem
        return False
    return file_type in (FileType.HTML, FileType.TXT, FileType.MD)


def _document_title(elements: Sequence[Any], key: str) -> str:
    for element in elements:
        if element.category == "Title" and element.text.strip():
            return element.text.strip()[:300]
    return PurePosixPath(key).stem


def _section(originals: Sequence[Any]) -> str:
    for element in originals:
        if element.category == "Title" and element.text.strip():
            return element.text.strip()[:300]
    return ""


def _pdf_page_count(data: bytes) -> int | None:
    """Pages in a PDF according to pypdf (None if pypdf cannot tell)."""
    from pypdf import PdfReader

    try:
        return len(PdfReader(io.BytesIO(data)).pages)
    except Exception:
        return None
