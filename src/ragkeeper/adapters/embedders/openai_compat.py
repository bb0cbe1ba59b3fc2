"""Embeddings from any OpenAI-compatible API (OpenAI, Azure OpenAI, vLLM, Ollama, TEI, ...).

Texts are counted with cl100k_base and cut into requests bounded by `embed.max_inputs_per_request`
and `embed.max_tokens_per_request`; up to `embed.max_concurrent_requests` requests are in flight;
vectors come back in input order. Retries of 429 (waiting for Retry-After), 5xx, 408/409 and
timeouts are left to the `openai` client (`openai.max_retries`, exponential backoff otherwise);
what still fails afterwards becomes a TransientError, and auth or request errors a TerminalError.

`embed()` raises on any failure. `embed_with_report()` instead finds the texts a persistent failure
belongs to, by splitting the failing request in halves, and reports them per text.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragkeeper.adapters.openai_client import make_client
from ragkeeper.adapters.openai_errors import endpoint, translate
from ragkeeper.adapters.tokens import count_tokens_batch
from ragkeeper.core.sync.token_batches import plan_token_batches
from ragkeeper.errors import (
    InputRejected,
    RagkeeperError,
    ServerFailed,
    TerminalError,
    TransientError,
)
from ragkeeper.settings import EmbedSettings, OpenAISettings

if TYPE_CHECKING:
    import openai

MAX_TOKENS_PER_INPUT = 8192  # every OpenAI embedding model; cl100k_base counts
_PROBE_TEXT = "dimension probe"


def supports_dimensions(model: str) -> bool:
    """Whether the API accepts `dimensions` for `model` (text-embedding-3 and later)."""
    return "text-embedding-3" in model


@dataclass(frozen=True)
class TextFailure:
    """A text that could not be embedded: its position, why, and whether a later retry may help."""

    index: int
    reason: str
    transient: bool


@dataclass(frozen=True)
class EmbedReport:
    """One vector per text (None where it failed), and the failures in input order."""

    vectors: list[list[float] | None]
    failures: list[TextFailure]

    @property
    def failed_indexes(self) -> list[int]:
        """Positions of the texts that failed."""
        return [f.index for f in self.failures]


class _Call:
    """State shared by the requests of one `embed*` call."""

    def __init__(self, texts: Sequence[str], isolate: bool) -> None:
        self.texts = texts
        self.isolate = isolate
        self.service_answered = threading.Event()  # some request of this call succeeded


class OpenAICompatibleEmbedder:
    """The Embedder port over the `openai` client; `model_id` is `openai:<model>:<dimensions>`."""

    def __init__(self, embed: EmbedSettings, api: OpenAISettings) -> None:
        self._embed = embed
        self._api = api
        self._model = embed.model
        self._sends_dimensions = supports_dimensions(embed.model)
        self._dimensions: int | None = embed.dimensions if self._sends_dimensions else None
        self._secret = api.api_key.get_secret_value() if api.api_key else os.environ.get("OPENAI_API_KEY")
        self._where = endpoint(api)
        self._lock = threading.Lock()
        self._tokens_used = 0
        self._requests_made = 0
        self._client = make_client(api, self._secret, self._count_request)
        # Splitting a failed request to find its culprit: the service is known to answer, one retry is enough.
        self._isolating_client = self._client.with_options(max_retries=min(api.max_retries, 1))

    @property
    def model_id(self) -> str:
        """`openai:<model>:<dimensions>`, stored with every vector."""
        return f"openai:{self._model}:{self.dimensions}"

    @property
    def dimensions(self) -> int:
        """Vector length: `embed.dimensions` for text-embedding-3, else learned from a first response."""
        if self._dimensions is None:
            self._request([_PROBE_TEXT], self._client)
        assert self._dimensions is not None
        return self._dimensions

    @property
    def tokens_used(self) -> int:
        """Tokens billed so far (the API's `usage`), for run summaries and cost."""
        return self._tokens_used

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requests_made

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; TransientError or TerminalError if any text fails."""
        report = self._run(texts, isolate=False)
        return [v for v in report.vectors if v is not None]

    def embed_with_report(self, texts: Sequence[str]) -> EmbedReport:
        """Like `embed`, but failures that belong to particular texts are reported per text.

        Raises only for what concerns every text: bad credentials, unknown model, throttling,
        timeouts, or a service that answers no request at all.
        """
        return self._run(texts, isolate=True)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def _count_request(self) -> None:
        with self._lock:
            self._requests_made += 1

    def _run(self, texts: Sequence[str], isolate: bool) -> EmbedReport:
        call = _Call(list(texts), isolate)
        vectors: list[list[float] | None] = [None] * len(call.texts)
        failures = {
            i: TextFailure(i, "empty text", transient=False) for i, t in enumerate(call.texts) if not t
        }
        eligible = [i for i in range(len(call.texts)) if i not in failures]
        plan = plan_token_batches(
            count_tokens_batch([call.texts[i] for i in eligible]),
            self._embed.max_inputs_per_request,
            self._embed.max_tokens_per_request,
            MAX_TOKENS_PER_INPUT,
        )
        for item in plan.oversized:
            index = eligible[item.index]
            failures[index] = TextFailure(index, item.describe(), transient=False)
        if failures and not isolate:
            first = min(failures.values(), key=lambda f: f.index)
            raise TerminalError(f"cannot embed text #{first.index}: {first.reason}")
        batches = [[eligible[i] for i in batch.indexes] for batch in plan.batches]
        if batches:
            workers = min(self._embed.max_concurrent_requests, len(batches))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed") as pool:
                futures = [pool.submit(self._embed_batch, call, batch) for batch in batches]
                try:
                    for future in futures:
                        done, failed = future.result()
                        for index, vector in done.items():
                            vectors[index] = vector
                        failures.update({f.index: f for f in failed})
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        return EmbedReport(vectors, [failures[i] for i in sorted(failures)])

    def _embed_batch(self, call: _Call, batch: list[int]) -> tuple[dict[int, list[float]], list[TextFailure]]:
        try:
            return self._attempt(call, batch, self._client), []
        except (InputRejected, ServerFailed) as error:
            if not call.isolate:
                raise
            return self._isolate(call, batch, error)

    def _attempt(self, call: _Call, batch: list[int], client: openai.OpenAI) -> dict[int, list[float]]:
        vectors = self._request([call.texts[i] for i in batch], client)
        call.service_answered.set()
        return dict(zip(batch, vectors, strict=True))

    def _isolate(
        self, call: _Call, batch: list[int], error: RagkeeperError
    ) -> tuple[dict[int, list[float]], list[TextFailure]]:
        """Split a failed request in halves until the failing texts stand alone."""
        if len(batch) == 1:
            if isinstance(error, TransientError) and not self._service_answers(call):
                raise error  # nothing answers at all: an outage, not this text
            return {}, [TextFailure(batch[0], str(error), transient=isinstance(error, TransientError))]
        halves = [batch[: len(batch) // 2], batch[len(batch) // 2 :]]
        outcomes: list[dict[int, list[float]] | InputRejected | ServerFailed] = []
        for half in halves:
            try:
                outcomes.append(self._attempt(call, half, self._isolating_client))
            except (InputRejected, ServerFailed) as half_error:
                outcomes.append(half_error)
        if all(isinstance(o, RagkeeperError) for o in outcomes) and not self._service_answers(call):
            raise error  # every part fails and nothing ever succeeded: the request, not the texts
        done: dict[int, list[float]] = {}
        failed: list[TextFailure] = []
        for half, outcome in zip(halves, outcomes, strict=True):
            if isinstance(outcome, dict):
                done.update(outcome)
            else:
                half_done, half_failed = self._isolate(call, half, outcome)
                done.update(half_done)
                failed.extend(half_failed)
        return done, failed

    def _service_answers(self, call: _Call) -> bool:
        """Whether the service embeds at all: known from this call, else asked with a harmless probe.

        Without the probe, a call whose only text is refused would look like an outage forever.
        """
        if not call.service_answered.is_set():
            try:
                self._request([_PROBE_TEXT], self._isolating_client)
            except RagkeeperError:
                return False
            call.service_answered.set()
        return True

    def _request(self, texts: list[str], client: openai.OpenAI) -> list[list[float]]:
        """One embeddings request; vectors in the order of `texts`."""
        import openai

        try:
            response = client.embeddings.create(
                model=self._model,
                input=texts,
                dimensions=self._dimensions if self._sends_dimensions and self._dimensions else openai.omit,
            )
        except openai.APIError as error:
            raise translate(
                error,
                "the embedding request",
                where=self._where,
                api=self._api,
                secret=self._secret,
                model=self._model,
            ) from None
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(texts):
            raise TerminalError(f"{self._where} returned {len(data)} embeddings for {len(texts)} inputs")
        vectors = [list(item.embedding) for item in data]
        self._check_dimensions(vectors)
        with self._lock:
            self._tokens_used += response.usage.total_tokens if response.usage else 0
        return vectors

    def _check_dimensions(self, vectors: list[list[float]]) -> None:
        sizes = {len(v) for v in vectors}
        with self._lock:
            if self._dimensions is None and len(sizes) == 1:
                self._dimensions = sizes.pop()
                return
        if sizes != {self._dimensions}:
            raise TerminalError(
                f"{self._where} returned vectors of size {sorted(sizes)} for model {self._model}, "
                f"expected {self._dimensions}"
            )
