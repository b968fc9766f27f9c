"""HTTP for the client: botocore's connection-pooling session (urllib3; proxies and CA bundles as the AWS
SDK handles them), behind a small interface that tests replace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from botocore.awsrequest import AWSRequest
from botocore.httpsession import URLLib3Session


@dataclass(frozen=True)
class HttpResponse:
    """One HTTP answer; header names in lower case."""

    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)


class Transport(Protocol):
    """Sends one request. Raises ``OSError``, or botocore's ``HTTPClientError`` or ``ConnectionError``
    (``EndpointConnectionError``: connection refused, host not found), when no answer arrives."""

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> HttpResponse: ...

    def close(self) -> None: ...


class BotocoreTransport:
    """The default transport: one ``URLLib3Session`` (thread-safe, keeps connections alive)."""

    def __init__(self, *, timeout_seconds: float = 30.0, max_pool_connections: int = 32) -> None:
        self._session = URLLib3Session(timeout=timeout_seconds, max_pool_connections=max_pool_connections)

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> HttpResponse:
        prepared = AWSRequest(method=method, url=url, headers=dict(headers), data=body).prepare()
        response = self._session.send(prepared)
        return HttpResponse(
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.items()},
            body=response.content,
        )

    def close(self) -> None:
        self._session.close()
