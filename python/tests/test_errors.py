"""Typed errors: the same codes as the Node client, mapped from the same answers."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import pytest
from conftest import REPO

from marketo_token_vendor import (
    API_ERROR_CODES,
    GATEWAY_ERROR_CODES,
    AwsCredentials,
    TokenClient,
    TokenVendorClientError,
)
from marketo_token_vendor.errors import error_from_response

NODE_ERRORS = REPO / "client" / "errors.ts"
#: The table the Node client's tests read too (test/unit/client/errors.test.ts).
GATEWAY_ANSWERS: list[dict[str, Any]] = json.loads(
    (REPO / "test" / "support" / "gateway-answers.json").read_text(encoding="utf-8")
)["cases"]


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


@pytest.mark.parametrize("answer", GATEWAY_ANSWERS, ids=[answer["name"] for answer in GATEWAY_ANSWERS])
def test_gives_each_answer_of_the_gateway_and_the_vendor_the_node_clients_code(
    answer: dict[str, Any],
) -> None:
    error = error_from_response(answer["status"], answer["headers"], answer["body"], None)

    assert error.code == answer["code"]


def test_keeps_the_gateways_message_from_the_stacks_error_body() -> None:
    message = "The security token included in the request is invalid."
    body = {"error": {"code": "AccessDenied", "message": message}}

    error = error_from_response(403, {"x-amzn-errortype": "UnrecognizedClientException"}, body, None)

    assert (error.code, str(error)) == ("UnrecognizedClient", message)


def test_names_the_refused_connection_and_its_port_in_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe is closed.
    endpoint = f"http://127.0.0.1:{port}"
    credentials = AwsCredentials("AKIDEXAMPLE", "example-secret-key")
    with TokenClient(endpoint, "us-east-1", credentials=credentials) as tokens:
        with pytest.raises(TokenVendorClientError) as raised:
            tokens.get_token("demo-client")

    assert raised.value.code == "NetworkError"
    assert str(raised.value) == f"token vendor unreachable ({endpoint}): ECONNREFUSED (Connection refused)"
    assert raised.value.__cause__ is not None
