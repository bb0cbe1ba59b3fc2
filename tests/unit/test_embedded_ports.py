from ragkeeper.adapters.weaviate.client import embedded_port_environment
from ragkeeper.settings import WeaviateSettings


def test_configured_ports_are_used_and_profiling_is_off_unless_given_a_port():
    settings = WeaviateSettings(embedded_port=8079, embedded_gossip_port=7100, embedded_raft_port=8300)

    def nothing_to_pick() -> int:
        raise AssertionError("a configured port was picked anew")

    environment = embedded_port_environment(settings, nothing_to_pick)
    assert (
        environment["CLUSTER_GOSSIP_BIND_PORT"] == "7100" and environment["CLUSTER_DATA_BIND_PORT"] == "7101"
    )
    assert environment["RAFT_PORT"] == "8300" and environment["RAFT_INTERNAL_RPC_PORT"] == "8301"
    assert environment["RAFT_JOIN"] == "Embedded_at_8079:8300"
    assert environment["GO_PROFILING_DISABLE"] == "true" and "GO_PROFILING_PORT" not in environment
    profiled = embedded_port_environment(settings.model_copy(update={"embedded_profiling_port": 6061}), int)
    assert profiled["GO_PROFILING_PORT"] == "6061" and "GO_PROFILING_DISABLE" not in profiled


def test_unset_ports_are_picked_free_in_pairs():
    picked = iter([40000, 41000])
    environment = embedded_port_environment(WeaviateSettings(), lambda: next(picked))
    assert (environment["CLUSTER_GOSSIP_BIND_PORT"], environment["CLUSTER_DATA_BIND_PORT"]) == (
        "40000",
        "40001",
    )
    assert (environment["RAFT_PORT"], environment["RAFT_INTERNAL_RPC_PORT"]) == ("41000", "41001")
