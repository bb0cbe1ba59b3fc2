"""Imported by the parse pool's forkserver before it forks workers: warms unstructured once for all."""

from ragkeeper.adapters.parse_worker import warm

warm()
