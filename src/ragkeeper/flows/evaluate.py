"""The `evaluate` flow: score the generation readers search on the labelled questions.

The story of a run: read the questions (`eval.questions_uri`); search each in every mode on the
serving generation, embedding with its recorded model; score recall@k, MRR and nDCG@10; publish the
table artifact `retrieval-eval-<collection>`; when the gate mode's recall@k is below
`eval.min_recall`, emit `ragkeeper.retrieval.degraded`.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from ragkeeper.adapters.retrieval_events import emit_retrieval_degraded
from ragkeeper.core.retrieval.evaluation import EvalReport
from ragkeeper.retrieval import serving_reader
from ragkeeper.settings import settings_for_run
from ragkeeper.tasks.eval_tasks import evaluate as score
from ragkeeper.tasks.eval_tasks import publish_eval, read_questions


@flow(name="evaluate", log_prints=True)
def evaluate(
    collection: str | None = None, modes: list[str] | None = None, questions_uri: str | None = None
) -> EvalReport:
    """Score `collection` (default: settings) in `modes` (default: `eval.modes`) on the labelled questions."""
    settings = settings_for_run(collection=collection)
    if questions_uri:
        settings = settings.model_copy(
            update={"eval": settings.eval.model_copy(update={"questions_uri": questions_uri})}
        )
    questions = read_questions(settings)
    chosen = list(modes or settings.eval.modes)
    with serving_reader(settings) as reader:
        report = score(reader, questions, settings, chosen)
    publish_eval(report)
    watched = settings.eval.gate_mode or settings.search.mode
    if watched in chosen and report.recall(watched) < settings.eval.min_recall:
        get_run_logger().warning(
            "%s recall@%d %.3f is below eval.min_recall %.3f",
            watched,
            report.k,
            report.recall(watched),
            settings.eval.min_recall,
        )
        emit_retrieval_degraded(
            settings.weaviate.collection,
            {
                "mode": watched,
                "k": report.k,
                "recall": report.recall(watched),
                "min_recall": settings.eval.min_recall,
                "generation": report.generation,
            },
        )
    return report
