"""Typed errors: the same codes as the Node client, mapped from the same answers."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from marketo_token_vendor import API_ERROR_CODES, GATEWAY_ERROR_CODES, TokenVendorClientError
from marketo_token_vendor.errors import error_from_response

NODE_ERRORS = REPO / "client" / "errors.ts"


def _node_codes(name: str) -> list[str]:
    source = NODE_ERRORS.read_text(encoding="utf-8")
    match = re.search(rf"export const {name} = \[(.*?)\] as const", source, re.DOTALL)
    assert match is not None, f"{name} not found in {NODE_ERRORS}"
    return re.findall(r"'([A-Za-z]+)'", match.group(1))


@pytest.mark.parametrize(
    ("name", "python_codes"),
    [("API_ERROR_CODES", API_ERROR_CODES), ("GATEWAY_ERROR_CODES", GATEWAY_ERROR_CODES)],
)
def test_has_exactly_the_node_clients_error_codes_in_its_order(
    name: str, python_codes: tuple[str, ...]
) -> None:
    assert list(python_codes) == _node_codes(name)


def test_takes_the_code_message_and_exact_wait_of_a_vendor_error_body() -> None:
    body = {"error": {"code": "PermitUnavailable", "message": "no slot", "retryAfterMs": 350}}

    error = error_from_response(429, {"retry-after": "1"}, body, 1)

    assert (error.code, str(error), error.status) == ("PermitUnavailable", "no slot", 429)
    assert (error.retry_after_seconds, error.retry_after_ms) == (1, 350)
    assert error.retryable is True


@pytest.mark.parametrize(
    ("status", "headers", "body", "code"),
    [
        (403, {"x-amzn-errortype": "InvalidSignatureException:x"}, {"message": "bad"}, "InvalidSignature"),
        (403, {"x-amzn-errortype": "UnrecognizedClientException"}, {"message": "who"}, "UnrecognizedClient"),
        (403, {}, {"message": "User: arn is not authorized to perform: execute-api:Invoke"}, "AccessDenied"),
        (403, {}, {"message": "Missing Authentication Token"}, "MissingAuthenticationToken"),
        (
            403,
            {},
            {"message": "Signature expired: 20261201T000000Z is now earlier than …"},
            "InvalidSignature",
        ),
        (429, {}, {"message": "Too Many Requests"}, "Throttled"),
        (502, {}, None, "InternalError"),
        (400, {}, "not json", "BadResponse"),
    ],
)
def test_maps_answers_the_gateway_gives_itself_as_the_node_client_does(
    status: int, headers: dict[str, str], body: object, code: str
) -> None:
    assert error_from_response(status, headers, body, None).code == code


def test_tells_a_used_up_daily_quota_is_not_worth_retrying() -> None:
    error = TokenVendorClientError("DailyQuotaExhausted", "used up", status=429, retry_after_seconds=3600)

    assert error.retryable is False
