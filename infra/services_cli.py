#!/usr/bin/env python3
"""`make services-up` / `make services-down`: the services on fixed, well-known ports, without Docker.

Standard library only, so it runs before anything else is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import tempfile
from pathlib import Path

from devservices import MINIO_PASSWORD, MINIO_USER, start_minio, start_prefect, start_weaviate
from elasticmq import start_elasticmq

FIXED_PORTS = {"minio": 9000, "weaviate": 8080, "weaviate_grpc": 50051, "prefect": 4200, "elasticmq": 9324}


def _state_dir() -> Path:
    return Path(
        os.environ.get("RAGKEEPER_SERVICES_STATE") or Path(tempfile.gettempdir()) / "ragkeeper-services"
    )


def up(with_prefect: bool, with_sqs: bool = False) -> None:
    """Start the services in the background and record their pids."""
    state = _state_dir()
    state.mkdir(parents=True, exist_ok=True)
    started = {}
    minio = start_minio(state / "minio", FIXED_PORTS["minio"], FIXED_PORTS["minio"] + 1)
    started["minio"] = minio
    weaviate = start_weaviate(state / "weaviate", FIXED_PORTS["weaviate"], FIXED_PORTS["weaviate_grpc"])
    started["weaviate"] = weaviate
    if with_prefect:
        started["prefect"] = start_prefect(state / "prefect", FIXED_PORTS["prefect"])
    if with_sqs:
        started["elasticmq"] = start_elasticmq(state / "elasticmq", FIXED_PORTS["elasticmq"])
    (state / "pids.json").write_text(json.dumps({name: s.process.pid for name, s in started.items()}))
    for name, service in started.items():
        print(f"{name:9} {service.url}  (log: {service.log_path})")
    print(f"MinIO user/password: {MINIO_USER} / {MINIO_PASSWORD}   stop with: make services-down")


def down() -> None:
    """Stop what `up` started."""
    pids_file = _state_dir() / "pids.json"
    if not pids_file.exists():
        print("no services recorded as running")
        return
    for name, pid in json.loads(pids_file.read_text()).items():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
            print(f"stopped {name} (pid {pid})")
    pids_file.unlink()


def main() -> None:
    """Command line: `up [--prefect]` or `down`."""
    parser = argparse.ArgumentParser(description="Start or stop MinIO, Weaviate and Prefect on loopback.")
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="start MinIO and Weaviate (and a Prefect server, ElasticMQ)")
    up_parser.add_argument("--prefect", action="store_true")
    up_parser.add_argument("--sqs", action="store_true", help="ElasticMQ (SQS), queue ragkeeper-events")
    sub.add_parser("down", help="stop them")
    args = parser.parse_args()
    if args.command == "up":
        up(args.prefect, args.sqs)
    else:
        down()


if __name__ == "__main__":
    main()
