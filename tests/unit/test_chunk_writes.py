from dataclasses import replace

from ragkeeper.core.sync.chunk_writes import StoredChunk, chunk_properties, plan_chunk_writes
from ragkeeper.core.sync.ids import chunk_uuid, content_hash
from ragkeeper.models import Chunk

MODEL = "openai:text-embedding-3-small:64"


def _chunk(text: str, index: int = 0, etag: str = "e1", page: int | None = None) -> Chunk:
    digest = content_hash(text)
    return Chunk(
        id=chunk_uuid("C", "s3://b/a.md", digest, 0),
        text=text,
        source_uri="s3://b/a.md",
        source_etag=etag,
        content_hash=digest,
        chunk_index=index,
        occurrence=0,
        file_type="text/markdown",
        title="A",
        section="Intro",
        page_number=page,
    )


def _stored(chunk: Chunk, model: str = MODEL, **changed) -> StoredChunk:
    properties = {**chunk_properties(chunk, model), **changed}
    if chunk.page_number is None:
        properties["page_number"] = None  # Weaviate returns absent properties as None
    return StoredChunk((0.1, 0.2), model, properties)


def test_new_text_is_embedded():
    chunk = _chunk("brand new")
    writes = plan_chunk_writes([chunk], {}, MODEL)
    assert writes.embed == (chunk,) and writes.rewrite == () and writes.unchanged == ()


def test_an_identical_stored_chunk_is_not_written_again():
    chunk = _chunk("same")
    writes = plan_chunk_writes([chunk], {chunk.id: _stored(chunk)}, MODEL)
    assert writes.unchanged == (chunk.id,) and writes.reused == 1
    assert writes.embed == () and writes.rewrite == ()


def test_a_changed_property_is_rewritten_with_the_stored_vector():
    chunk = _chunk("same text", index=3, etag="e2")
    before = _chunk("same text", index=1, etag="e1")
    writes = plan_chunk_writes([chunk], {chunk.id: _stored(before)}, MODEL)
    assert writes.embed == () and writes.unchanged == ()
    (rewritten,) = writes.rewrite
    assert rewritten.chunk == chunk and rewritten.vector == (0.1, 0.2) and rewritten.model_id == MODEL


def test_a_page_number_that_appeared_or_vanished_is_a_change():
    with_page = _chunk("text", page=2)
    without = _chunk("text")
    assert plan_chunk_writes([with_page], {with_page.id: _stored(without)}, MODEL).rewrite
    assert plan_chunk_writes([without], {without.id: _stored(with_page)}, MODEL).rewrite


def test_a_vector_of_another_model_is_never_reused():
    chunk = _chunk("text")
    writes = plan_chunk_writes([chunk], {chunk.id: _stored(chunk, model="hashing-v2-64")}, MODEL)
    assert writes.embed == (chunk,) and writes.reused == 0


def test_each_chunk_of_a_batch_is_decided_on_its_own():
    same, moved, new = _chunk("one"), _chunk("two", index=1), _chunk("three", index=2)
    stored = {same.id: _stored(same), moved.id: _stored(replace(moved, chunk_index=5))}
    writes = plan_chunk_writes([same, moved, new], stored, MODEL)
    assert (writes.unchanged, [c.chunk for c in writes.rewrite], writes.embed) == (
        (same.id,),
        [moved],
        (new,),
    )
