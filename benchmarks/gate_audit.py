"""What the quality gate keeps out of a real corpus: every quarantined document and excluded chunk, with why.

Parses a folder with the real pipeline pieces (the parse pool, the Great Expectations gate, the same
verdicts a run applies), without Weaviate or embeddings, and prints one line per exclusion plus the
totals, so a person can judge each one (a good chunk kept out is a false positive). `--show N`
prints the start of each excluded chunk's text.

    .venv/bin/python benchmarks/gate_audit.py ~/.cache/ragkeeper/corpus/debian-docs-1
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def main() -> None:
    """Audit the gate over a folder; print exclusions and totals (JSON with --json)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--show", type=int, default=0, help="characters of each excluded chunk to print")
    parser.add_argument("--json", type=Path, help="also write the findings here")
    args = parser.parse_args()

    from ragkeeper import factory
    from ragkeeper.core.batching import batched
    from ragkeeper.core.quality.verdicts import judge
    from ragkeeper.core.sync.quarantine import parse_failure
    from ragkeeper.errors import TerminalError
    from ragkeeper.settings import load_settings

    settings = load_settings(source={"uri": str(args.folder)}, weaviate={"collection": "Audit"})
    source = factory.make_source(settings)
    pool = factory.make_parser(settings)
    gate = factory.make_quality_gate(settings)
    objects = list(source.list())
    documents, quarantined, excluded = 0, [], []
    chunks_total = 0
    texts: dict[str, str] = {}
    for group in batched(objects, settings.quality.documents_per_validation):
        parsed = []
        for obj in group:
            try:
                parsed.append(pool.parse(obj, source.read(obj), "Audit"))
            except TerminalError as error:
                quarantined.append(parse_failure(obj.uri, error))
        chunks_total += sum(len(d.chunks) for d in parsed)
        texts.update({c.id: c.text for d in parsed for c in d.chunks})
        verdicts = judge(parsed, gate.validate(parsed), settings.quality.max_excluded_chunk_share)
        documents += len(parsed)
        quarantined += verdicts.quarantined
        excluded += verdicts.excluded
        print(f"{documents + len(quarantined)}/{len(objects)} documents", file=sys.stderr)
    for q in quarantined:
        print(f"QUARANTINED {q.uri}: {q.reason}")
    for e in excluded:
        print(f"EXCLUDED {e.uri} chunk {e.chunk_index}: {e.reason}")
        if args.show:
            print("    " + texts[e.chunk_id][: args.show].replace("\n", "\n    "))
    by_check = Counter(e.check for e in excluded)
    print(
        f"\n{len(objects)} documents, {chunks_total} chunks: {len(quarantined)} documents quarantined, "
        f"{len(excluded)} chunks excluded {dict(by_check)}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "documents": len(objects),
                    "chunks": chunks_total,
                    "quarantined": [{"uri": q.uri, "reason": q.reason} for q in quarantined],
                    "excluded": [{"uri": e.uri, "chunk": e.chunk_index, "check": e.check} for e in excluded],
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
