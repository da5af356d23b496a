"""Injected API faults for rehearsals and tests, at the HTTP layer of a boto3 client.

A fault answers a request with the error AWS would send (in the client's own wire protocol:
query XML for ELBv2 and SNS, JSON for CloudWatch and SSM), or times out like a hung connection,
before it reaches the emulator, so botocore's own retry mode (not a stand-in) decides what
happens next.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ReadTimeoutError

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
    """Fail the calls of ``operation`` numbered ``first`` .. ``first + count - 1`` (1-based).

    ``timeout``: the attempt times out (botocore's ReadTimeoutError) instead of answering.
    ``stall``: runs before the fault lands, e.g. to let an injected clock pass the attempt's
    duration (a hung read lasts the read timeout).
    """

    operation: str
    count: int
    code: str = "Throttling"
    status: int = 400
    first: int = 1
    message: str = "Rate exceeded"
    timeout: bool = False
    stall: Callable[[], None] | None = None
    seen: int = field(default=0, init=False)
    injected: int = field(default=0, init=False)

    def applies(self) -> bool:
        self.seen += 1
        return self.first <= self.seen < self.first + self.count


class FaultInjector:
    """Attach to boto3 clients; counts what it injected."""

    def __init__(self, *faults: Fault) -> None:
        self.faults = list(faults)

    def attach(self, client: Any) -> None:
        protocol = client.meta.service_model.resolved_protocol
        client.meta.events.register("before-send", partial(self._before_send, protocol))

    @property
    def injected(self) -> int:
        return sum(f.injected for f in self.faults)

    def _before_send(
        self, protocol: str, request: Any, event_name: str = "", **_: Any
    ) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        for fault in self.faults:
            if fault.operation == operation and fault.applies():
                fault.injected += 1
                if fault.stall:
                    fault.stall()
                if fault.timeout:
                    raise ReadTimeoutError(endpoint_url=request.url)
                headers, body = _error(protocol, fault.code, fault.message)
                return AWSResponse(request.url, fault.status, headers, _Body(body))
        return None


def _error(protocol: str, code: str, message: str) -> tuple[HTTPHeaders, bytes]:
    headers = HTTPHeaders()
    if protocol == "json":
        headers["Content-Type"] = "application/x-amz-json-1.1"
        return headers, json.dumps({"__type": code, "message": message}).encode()
    headers["Content-Type"] = "text/xml"
    return headers, _QUERY_ERROR.format(code=code, message=message).encode()
