"""Figures for dashboards: index totals kept incrementally, and the Prometheus families built from them."""
