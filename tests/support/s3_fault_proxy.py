"""A small HTTP proxy in front of the test MinIO that answers chosen requests with an S3 error.

Everything else is forwarded byte for byte (the Host header too, so SigV4 signatures still verify).
It is honest about being a stand-in for a failing network or server: the S3 server behind it is real.
Every request is logged (`requests`), so a test can count the client's retries; `before_forward` runs
before a request goes upstream (a test kills the server behind it at a precise request). When the
server behind it is down, the proxy drops the client's connection without an answer, as a dying
server would.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

# (method, path with query) -> whether to fail this request
Rule = Callable[[str, str], bool]


def _error(code: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        "<Message>injected by the test proxy</Message></Error>"
    ).encode()


class S3FaultProxy:
    """Forwards to `upstream`; requests matching `fail_when` get `status` with S3 error `code` instead."""

    def __init__(
        self,
        upstream: str,
        fail_when: Rule = lambda method, path: False,
        *,
        status: int = 500,
        code: str = "InternalError",
        before_forward: Callable[[str, str], None] = lambda method, path: None,
    ) -> None:
        self._upstream = urlsplit(upstream)
        self._fail_when = fail_when
        self._status = status
        self._code = code
        self._before_forward = before_forward
        self._lock = threading.Lock()
        self.requests: list[str] = []  # every request received, as "METHOD path?query"
        self.failed: list[str] = []  # the requests answered with the injected error
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The proxy's endpoint URL (use as the S3 endpoint)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Listen on a random loopback port, in a background thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.requests.append(f"{self.command} {self.path}")
                    fail = proxy._fail_when(self.command, self.path)
                    if fail:
                        proxy.failed.append(f"{self.command} {self.path}")
                if fail:
                    self._answer(proxy._status, {"Content-Type": "application/xml"}, _error(proxy._code))
                    return
                proxy._before_forward(self.command, self.path)
                host, port = proxy._upstream.hostname or "127.0.0.1", proxy._upstream.port
                upstream = http.client.HTTPConnection(host, port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                    response = upstream.getresponse()
                    payload = response.read()
                    headers = {k: v for k, v in response.getheaders() if k.lower() != "transfer-encoding"}
                    self._answer(response.status, headers, payload)
                except OSError:
                    self.close_connection = True  # the server behind is down: hang up, like it would
                finally:
                    upstream.close()

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
