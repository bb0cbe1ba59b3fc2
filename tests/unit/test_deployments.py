import yaml

from ragkeeper.deployments import deployment_specs, render_prefect_yaml
from ragkeeper.settings import load_settings
from tests.conftest import REPO


def test_committed_prefect_yaml_is_what_the_default_settings_render():
    assert (REPO / "prefect.yaml").read_text() == render_prefect_yaml(load_settings()), (
        "regenerate it: ragkeeper deployments > prefect.yaml"
    )


def test_schedules_work_pool_and_trigger_come_from_settings():
    settings = load_settings(
        schedule={
            "ingest_cron": "*/5 * * * *",
            "retrain_cron": None,
            "eval_cron": "15 6 * * 1",
            "work_pool": "k8s",
            "timezone": "Europe/Paris",
        },
        weaviate={"collection": "Handbook"},
    )
    document = yaml.safe_load(render_prefect_yaml(settings))
    by_entry = {d["entrypoint"].rsplit(".", 1)[-1]: d for d in document["deployments"]}
    assert set(by_entry) == {"ingest", "reindex", "reconcile", "retrain", "evaluate", "train_style_model"}
    assert by_entry["ingest"]["schedules"] == [{"cron": "*/5 * * * *", "timezone": "Europe/Paris"}]
    assert by_entry["retrain"]["schedules"] == []
    assert by_entry["evaluate"]["schedules"] == [{"cron": "15 6 * * 1", "timezone": "Europe/Paris"}]
    pools = {d["entrypoint"].rsplit(".", 1)[-1]: d["work_pool"]["name"] for d in document["deployments"]}
    assert pools == {
        **dict.fromkeys(["ingest", "reindex", "reconcile", "retrain", "evaluate"], "k8s"),
        "train_style_model": "ragkeeper-gpu",
    }
    trigger = by_entry["reindex"]["triggers"][0]
    assert trigger["match"] == {"prefect.resource.id": "ragkeeper.collection.Handbook"}
    assert trigger["expect"] == ["ragkeeper.source.changed"]
    assert trigger["parameters"] == {"uris": "{{ event.payload.uris }}"}
    assert by_entry["ingest"]["parameters"] == {"on_busy": "skip"}


def test_every_entrypoint_is_a_flow_with_the_declared_parameters():
    from prefect.flows import load_flow_from_entrypoint

    for spec in deployment_specs(load_settings()):
        flow = load_flow_from_entrypoint(spec.entrypoint)
        assert flow.name == spec.flow_name
        assert set(spec.parameters) <= set(flow.parameters.properties)


def test_the_training_deployment_has_its_own_work_pool_and_name_from_the_trainer_settings():
    settings = load_settings(
        retrain={"trainer": {"deployment": "train-style-model/a100", "work_pool": "gpus"}}
    )
    (training,) = [spec for spec in deployment_specs(settings) if spec.flow_name == "train-style-model"]
    assert (training.name, training.work_pool, training.cron) == ("a100", "gpus", None)
