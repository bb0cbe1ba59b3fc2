"""Retrieval metrics with ir-measures (trec_eval through pytrec_eval): recall@k, MRR and nDCG@10."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ragkeeper.core.retrieval.questions import Question

NDCG_CUTOFF = 10


def per_question(
    questions: Sequence[Question], labels: Mapping[str, Sequence[str]], k: int
) -> dict[str, dict[str, float]]:
    """`recall`, `mrr` and `ndcg` of each question (by id), from the labels of its ranked hits.

    Every expected entry is one relevant item (`e<i>`); the rank becomes a strictly decreasing score,
    so trec_eval's tie-breaking never reorders hits.
    """
    import ir_measures
    from ir_measures import RR, R, nDCG

    qrels = [ir_measures.Qrel(q.id, f"e{i}", 1) for q in questions for i in range(len(q.expected))]
    run = []
    for q in questions:
        ranked = list(labels.get(q.id, ())) or ["-none"]  # a question without hits still counts (as 0)
        run += [
            ir_measures.ScoredDoc(q.id, label, float(len(ranked) - rank)) for rank, label in enumerate(ranked)
        ]
    names = {R @ k: "recall", RR: "mrr", nDCG @ NDCG_CUTOFF: "ndcg"}
    values: dict[str, dict[str, float]] = {q.id: dict.fromkeys(names.values(), 0.0) for q in questions}
    for metric in ir_measures.iter_calc(list(names), qrels, run):
        values[metric.query_id][names[metric.measure]] = float(metric.value)
    return values
