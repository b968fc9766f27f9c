"""In-memory stand-ins for unit tests: a clock that moves only when slept on, and a transport that answers
from a script and records what was sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from botocore.credentials import ReadOnlyCredentials

from marketo_token_vendor import AwsCredentials, HttpResponse

KEY = AwsCredentials("UNITTESTKEY", "unit-test-local-secret")
ENDPOINT = "https://vendor.example/v1"
MARKETO = "https://123-abc-456.mktorest.com"


def key_source() -> ReadOnlyCredentials:
    """``KEY`` as the signer reads it."""
    return ReadOnlyCredentials(KEY.access_key_id, KEY.secret_access_key, None)


class _Never:
    def cancel(self) -> None:
        pass


def never(_seconds: float, _action: Callable[[], None]) -> _Never:
    """A schedule whose actions never run (a lingering release stays until close or the next acquire)."""
    return _Never()


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.time += seconds


@dataclass
class Sent:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)

    def json(self) -> object:
        return json.loads(self.body or b"null")


def answer(status: int, body: object, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode()
    )


def token_body(access_token: str, client_id: str = "my-sync", expires_in: int = 3000) -> dict[str, object]:
    return {
        "clientId": client_id,
        "accessToken": access_token,
        "tokenType": "bearer",
        "expiresIn": expires_in,
        "scope": "apis@example.com",
    }


def marketo_error(code: str) -> HttpResponse:
    return answer(200, {"requestId": "r", "success": False, "errors": [{"code": code, "message": "no"}]})


MARKETO_OK = answer(200, {"requestId": "r", "success": True, "result": [{"id": 1}]})

Responder = Callable[[Sent], HttpResponse]


@dataclass
class FakeTransport:
    """Answers each request with the next scripted answer for its ``METHOD path`` (the last one repeats)."""

    script: dict[str, list[HttpResponse | Exception]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    closed: bool = False

    def on(self, route: str, *answers: HttpResponse | Exception) -> FakeTransport:
        self.script.setdefault(route, []).extend(answers)
        return self

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> HttpResponse:
        request = Sent(method, url, dict(headers), body)
        self.sent.append(request)
        queue = self.script.get(f"{method} {request.path}")
        if not queue:
            raise AssertionError(f"unexpected request {method} {url}")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def close(self) -> None:
        self.closed = True

    def routes(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.sent]
