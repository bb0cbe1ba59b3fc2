"""ElasticMQ, an SQS-compatible server, on loopback for tests and `make services-up --sqs`.

Its jars are resolved with Maven by infra/install-services.sh and cached like the Go services.
Standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

from devservices import Service, _launch, elasticmq_classpath, free_port

ELASTICMQ_REGION = "us-east-1"
ELASTICMQ_ACCOUNT = "000000000000"


def elasticmq_config(port: int, queues: list[str], visibility_timeout: int, max_receive_count: int) -> str:
    """ElasticMQ's HOCON configuration: SQS on 127.0.0.1:PORT; each queue NAME with a NAME-dlq redrive target.

    A message received `max_receive_count` times without being deleted moves to the dead-letter queue,
    as SQS does with a RedrivePolicy (ElasticMQ reports that policy in GetQueueAttributes too).
    """
    lines = [
        'include classpath("application.conf")',
        f'node-address {{ protocol = http, host = "127.0.0.1", port = {port}, context-path = "" }}',
        f'rest-sqs {{ enabled = true, bind-port = {port}, bind-hostname = "127.0.0.1", '
        "sqs-limits = strict }",
        "generate-node-address = false",
        f'aws {{ region = "{ELASTICMQ_REGION}", accountId = "{ELASTICMQ_ACCOUNT}" }}',
        "queues {",
    ]
    for name in queues:
        lines.append(
            f'  "{name}" {{ defaultVisibilityTimeout = {visibility_timeout} seconds, '
            f'deadLettersQueue {{ name = "{name}-dlq", maxReceiveCount = {max_receive_count} }} }}'
        )
        lines.append(f'  "{name}-dlq" {{ }}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def start_elasticmq(
    data_dir: Path,
    port: int | None = None,
    queues: list[str] | None = None,
    visibility_timeout: int = 30,
    max_receive_count: int = 3,
) -> Service:
    """ElasticMQ (an SQS-compatible server) on 127.0.0.1; returns once it answers ListQueues.

    `queues` (default: one named `ragkeeper-events`) exist from the start, each with its `-dlq`;
    clients can create more with CreateQueue. Any access key works: ElasticMQ does not check signatures.
    """
    port = port or free_port()
    queues = ["ragkeeper-events"] if queues is None else queues
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "elasticmq.conf"
    config.write_text(elasticmq_config(port, queues, visibility_timeout, max_receive_count))
    java = str(Path(os.environ["JAVA_HOME"]) / "bin" / "java") if os.environ.get("JAVA_HOME") else "java"
    # A small heap and the C1 compiler only: it is a test server on a shared 2-core machine.
    command = [java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", f"-Dconfig.file={config}"]
    command += ["-cp", elasticmq_classpath(), "org.elasticmq.server.Main"]
    url = f"http://127.0.0.1:{port}"
    return _launch(
        "elasticmq",
        command,
        env={},
        data_dir=data_dir,
        url=url,
        health="/?Action=ListQueues",
        ports={"http": port},
    )
