"""infra/grafana/ragkeeper.json loads as a Grafana dashboard model and queries only exported metrics."""

import json
import re
from pathlib import Path

import yaml

from ragkeeper.core.metrics.families import METRICS

REPO = Path(__file__).resolve().parents[2]

DASHBOARD = REPO / "infra" / "grafana" / "ragkeeper.json"


def _exported(sample_name: str) -> str | None:
    """The family a sample name in a query belongs to (counters are queried with `_total`)."""
    for family, (kind, _) in METRICS.items():
        if sample_name == family or (kind == "counter" and sample_name == family + "_total"):
            return family
    return None


def test_every_panel_queries_metrics_that_ragkeeper_exports():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "ragkeeper" and dashboard["schemaVersion"] >= 36
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    queried = set()
    for panel in panels:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = set(re.findall(r"\bragkeeper_[a-z_]+", target["expr"]))
            assert names, (panel["title"], target["expr"])
            for name in names:
                family = _exported(name)
                assert family is not None, f"{panel['title']}: {name} is not exported"
                if METRICS[family][0] == "counter":
                    assert name.endswith("_total"), f"{panel['title']}: query counter {name} as {name}_total"
                queried.add(family)
    for variable in dashboard["templating"]["list"]:
        for name in re.findall(r"\bragkeeper_[a-z_]+", variable.get("definition", "")):
            assert _exported(name), name
    # Everything a wall dashboard needs is on it (two timestamps are for alerts, not panels).
    assert set(METRICS) - queried <= {
        "ragkeeper_index_pending_changes_age_seconds",
        "ragkeeper_last_run_timestamp_seconds",
    }


def test_the_prometheus_example_scrapes_the_exporter_and_the_listener():
    config = yaml.safe_load((REPO / "infra" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["ragkeeper"]["static_configs"][0]["targets"] == ["127.0.0.1:9464"]
    assert jobs["ragkeeper-listen"]["metrics_path"] == "/metrics"
