from dataclasses import replace

from ragkeeper.core.sync.chunk_writes import StoredChunk, chunk_properties, plan_chunk_writes
from ragkeeper.core.sync.embedded_text import ChunkHeader, embedded_hash, embedded_text
from ragkeeper.core.sync.ids import chunk_uuid, content_hash
from ragkeeper.models import Chunk

MODEL = "openai:text-embedding-3-small:64"
HEADER: ChunkHeader = "title_section"


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


def _stored(chunk: Chunk, model: str = MODEL, header: ChunkHeader = HEADER, **changed) -> StoredChunk:
    properties = {**chunk_properties(chunk, model, embedded_hash(chunk, header)), **changed}
    if chunk.page_number is None:
        properties["page_number"] = None  # Weaviate returns absent properties as None
    return StoredChunk((0.1, 0.2), model, properties)


def test_new_text_is_embedded():
    chunk = _chunk("brand new")
    writes = plan_chunk_writes([chunk], {}, MODEL, HEADER)
    assert writes.embed == (chunk,) and writes.rewrite == () and writes.unchanged == ()


def test_an_identical_stored_chunk_is_not_written_again():
    chunk = _chunk("same")
    writes = plan_chunk_writes([chunk], {chunk.id: _stored(chunk)}, MODEL, HEADER)
    assert writes.unchanged == (chunk.id,) and writes.reused == 1
    assert writes.embed == () and writes.rewrite == ()


def test_a_changed_property_is_rewritten_with_the_stored_vector():
    chunk = _chunk("same text", index=3, etag="e2")
    before = _chunk("same text", index=1, etag="e1")
    writes = plan_chunk_writes([chunk], {chunk.id: _stored(before)}, MODEL, HEADER)
    assert writes.embed == () and writes.unchanged == ()
    (rewritten,) = writes.rewrite
    assert rewritten.chunk == chunk and rewritten.vector == (0.1, 0.2) and rewritten.model_id == MODEL


def test_a_page_number_that_appeared_or_vanished_is_a_change():
    with_page = _chunk("text", page=2)
    without = _chunk("text")
    assert plan_chunk_writes([with_page], {with_page.id: _stored(without)}, MODEL, HEADER).rewrite
    assert plan_chunk_writes([without], {without.id: _stored(with_page)}, MODEL, HEADER).rewrite


def test_a_vector_of_another_model_is_never_reused():
    chunk = _chunk("text")
    writes = plan_chunk_writes([chunk], {chunk.id: _stored(chunk, model="hashing-v2-64")}, MODEL, HEADER)
    assert writes.embed == (chunk,) and writes.reused == 0


def test_each_chunk_of_a_batch_is_decided_on_its_own():
    same, moved, new = _chunk("one"), _chunk("two", index=1), _chunk("three", index=2)
    stored = {same.id: _stored(same), moved.id: _stored(replace(moved, chunk_index=5))}
    writes = plan_chunk_writes([same, moved, new], stored, MODEL, HEADER)
    assert (writes.unchanged, [c.chunk for c in writes.rewrite], writes.embed) == (
        (same.id,),
        [moved],
        (new,),
    )


def test_a_changed_title_re_embeds_when_headers_are_on_and_only_rewrites_when_they_are_off():
    chunk = replace(_chunk("same text"), title="New title")
    before = _chunk("same text")  # title "A"
    assert plan_chunk_writes([chunk], {chunk.id: _stored(before)}, MODEL, "title_section").embed == (chunk,)
    assert plan_chunk_writes([chunk], {chunk.id: _stored(before)}, MODEL, "title").embed == (chunk,)
    off = plan_chunk_writes([chunk], {chunk.id: _stored(before, header="none")}, MODEL, "none")
    assert off.embed == () and [c.chunk for c in off.rewrite] == [chunk]
    # A changed section matters only to the header that shows it.
    moved = replace(_chunk("same text"), section="Elsewhere")
    assert plan_chunk_writes([moved], {moved.id: _stored(before)}, MODEL, "title_section").embed == (moved,)
    title_only = plan_chunk_writes([moved], {moved.id: _stored(before, header="title")}, MODEL, "title")
    assert title_only.embed == () and title_only.rewrite


def test_a_new_header_setting_re_embeds_everything_once():
    chunk = _chunk("text")
    assert plan_chunk_writes([chunk], {chunk.id: _stored(chunk, header="none")}, MODEL, HEADER).embed == (
        chunk,
    )


def test_chunks_stored_before_embedded_hashes_existed_embedded_their_text_alone():
    chunk = _chunk("older text")
    legacy = _stored(chunk, header="none")
    legacy = StoredChunk(
        legacy.vector, legacy.model_id, {k: v for k, v in legacy.properties.items() if k != "embedded_hash"}
    )
    kept = plan_chunk_writes([chunk], {chunk.id: legacy}, MODEL, "none")
    assert kept.embed == () and [c.embedded_hash for c in kept.rewrite] == [content_hash("older text")]
    assert plan_chunk_writes([chunk], {chunk.id: legacy}, MODEL, HEADER).embed == (chunk,)


def test_the_embedded_text_carries_the_header_the_stored_text_does_not():
    chunk = replace(_chunk("Body."), title="  Debian   FAQ ", section="Basics")
    assert embedded_text(chunk, "title_section") == "Debian FAQ > Basics\n\nBody."
    assert embedded_text(chunk, "title") == "Debian FAQ\n\nBody."
    assert embedded_text(chunk, "none") == "Body."
    assert embedded_text(replace(chunk, section="debian faq"), "title_section") == "Debian FAQ\n\nBody."
    assert embedded_text(replace(chunk, title="", section="Basics"), "title_section") == "Basics\n\nBody."
    assert embedded_text(replace(chunk, title="", section=""), "title_section") == "Body."
    assert chunk.text == "Body."
