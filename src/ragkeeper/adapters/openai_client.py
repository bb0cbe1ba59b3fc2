"""The `openai` client both OpenAI-compatible adapters (embeddings, fine-tuning jobs) talk through."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ragkeeper.errors import ConfigError
from ragkeeper.settings import OpenAISettings

if TYPE_CHECKING:
    import openai

_PLACEHOLDER_KEY = "unused"  # sent to a self-hosted base_url when no key is configured


def make_client(api: OpenAISettings, key: str | None, on_request: Callable[[], None]) -> openai.OpenAI:
    """The `openai` client for these settings (`AzureOpenAI` when `api_version` is set)."""
    import openai

    if not key:
        if api.base_url is None:
            raise ConfigError(
                "embed.backend openai needs an API key: set RAGKEEPER_OPENAI__API_KEY (or api_key under "
                "[openai] in ragkeeper.toml, or OPENAI_API_KEY)"
            )
        key = _PLACEHOLDER_KEY  # self-hosted servers (vLLM, Ollama, TEI) usually take any key
    http_client = openai.DefaultHttpxClient(event_hooks={"request": [lambda _request: on_request()]})
    if api.api_version:
        if api.base_url is None:
            raise ConfigError(
                "openai.api_version is set (Azure OpenAI) but openai.base_url, the endpoint, is not"
            )
        return openai.AzureOpenAI(
            azure_endpoint=str(api.base_url),
            api_version=api.api_version,
            api_key=key,
            organization=api.organization,
            timeout=api.timeout_seconds,
            max_retries=api.max_retries,
            http_client=http_client,
        )
    return openai.OpenAI(
        base_url=str(api.base_url) if api.base_url else None,
        api_key=key,
        organization=api.organization,
        timeout=api.timeout_seconds,
        max_retries=api.max_retries,
        http_client=http_client,
    )
