"""The exporter's retrieval recall comes from the last `ragkeeper eval` table a real Prefect server holds."""

from prefect import flow

from ragkeeper.adapters.eval_artifacts import last_eval_rows
from ragkeeper.core.metrics.families import eval_samples
from ragkeeper.core.retrieval.evaluation import EvalReport, ModeScores
from ragkeeper.tasks.eval_tasks import publish_eval


@flow
def _publish(report: EvalReport) -> None:
    publish_eval(report)


def _report(hybrid_recall: float) -> EvalReport:
    scores = (ModeScores("hybrid", 36, hybrid_recall, 0.69, 0.76), ModeScores("bm25", 36, 0.722, 0.48, 0.55))
    return EvalReport("EvalMetrics", "EvalMetrics_0123456789", "hashing-v2-64", 5, scores)


def test_recall_of_the_latest_eval_is_exported_per_mode(prefect_harness):
    assert last_eval_rows("EvalMetrics") == []  # no eval yet: no figure, not a zero

    _publish(_report(0.5))
    _publish(_report(0.944))

    assert eval_samples("EvalMetrics", last_eval_rows("EvalMetrics")) == [
        ("ragkeeper_retrieval_recall", {"collection": "EvalMetrics", "mode": "hybrid", "k": "5"}, 0.944),
        ("ragkeeper_retrieval_recall", {"collection": "EvalMetrics", "mode": "bm25", "k": "5"}, 0.722),
    ]
