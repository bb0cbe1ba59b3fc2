"""Parser adapter: unstructured's `partition` (type detected from name and content) + chunking."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from ragkeeper.core.sync.ids import chunk_uuid, content_hash, occurrences
from ragkeeper.errors import UnsupportedDocument, first_line
from ragkeeper.models import Chunk, ParsedDocument, SourceObject
from ragkeeper.settings import ParseSettings

# unstructured prints a sales notice and pings an analytics endpoint unless told not to.
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


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

        try:
            return partition(
                file=io.BytesIO(data),
                metadata_filename=PurePosixPath(obj.key).name,
                strategy=self._settings.strategy,
                languages=self._settings.languages,
            )
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
