"""What an evaluation of one generation found: scores per mode, and the questions it missed. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from ragkeeper.core.retrieval.questions import Question
from ragkeeper.models import SearchHit


@dataclass(frozen=True, slots=True)
class ModeScores:
    """Mean recall@k, MRR and nDCG@10 of one mode over the questions."""

    mode: str
    questions: int
    recall: float
    mrr: float
    ndcg: float


@dataclass(frozen=True, slots=True)
class Miss:
    """A question whose top k hits of a mode held none of its expected items."""

    question_id: str
    question: str
    mode: str
    expected: tuple[str, ...]
    got: tuple[str, ...]  # source URIs of the top hits


@dataclass(frozen=True, slots=True)
class EvalReport:
    """One generation's evaluation."""

    collection: str
    generation: str
    model_id: str
    k: int
    scores: tuple[ModeScores, ...]
    misses: tuple[Miss, ...] = ()

    def recall(self, mode: str) -> float:
        """recall@k of a mode (KeyError when it was not evaluated)."""
        return next(s.recall for s in self.scores if s.mode == mode)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (`eval --json`)."""
        return {
            "collection": self.collection,
            "generation": self.generation,
            "model": self.model_id,
            "k": self.k,
            "scores": [
                {
                    "mode": s.mode,
                    "questions": s.questions,
                    f"recall@{self.k}": round(s.recall, 4),
                    "mrr": round(s.mrr, 4),
                    "ndcg@10": round(s.ndcg, 4),
                }
                for s in self.scores
            ],
            "misses": [
                {
                    "id": m.question_id,
                    "question": m.question,
                    "mode": m.mode,
                    "expected": list(m.expected),
                    "got": list(m.got),
                }
                for m in self.misses
            ],
        }

    def table(self) -> list[dict[str, Any]]:
        """Rows of the Prefect table artifact (one per mode; keys stay the same from run to run)."""
        return [
            {
                "mode": s.mode,
                "questions": s.questions,
                "recall_at_k": round(s.recall, 4),
                "k": self.k,
                "mrr": round(s.mrr, 4),
                "ndcg_at_10": round(s.ndcg, 4),
                "misses": sum(1 for m in self.misses if m.mode == s.mode),
                "generation": self.generation,
                "model": self.model_id,
            }
            for s in self.scores
        ]


def mode_scores(mode: str, values: Mapping[str, Mapping[str, float]]) -> ModeScores:
    """The means of the per-question metrics of one mode."""
    rows = list(values.values())
    return ModeScores(
        mode,
        len(rows),
        fmean(r["recall"] for r in rows) if rows else 0.0,
        fmean(r["mrr"] for r in rows) if rows else 0.0,
        fmean(r["ndcg"] for r in rows) if rows else 0.0,
    )


def misses(
    mode: str,
    questions: Sequence[Question],
    hits: Mapping[str, Sequence[SearchHit]],
    values: Mapping[str, Mapping[str, float]],
    k: int,
) -> list[Miss]:
    """The questions with recall@k 0 in this mode, with what came back instead."""
    return [
        Miss(q.id, q.question, mode, q.expected, tuple(h.source_uri for h in hits.get(q.id, ())[:k]))
        for q in questions
        if values[q.id]["recall"] == 0.0
    ]


def switch_refusal(
    new: float, serving: float | None, *, tolerance: float, min_recall: float, mode: str, k: int
) -> str | None:
    """Why a new generation must not replace the serving one (None: it may).

    It must score at least the serving one minus `tolerance`, and at least `min_recall`; `serving`
    is None when the serving generation could not be scored (then only `min_recall` applies).
    """
    measure = f"{mode} recall@{k}"
    if new < min_recall:
        return f"the new generation's {measure} {new:.3f} is below eval.min_recall {min_recall:.3f}"
    if serving is not None and new < serving - tolerance:
        return (
            f"the new generation's {measure} {new:.3f} is below the serving one's {serving:.3f} "
            f"minus eval.tolerance {tolerance:.3f}"
        )
    return None
