"""The chunk collection's schema (version `core.sync.generations.SCHEMA_VERSION`), stated in full.

Weaviate cannot change a property's tokenization or index settings once the collection exists, so
any change here bumps the schema version and is built as a new generation (blue/green).

Version 2, tuned for BM25 and exact filters:
- `text` is word-tokenized and searchable; the collection's stopwords (English preset) and BM25
  parameters are set explicitly rather than left to server defaults;
- `title` and `section` are word-tokenized and searchable (queries may weight them);
- keys, ids, ETags and hashes are whole-field tokens, filterable but never searchable, so they
  neither pollute BM25 statistics nor match words;
- `source_key` (SHA-256 of the source URI) is what selects a source's chunks: it matches exactly,
  where the URI itself would match other URIs that differ only by surrounding whitespace.
Version 1 (earlier releases) had default tokenization everywhere and no `source_key`.

`embedded_hash` (the hash of the text a chunk's vector was computed from, contextual header
included) is neither searchable nor filterable. Collections created before it existed get it added
in place on their first write (`ADDED_LATER`): Weaviate can add a property, and objects written
before it simply have none, which `core.sync.embedded_text.stored_embedded_hash` understands.
"""

from __future__ import annotations

from typing import Any

# The BM25 parameters and stopword preset of the collection (Weaviate's documented defaults, set
# explicitly so a server default can never change what a generation ranks).
BM25_B = 0.75
BM25_K1 = 1.2
STOPWORDS_PRESET = "en"

SEARCHABLE_TEXT = ("text", "title", "section")
KEYS = ("source_uri", "source_key", "source_etag", "content_hash", "embedding_model", "file_type")
INTEGERS = ("chunk_index", "occurrence", "page_number")
EXACT_KEY = "source_key"
EMBEDDED_HASH = "embedded_hash"


def embedded_hash_property() -> Any:
    """`embedded_hash`: stored for the vector-reuse decision only, never searched or filtered."""
    from weaviate.classes.config import DataType, Property, Tokenization

    return Property(
        name=EMBEDDED_HASH,
        data_type=DataType.TEXT,
        tokenization=Tokenization.FIELD,
        index_searchable=False,
        index_filterable=False,
    )


def chunk_properties() -> list[Any]:
    """The `Property` list of a new chunk collection."""
    from weaviate.classes.config import DataType, Property, Tokenization

    return [
        # The body is searched, never filtered on: no filterable index for it.
        Property(
            name="text",
            data_type=DataType.TEXT,
            tokenization=Tokenization.WORD,
            index_searchable=True,
            index_filterable=False,
        ),
        *(
            Property(
                name=name,
                data_type=DataType.TEXT,
                tokenization=Tokenization.WORD,
                index_searchable=True,
                index_filterable=True,
            )
            for name in SEARCHABLE_TEXT[1:]
        ),
        *(
            Property(
                name=name,
                data_type=DataType.TEXT,
                tokenization=Tokenization.FIELD,
                index_searchable=False,
                index_filterable=True,
            )
            for name in KEYS
        ),
        *(
            Property(
                name=name,
                data_type=DataType.INT,
                index_filterable=True,
                index_range_filters=name == "page_number",
            )
            for name in INTEGERS
        ),
        embedded_hash_property(),
    ]


def inverted_index_config() -> Any:
    """The collection-level keyword settings: stopwords and BM25 parameters."""
    from weaviate.classes.config import Configure, StopwordsPreset

    return Configure.inverted_index(
        bm25_b=BM25_B,
        bm25_k1=BM25_K1,
        stopwords_preset=StopwordsPreset(STOPWORDS_PRESET),
    )
