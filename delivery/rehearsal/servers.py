"""Small HTTP servers on 127.0.0.1 standing in for each colour's pods in a release rehearsal.

Smoke and load checks reach them over real HTTP, as they reach the test listener in real use.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    """How a colour answers: every path 200, except what the scenario breaks."""

    failing_paths: frozenset[str] = frozenset()  # these answer 500
    fail_every: int = 0  # every n-th request answers 503 (0: never)
    image: str = ""
    on_request: Callable[[int], None] | None = None  # told the number of each request
    _count: Iterator[int] = field(default_factory=itertools.count, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def status(self, path: str) -> int:
        with self._lock:
            n = next(self._count) + 1
        if self.on_request:
            self.on_request(n)
        if path in self.failing_paths:
            return 500
        if self.fail_every and n % self.fail_every == 0:
            return 503
        return 200


class ColourServer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.behaviour = Behaviour()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = server.behaviour.status(self.path.split("?")[0])
                body = f"{server.name} {server.behaviour.image} {status}\n".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                """A client gone mid-answer (a check interrupted by the runner's cancel) is
                not the server's error; socketserver would print its traceback."""
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self._http = Server(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@contextmanager
def colour_servers(*names: str) -> Iterator[dict[str, ColourServer]]:
    servers = {name: ColourServer(name) for name in names}
    for server in servers.values():
        server.start()
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()
