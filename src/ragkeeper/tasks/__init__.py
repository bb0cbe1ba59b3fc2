"""Thin Prefect task wrappers: retries for transient errors, batching, progress."""
