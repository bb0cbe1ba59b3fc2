"""A test MinIO as clients see it: a boto3 client for arranging data, and ragkeeper's S3 settings."""

from __future__ import annotations

from typing import Any

import devservices  # infra/devservices.py (tests/conftest.py and the benchmark put infra on sys.path)


def minio_client(endpoint_url: str) -> Any:
    """A boto3 S3 client for the MinIO at `endpoint_url`, with its root user."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=devservices.MINIO_USER,
        aws_secret_access_key=devservices.MINIO_PASSWORD,
        region_name="us-east-1",
    )


def minio_settings(endpoint_url: str) -> dict[str, str]:
    """Environment variables pointing ragkeeper's S3 client at the MinIO at `endpoint_url`."""
    return {
        "RAGKEEPER_S3__ENDPOINT_URL": endpoint_url,
        "RAGKEEPER_S3__ACCESS_KEY_ID": devservices.MINIO_USER,
        "RAGKEEPER_S3__SECRET_ACCESS_KEY": devservices.MINIO_PASSWORD,
        "RAGKEEPER_S3__REGION": "us-east-1",
        "RAGKEEPER_S3__ADDRESSING_STYLE": "path",
    }
