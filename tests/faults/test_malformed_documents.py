"""One ingest over 38 kinds of malformed or hostile documents plus good ones: it completes, every bad one
is quarantined with its reason (or indexed, when what it holds is readable), and no good one is lost.

The documents come from tests/support/malformed.py. The table gives, for each kind, what the run must
do with it and what bounds the work it can cause:

- time: `ingest.parse_timeout_seconds` (CPU seconds) stops the parse worker;
- memory: `ingest.parse_memory_mb` stops the parse worker when it grows past the limit;
- size: `source.max_object_bytes` refuses the object before it is parsed;
- parser: the parser itself refuses it quickly (corrupt, encrypted, no text, unknown type);
- lxml: lxml's entity amplification limit refuses the XML (a billion laughs);
- pypdf: pypdf's decode limit refuses the content stream (a compression bomb);
- none: the document is readable and bounded by its own small size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.support.corpus import html, runbooks
from tests.support.documents import make_docx, make_pdf
from tests.support.malformed import KINDS

pytestmark = pytest.mark.faults

LIMITS = {
    "RAGKEEPER_INGEST__PARSE_WORKERS": "2",  # the limits are the parse pool's
    "RAGKEEPER_INGEST__PARSE_TIMEOUT_SECONDS": "20",
    "RAGKEEPER_INGEST__PARSE_MEMORY_MB": "1024",
    "RAGKEEPER_SOURCE__MAX_OBJECT_BYTES": str(8 << 20),
    # The corpus is bad documents by construction: the failure-share guard would (rightly) stop the run.
    "RAGKEEPER_QUALITY__MAX_FAILURE_SHARE": "1.0",
}
TIME = r"parsing used more than 20 s of CPU \(ingest.parse_timeout_seconds\); the parser was stopped"
MEMORY = r"parsing used more than 1024 MiB \(ingest.parse_memory_mb\); the parser was stopped"
NO_TEXT = r"no text could be extracted"
EMPTY = r"empty file"


@dataclass(frozen=True)
class Expected:
    """What the run does with a kind: index it, or quarantine it with a reason matching `reason`."""

    outcome: str  # indexed | quarantined
    bound: str  # time | memory | size | parser | lxml | pypdf | none
    reason: str = ""


EXPECTED: dict[str, Expected] = {
    "pdf-truncated": Expected("quarantined", "parser", NO_TEXT),
    "pdf-zero-bytes": Expected("quarantined", "parser", EMPTY),
    "pdf-encrypted": Expected("quarantined", "parser", NO_TEXT),
    "pdf-header-only": Expected("quarantined", "parser", NO_TEXT),
    "pdf-no-text": Expected("quarantined", "parser", NO_TEXT),
    "pdf-flate-bomb": Expected("quarantined", "pypdf", NO_TEXT),
    "pdf-page-tree-loop": Expected("quarantined", "parser", NO_TEXT),
    "pdf-random-bytes": Expected("quarantined", "parser", NO_TEXT),
    "docx-zip-bomb": Expected("quarantined", "memory", MEMORY),
    "pptx-zip-bomb": Expected("quarantined", "memory", MEMORY),
    "docx-billion-laughs": Expected("quarantined", "lxml", r"Maximum entity amplification factor exceeded"),
    "docx-not-a-zip": Expected("quarantined", "parser", r"not a ZIP archive"),
    "docx-no-document-part": Expected("quarantined", "parser", r"not supported for the FileType.ZIP"),
    "docx-bad-crc": Expected("quarantined", "parser", r"Bad CRC-32"),
    "pptx-truncated": Expected("quarantined", "parser", r"not supported for the FileType.ZIP"),
    "html-billion-laughs": Expected("indexed", "none"),  # entities are not expanded: their names are text
    "html-deeply-nested": Expected("quarantined", "parser", NO_TEXT),
    "html-script-only": Expected("quarantined", "parser", NO_TEXT),
    "html-bad-charset": Expected("indexed", "none"),
    "xml-billion-laughs": Expected("quarantined", "lxml", r"Maximum entity amplification factor exceeded"),
    "text-single-line-3mb": Expected("quarantined", "memory", MEMORY),
    "text-single-line-50kb": Expected("indexed", "none"),
    "text-over-size-limit": Expected("quarantined", "size", r"over the 8388608-byte limit"),
    "md-binary-content": Expected("quarantined", "parser", r"Unable to determine file encoding"),
    "text-latin1": Expected("indexed", "none"),
    "text-latin1-with-commas": Expected("quarantined", "parser", r"'utf-8' codec can't decode"),
    "text-nul-bytes": Expected("indexed", "none"),
    "text-utf16-bom": Expected("indexed", "none"),
    "text-whitespace-only": Expected("quarantined", "parser", EMPTY),
    "text-zero-bytes": Expected("quarantined", "parser", EMPTY),
    "md-100k-headings": Expected("quarantined", "time", TIME),
    "csv-1e6-columns": Expected("quarantined", "time", TIME),
    "json-deeply-nested": Expected("quarantined", "parser", r"Not a valid json"),
    "eml-broken-mime": Expected("indexed", "none"),
    "png-image": Expected("quarantined", "parser", r"fast strategy is not available for image files"),
    "unknown-binary": Expected("quarantined", "parser", r"not supported for the FileType.UNK"),
    "pdf-named-txt": Expected("indexed", "none"),
}


def _good_documents() -> dict[str, bytes]:
    return {
        **{f"good/{key}": body for key, body in runbooks(4).items()},
        "good/page.html": html(1),
        "good/report.pdf": make_pdf(
            [["Incident review", "The gateway was restarted and traffic recovered."]]
        ),
        "good/notes.docx": make_docx(
            "Team notes", ["Rotate the keys every ninety days.", "Check the backups."]
        ),
    }


def test_the_table_covers_every_kind():
    assert set(EXPECTED) == set(KINDS)
    assert len(KINDS) >= 30


def test_malformed_documents_are_quarantined_kind_by_kind_and_nothing_good_is_lost(fault_case, measured):
    case = fault_case("malformed", **LIMITS)
    bad = {kind: (f"bad/{name}", make()) for kind, (name, make) in KINDS.items()}
    good = _good_documents()
    case.put({key: body for key, body in bad.values()} | good)

    outcome = case.run(timeout=480)

    outcome.assert_completed()
    index = case.snapshot()
    indexed_uris = {uri for uri, _, _ in index.chunks}
    for key in good:
        uri = case.source + key
        assert uri in indexed_uris and index.states[uri]["status"] == "indexed", (key, index.states.get(uri))
    wrong = []
    for kind, (key, _) in bad.items():
        uri, want = case.source + key, EXPECTED[kind]
        state = index.states.get(uri, {})
        status, reason = state.get("status"), str(state.get("reason") or "")
        if want.outcome == "indexed":
            ok = status == "indexed" and uri in indexed_uris
        else:
            ok = status == "quarantined" and uri not in indexed_uris and bool(re.search(want.reason, reason))
            ok = ok and bool(state.get("etag"))  # sticky: not parsed again until it changes
        if not ok:
            wrong.append(f"{kind}: {status} {reason[:200]!r}")
    assert not wrong, "\n".join(wrong)

    again = case.in_process()  # quarantines are sticky: a second run parses none of them
    again.assert_completed()
    assert re.search(r"objects parsed\s*│\s*0\b", again.stdout), again.stdout
    measured(
        outcome="completed",
        run_seconds=round(outcome.seconds, 1),
        kinds=len(KINDS),
        quarantined=sum(1 for e in EXPECTED.values() if e.outcome == "quarantined"),
    )
