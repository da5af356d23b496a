"""Injected API faults for rehearsals and tests, at the HTTP layer of a boto3 client.

A fault answers a request with the error AWS would send, before it reaches the emulator, so
botocore's own retry mode (not a stand-in) decides what happens next.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

_QUERY_ERROR = (
    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
    "</Error><RequestId>switchyard-fault</RequestId></ErrorResponse>"
)


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


@dataclass
class Fault:
    """Fail the calls of ``operation`` numbered ``first`` .. ``first + count - 1`` (1-based)."""

    operation: str
    count: int
    code: str = "Throttling"
    status: int = 400
    first: int = 1
    message: str = "Rate exceeded"
    seen: int = field(default=0, init=False)
    injected: int = field(default=0, init=False)

    def applies(self) -> bool:
        self.seen += 1
        return self.first <= self.seen < self.first + self.count


class FaultInjector:
    """Attach to ELBv2 clients (query protocol); counts what it injected."""

    def __init__(self, *faults: Fault) -> None:
        self.faults = list(faults)

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self._before_send)

    @property
    def injected(self) -> int:
        return sum(f.injected for f in self.faults)

    def _before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        for fault in self.faults:
            if fault.operation == operation and fault.applies():
                fault.injected += 1
                body = _QUERY_ERROR.format(code=fault.code, message=fault.message).encode()
                headers = HTTPHeaders()
                headers["Content-Type"] = "text/xml"
                return AWSResponse(request.url, fault.status, headers, _Body(body))
        return None
