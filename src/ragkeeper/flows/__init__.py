"""Prefect flows: composition of tasks only, no SDK calls."""
