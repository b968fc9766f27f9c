"""One SigV4-signed call to the token API, waiting out ``503``/``429`` answers within a budget."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError

from .clock import Clock
from .defaults import RETRY_WITHOUT_RETRY_AFTER_SECONDS
from .errors import TokenVendorClientError, error_from_response
from .transport import Transport

CredentialsSource = Callable[[], ReadOnlyCredentials]
"""Returns the credentials to sign the next request with (read per request: temporary ones rotate)."""


@dataclass(frozen=True)
class SignedAnswer:
    """A 2xx answer: its parsed body, when the request that got it was sent and when the answer arrived."""

    body: Any
    sent_at: float
    received_at: float


def _parse_retry_after(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _network_cause(error: BaseException) -> str:
    """What failed, as the Node client names it: the system error's code and text (``ECONNREFUSED
    (Connection refused)``), found along the chain botocore and urllib3 wrap it in; else the error's text."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in errno.errorcode:
            return f"{errno.errorcode[current.errno]} ({current.strerror})"
        # botocore keeps urllib3's error in kwargs["error"]; urllib3 keeps the socket's in __context__.
        kwargs = getattr(current, "kwargs", None)
        wrapped = kwargs.get("error") if isinstance(kwargs, dict) else None
        pending.extend([wrapped, current.__cause__, current.__context__])
    return str(error)


def _parse_json(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


class SignedCaller:
    """Sends signed calls to the token API at ``endpoint`` (base URL including the stage)."""

    def __init__(
        self,
        *,
        endpoint: str,
        region: str,
        credentials: CredentialsSource,
        transport: Transport,
        clock: Clock,
    ) -> None:
        self._base = endpoint.rstrip("/")
        self._region = region
        self._credentials = credentials
        self._transport = transport
        self._clock = clock

    def _send(
        self, method: str, path: str, query: Mapping[str, str], body: object
    ) -> tuple[int, Mapping[str, str], bytes]:
        url = f"{self._base}{path}"
        if query:
            url = f"{url}?{urlencode(query)}"
        payload = None if body is None else json.dumps(body).encode()
        headers = {"accept": "application/json"}
        if payload is not None:
            headers["content-type"] = "application/json"
        request = AWSRequest(method=method, url=url, data=payload, headers=headers)
        frozen = self._credentials()
        SigV4Auth(
            Credentials(frozen.access_key, frozen.secret_key, frozen.token), "execute-api", self._region
        ).add_auth(request)
        try:
            response = self._transport.send(method, url, dict(request.headers.items()), payload)
        except (OSError, HTTPClientError, BotocoreConnectionError) as error:
            raise TokenVendorClientError(
                "NetworkError", f"token vendor unreachable ({self._base}): {_network_cause(error)}", status=0
            ) from error
        return response.status, response.headers, response.body

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: object = None,
        retry_budget_seconds: float,
    ) -> SignedAnswer:
        """Resolves with the 2xx answer; raises a typed error. ``503``/``429`` answers are waited out per
        ``Retry-After`` (1 s when none is named) while the total wait stays within ``retry_budget_seconds``;
        past it the error is raised."""
        started = self._clock.now()
        while True:
            sent_at = self._clock.now()
            status, headers, data = self._send(method, path, query or {}, body)
            parsed = _parse_json(data)
            if 200 <= status < 300:
                return SignedAnswer(body=parsed, sent_at=sent_at, received_at=self._clock.now())
            retry_after = _parse_retry_after(headers.get("retry-after"))
            if status in (503, 429):
                # The vendor names when the successor (or Identity) is due: wait for it while the budget lasts.
                wait = RETRY_WITHOUT_RETRY_AFTER_SECONDS if retry_after is None else float(retry_after)
                if self._clock.now() + wait - started <= retry_budget_seconds:
                    self._clock.sleep(wait)
                    continue
            raise error_from_response(status, headers, parsed, retry_after)
