"""`ragkeeper doctor`: check every configured service and say how to fix what is down."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ragkeeper import factory
from ragkeeper.core.redaction import redact_url, redact_urls
from ragkeeper.errors import RagkeeperError, ServiceUnavailable
from ragkeeper.settings import Settings, config_file

_SERVICES_FIX = "start it with `make services-up` (no Docker) or `docker compose -f infra/compose.yaml up -d`"


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what, whether it is fine, detail (version or error), and the fix."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _check(name: str, probe: Callable[[], str], fix: str | Callable[[Exception], str]) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as error:
        detail = str(error) if isinstance(error, RagkeeperError) else f"{type(error).__name__}: {error}"
        return Check(name, False, redact_urls(detail), fix(error) if callable(fix) else fix)


def _settings_probe() -> str:
    path = config_file()
    return f"{path} + environment" if Path(path).is_file() else "defaults + environment (no settings file)"


def _source_probe(settings: Settings) -> str:
    return factory.make_source(settings).check()


def _source_fix(settings: Settings, error: Exception) -> str:
    if factory.source_kind(settings.source.uri) != "s3":
        return "create the folder or point RAGKEEPER_SOURCE__URI at an existing one"
    if isinstance(error, ServiceUnavailable):
        return f"check RAGKEEPER_S3__ENDPOINT_URL; for a local MinIO, {_SERVICES_FIX}"
    return "check the bucket in RAGKEEPER_SOURCE__URI and the RAGKEEPER_S3__* credentials"


def _weaviate_probe(settings: Settings) -> str:
    w = settings.weaviate
    if w.mode == "embedded":
        from ragkeeper.adapters.weaviate.client import embedded_binary_name

        binary = Path(w.embedded_binary_dir) / embedded_binary_name(w.embedded_version)
        if not binary.exists():
            raise ServiceUnavailable(f"embedded Weaviate binary missing: {binary}")
        return f"embedded {w.embedded_version}, data in {w.embedded_data_dir}"
    import httpx

    headers = {"Authorization": f"Bearer {w.api_key.get_secret_value()}"} if w.api_key else {}
    shown = redact_url(str(w.url))
    # Like the Weaviate client, which connects to the host and port only: a user:password@ in the
    # URL would make httpx send Basic credentials in place of the API key.
    url = urlsplit(str(w.url))._replace(netloc=urlsplit(str(w.url)).netloc.rpartition("@")[2])
    try:
        response = httpx.get(urlunsplit(url).rstrip("/") + "/v1/meta", headers=headers, timeout=5)
    except httpx.HTTPError as error:
        raise ServiceUnavailable(
            f"{w.mode} Weaviate at {shown} is not reachable ({type(error).__name__})"
        ) from None
    if response.status_code != 200:
        raise RagkeeperError(f"{shown} answered {response.status_code}")
    return f"{w.mode} {response.json().get('version', '?')} at {shown}"


def _weaviate_fix(settings: Settings) -> str:
    if settings.weaviate.mode == "embedded":
        return "build it with `make services` (Go), or set RAGKEEPER_WEAVIATE__EMBEDDED_BINARY_DIR"
    return f"check RAGKEEPER_WEAVIATE__URL, or {_SERVICES_FIX}"


def _prefect_probe() -> str:
    api = os.environ.get("PREFECT_API_URL")
    if not api:
        try:
            from prefect.settings import PREFECT_API_URL

            api = PREFECT_API_URL.value()
        except Exception:
            api = None
    if not api:
        return "no API configured: each run starts a temporary local server"
    import httpx

    try:
        response = httpx.get(api.rstrip("/") + "/admin/version", timeout=5)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise ServiceUnavailable(
            f"Prefect API {redact_url(api)} is not reachable ({type(error).__name__})"
        ) from None
    return f"server {response.json()} at {redact_url(api)}"


def _nlp_probe() -> str:
    from ragkeeper.adapters.spacy_model import ensure_spacy_model

    return f"spaCy en_core_web_sm: {ensure_spacy_model()}"


def _embedder_probe(settings: Settings) -> str:
    embedder = factory.make_embedder(settings)
    return f"{embedder.model_id} ({embedder.dimensions} dimensions)"


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a pipeline needs them."""
    return [
        _check("settings", _settings_probe, ""),
        _check(
            f"source ({factory.source_kind(settings.source.uri)})",
            lambda: _source_probe(settings),
            lambda error: _source_fix(settings, error),
        ),
        _check(
            f"weaviate ({settings.weaviate.mode})", lambda: _weaviate_probe(settings), _weaviate_fix(settings)
        ),
        _check("prefect", _prefect_probe, "start it with `prefect server start`, or unset PREFECT_API_URL"),
        _check("parser model", _nlp_probe, "run `make install` (installs the offline spaCy model)"),
        _check("embedder", lambda: _embedder_probe(settings), "check RAGKEEPER_EMBED__* settings"),
    ]
