"""Keeping the index totals that dashboards read, at the cost of the run's own objects only."""

from __future__ import annotations

from dataclasses import replace

from prefect import task

from ragkeeper import runtime
from ragkeeper.core.metrics.totals import advance, count_states, last_totals
from ragkeeper.core.sync.plan import SyncPlan
from ragkeeper.models import WriteResult
from ragkeeper.run_models import IndexTotals
from ragkeeper.settings import Settings
from ragkeeper.tasks.retry import RETRYING

RECENT_RUNS = 20  # where the last totals of a generation are looked for


@task(name="count-index-totals", **RETRYING)
def index_totals(settings: Settings, plan: SyncPlan, full_sync: bool, written: WriteResult) -> IndexTotals:
    """The totals of the written generation after this run.

    The states of the objects the run touched are read back and applied to the totals before it:
    the last recorded ones, or for a full sync (whose plan holds every state) a count of the plan's
    states. Only when no run recorded totals for this generation yet is every state read, once.
    """
    generation = runtime.generation(settings).collection
    store = runtime.state_store(settings)
    last = last_totals(runtime.run_log(settings).recent(RECENT_RUNS, outcome="succeeded"), generation)
    work = (written.embeddings_computed, written.embeddings_reused, written.tokens_embedded)
    if not full_sync and last is None:
        recount = count_states(store.load(), generation)
        return advance(recount, [], *work)
    before = count_states(plan.previous.values(), generation) if full_sync else last
    assert before is not None
    if last is not None:  # the embedding counters carry on
        before = replace(
            before,
            embeddings_computed=last.embeddings_computed,
            embeddings_reused=last.embeddings_reused,
            tokens_embedded=last.tokens_embedded,
        )
    touched = [o.uri for o in plan.new] + [o.uri for o, _ in plan.changed] + [s.uri for s in plan.deleted]
    after = store.get(touched)
    transitions = [(plan.previous.get(uri), after.get(uri)) for uri in touched]
    return advance(before, transitions, *work)
