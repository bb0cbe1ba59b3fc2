"""Scoring a generation on the labelled questions, publishing the figures, and the switch gate."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from ragkeeper import factory, runtime
from ragkeeper.adapters.ir_metrics import NDCG_CUTOFF, per_question
from ragkeeper.core.retrieval.evaluation import EvalReport, misses, mode_scores, switch_refusal
from ragkeeper.core.retrieval.query import build_request
from ragkeeper.core.retrieval.questions import Question, label_hits, parse_questions
from ragkeeper.core.sync.report import artifact_key
from ragkeeper.errors import ConfigError, EmbedderUnavailable, TerminalError
from ragkeeper.models import SearchHit
from ragkeeper.retrieval import Reader
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING


@task(name="read-questions", **RETRYING)
def read_questions(settings: Settings) -> list[Question]:
    """The questions of `eval.questions_uri` (a path, file:// or s3:// object)."""
    uri = settings.eval.questions_uri
    if not uri:
        raise ConfigError("no questions to evaluate: set eval.questions_uri (RAGKEEPER_EVAL__QUESTIONS_URI)")
    object_uri = uri if uri.startswith("s3://") else _local_uri(uri)
    source = factory.make_object_source(settings, uri)
    found = source.stat(object_uri)
    if found is None:
        raise TerminalError(f"questions {uri} do not exist or are not a file")
    return parse_questions(source.read(found).decode("utf-8"), uri)


def _local_uri(uri: str) -> str:
    from ragkeeper.adapters.storage.local import path_from_uri

    return path_from_uri(uri).expanduser().resolve().as_uri()


def evaluate(
    reader: Reader, questions: Sequence[Question], settings: Settings, modes: Sequence[str]
) -> EvalReport:
    """Search every question in every mode on `reader`'s generation and score the hits."""
    k = settings.eval.k
    scores, missed = [], []
    for mode in modes:
        hits: dict[str, list[SearchHit]] = {}
        for q in questions:
            request = build_request(q.question, settings.search, mode=mode, limit=max(k, NDCG_CUTOFF))
            hits[q.id] = reader.search(request)
        values = per_question(questions, {q.id: label_hits(q, hits[q.id]) for q in questions}, k)
        scores.append(mode_scores(mode, values))
        missed += misses(mode, questions, hits, values, k)
    return EvalReport(
        settings.weaviate.collection, reader.collection, reader.model_id, k, tuple(scores), tuple(missed)
    )


@task(name="publish-eval", cache_policy=NO_CACHE)
def publish_eval(report: EvalReport) -> None:
    """A table artifact with a stable key (`retrieval-eval-<collection>`), one row per mode, to chart."""
    create_table_artifact(
        key=artifact_key("retrieval-eval", report.collection),
        table=report.table(),
        description=f"retrieval quality of {report.generation} ({report.model_id}): recall@{report.k}, "
        "MRR and nDCG@10 over the labelled questions",
    )


def gate_refusal(settings: Settings) -> str | None:
    """Why the generation this run built must not replace the serving one (None: switch).

    Both are scored in the gate mode (`eval.gate_mode`, else `search.mode`) on the questions; no
    gate without questions or with `eval.gate` off. A serving generation whose model cannot be built
    here is not scored, and only `eval.min_recall` applies.
    """
    if not settings.eval.questions_uri or not settings.eval.gate:
        return None
    mode = settings.eval.gate_mode or settings.search.mode
    questions = read_questions(settings)
    generation = runtime.generation(settings)
    new = Reader(
        runtime.generation_store(settings),
        generation.collection,
        runtime.embedder(settings).model_id,
        lambda: runtime.embedder(settings),
    )
    new_recall = evaluate(new, questions, settings, [mode]).recall(mode)
    serving_recall: float | None = None
    try:
        serving = Reader(
            runtime.serving_store(settings),
            str(generation.serving),
            runtime.serving_record(settings).model_id,
            lambda: runtime.serving_embedder(settings),
        )
        serving_recall = evaluate(serving, questions, settings, [mode]).recall(mode)
    except EmbedderUnavailable:
        pass
    return switch_refusal(
        new_recall,
        serving_recall,
        tolerance=settings.eval.tolerance,
        min_recall=settings.eval.min_recall,
        mode=mode,
        k=settings.eval.k,
    )
