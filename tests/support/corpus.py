"""Generated documents for the fault suite and the soak: distinct, small, several chunks each."""

from __future__ import annotations

import random
from collections.abc import Mapping

_TOPICS = (
    "rotating the API keys of the billing service",
    "restoring the vector database from a snapshot",
    "onboarding a new engineer to the data platform",
    "paging the on-call engineer during an outage",
    "upgrading the object storage gateway",
    "reviewing the retention policy of audit logs",
    "tuning the batch size of the embedding workers",
    "replacing a failed disk in the storage cluster",
)


def markdown(n: int, variant: str = "", sections: int = 3) -> bytes:
    """Document number `n` in Markdown: a title and `sections` sections, each about 150 characters."""
    parts = [f"# Runbook {n}{variant}\n"]
    for s in range(sections):
        topic = _TOPICS[(n + s) % len(_TOPICS)]
        parts.append(
            f"## Step {s} of runbook {n}\n\nRunbook {n}{variant}, step {s}: this part covers {topic}. "
            f"Follow it in order and write down what you changed (item {n}-{s}).\n"
        )
    return "\n".join(parts).encode()


def html(n: int, sections: int = 3) -> bytes:
    """Document number `n` as a small HTML page."""
    body = "".join(
        f"<h2>Section {s} of page {n}</h2><p>Page {n}, section {s}: "
        f"{_TOPICS[(n * 3 + s) % len(_TOPICS)]}, explained for the operations team (ref {n}.{s}).</p>"
        for s in range(sections)
    )
    return f"<html><head><title>Page {n}</title></head><body><h1>Page {n}</h1>{body}</body></html>".encode()


def text(n: int, paragraphs: int = 3) -> bytes:
    """Document number `n` as plain text paragraphs."""
    return "\n\n".join(
        f"Note {n}, paragraph {p}. The team agreed on {_TOPICS[(n + 2 * p) % len(_TOPICS)]} "
        f"and recorded the decision under number {n * 100 + p}."
        for p in range(paragraphs)
    ).encode()


def runbooks(count: int, start: int = 0) -> dict[str, bytes]:
    """`count` Markdown documents keyed `doc<n>.md`."""
    return {f"doc{n}.md": markdown(n) for n in range(start, start + count)}


def mixed(count: int, seed: int = 7) -> dict[str, bytes]:
    """`count` documents of mixed types and sizes (Markdown, HTML, text), reproducible from `seed`."""
    rng = random.Random(seed)
    documents: dict[str, bytes] = {}
    for n in range(count):
        kind = n % 3
        size = rng.randint(1, 8)
        if kind == 0:
            documents[f"md/doc{n:04}.md"] = markdown(n, sections=size)
        elif kind == 1:
            documents[f"html/page{n:04}.html"] = html(n, sections=size)
        else:
            documents[f"txt/note{n:04}.txt"] = text(n, paragraphs=size)
    return documents


def put_all(s3: object, bucket: str, prefix: str, documents: Mapping[str, bytes]) -> None:
    """Upload `documents` under `prefix` (keys relative to it)."""
    for key, body in documents.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}{key}", Body=body)  # type: ignore[attr-defined]
