"""Errors of the client. Codes are the Node client's (``client/errors.ts``): the token API's
``{"error": {"code"}}`` values, plus the codes of answers API Gateway gives itself (signature,
authorization, throttling) and of transport failures. A test compares both lists with the Node source.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, get_args

ApiErrorCode = Literal[
    "InvalidRequest",
    "UnknownClient",
    "CredentialsMisconfigured",
    "CredentialsUnavailable",
    "CredentialsRejected",
    "IdentityUnavailable",
    "IdentityBadResponse",
    "TokenRotating",
    "StoreUnavailable",
    "AccessDenied",
    "NotFound",
    "InternalError",
    "PermitUnavailable",
    "DailyQuotaExhausted",
    "BulkSlotUnavailable",
    "DailyExportQuotaExhausted",
    "BulkSlotNotHeld",
]
"""Codes the vendor's API returns in ``{"error": {"code", "message"}}``."""

GatewayErrorCode = Literal[
    "MissingAuthenticationToken",
    "IncompleteSignature",
    "InvalidSignature",
    "UnrecognizedClient",
    "Throttled",
    "NetworkError",
    "BadResponse",
]
"""Codes for answers that come from API Gateway (or local mode's IAM emulation), or from the network."""

ErrorCode = Literal[ApiErrorCode, GatewayErrorCode]

API_ERROR_CODES: tuple[ApiErrorCode, ...] = get_args(ApiErrorCode)
GATEWAY_ERROR_CODES: tuple[GatewayErrorCode, ...] = get_args(GatewayErrorCode)


class TokenVendorClientError(Exception):
    """A failed call to the token vendor. ``status`` is the HTTP status (0 when no answer arrived)."""

    code: ErrorCode
    status: int
    retry_after_seconds: int | None
    """Seconds after which a retry may succeed (from ``Retry-After``), when the vendor said so."""
    retry_after_ms: int | None
    """The exact wait the vendor named (``PermitUnavailable``, ``BulkSlotUnavailable``): ``Retry-After``
    is whole seconds."""
    resets_at: float | None
    """``DailyExportQuotaExhausted``: when the quota comes back (epoch seconds; 00:00 America/Chicago)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        status: int,
        retry_after_seconds: int | None = None,
        retry_after_ms: int | None = None,
        resets_at: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after_seconds = retry_after_seconds
        self.retry_after_ms = retry_after_ms
        self.resets_at = resets_at

    @property
    def retryable(self) -> bool:
        """Whether trying again later may succeed."""
        # A used-up daily quota only comes back at 00:00 America/Chicago: fail fast, do not retry.
        if self.code in ("DailyQuotaExhausted", "DailyExportQuotaExhausted"):
            return False
        return self.status in (429, 503) or self.code == "NetworkError"

    def __repr__(self) -> str:
        return f"TokenVendorClientError(code={self.code!r}, status={self.status}, message={self.message!r})"


class MarketoApiError(Exception):
    """A Marketo REST answer that carried an error (``success: false``).

    Raise it from a ``with_token`` callback: 601 and 602 make the client fetch a fresh token and run the
    callback once more; 603 becomes ``MarketoAccessDenied``, naming the permission when ``method`` and
    ``path`` name the call.
    """

    code: str
    """Marketo's error code, e.g. ``"602"``."""
    method: str | None
    path: str | None
    """The request Marketo answered (path without query), if given."""

    def __init__(
        self, code: str, message: str, *, method: str | None = None, path: str | None = None
    ) -> None:
        super().__init__(f"Marketo error {code}: {message}")
        self.code = code
        self.method = method
        self.path = path


_ERROR_TYPE_TO_CODE: Mapping[str, ErrorCode] = {
    "MissingAuthenticationTokenException": "MissingAuthenticationToken",
    "IncompleteSignatureException": "IncompleteSignature",
    "InvalidSignatureException": "InvalidSignature",
    "UnrecognizedClientException": "UnrecognizedClient",
    "AccessDeniedException": "AccessDenied",
    "TooManyRequestsException": "Throttled",
}
"""API Gateway's ``x-amzn-ErrorType`` values (the part before ``:``) and the codes they stand for."""

_UNKNOWN_KEY_MESSAGE = "The security token included in the request is invalid."
"""API Gateway's message for an access key it does not know. AWS services send it as
``UnrecognizedClientException``; AWS's API Gateway 403 guide lists it under ``AccessDeniedException``: the
message decides."""


def _api_code(value: object) -> ApiErrorCode | None:
    for code in API_ERROR_CODES:
        if value == code:
            return code
    return None


def epoch_seconds(value: object) -> float | None:
    """An ISO 8601 instant (``2026-12-02T06:00:00.000Z``) as epoch seconds; ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
def _gateway_code(status: int, error_type: str, message: str) -> ErrorCode | None:
    """The code of a refusal API Gateway made itself, from its ``x-amzn-ErrorType`` or, without one, its
    message."""
    mapped = _ERROR_TYPE_TO_CODE.get(error_type)
    if status == 403 and message == _UNKNOWN_KEY_MESSAGE and (mapped or "AccessDenied") == "AccessDenied":
        return "UnrecognizedClient"
    if mapped is not None:
        return mapped
    if status == 403 and message == "Missing Authentication Token":
        return "MissingAuthenticationToken"
    if status == 403 and message.startswith("Signature expired"):
        return "InvalidSignature"
    return None


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: object,
    retry_after_seconds: int | None,
) -> TokenVendorClientError:
    """Turns a non-2xx answer into a typed error, whichever layer produced it (as the Node client does).

    A refusal of API Gateway's (or of local mode, which answers the same) names its kind in
    ``x-amzn-ErrorType``; that beats the body's code, which the stack's gateway responses set to
    ``AccessDenied`` for every 403. ``headers`` have lower-case names.
    """
    api_error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(api_error, dict):
        api_error = None
    # The stack's gateway responses and the handler say {"error": {"message"}}; API Gateway's own
    # defaults say {"message"}.
    raw_message = api_error.get("message") if api_error is not None else None
    if raw_message is None and isinstance(body, dict):
        raw_message = body.get("message")
    message = str(raw_message) if raw_message is not None else f"HTTP {status}"

    def typed(
        code: ErrorCode, retry_after_ms: int | None = None, resets_at: float | None = None
    ) -> TokenVendorClientError:
        return TokenVendorClientError(
            code,
            message,
            status=status,
            retry_after_seconds=retry_after_seconds,
            retry_after_ms=retry_after_ms,
            resets_at=resets_at,
        )

    from_gateway = _gateway_code(status, headers.get("x-amzn-errortype", "").split(":")[0], message)
    if from_gateway is not None:
        return typed(from_gateway)
    code = _api_code(api_error.get("code")) if api_error is not None else None
    if code is not None:
        exact_wait = api_error.get("retryAfterMs") if api_error is not None else None
        return typed(
            code,
            int(exact_wait)
            if isinstance(exact_wait, (int, float)) and not isinstance(exact_wait, bool)
            else None,
            epoch_seconds(api_error.get("resetsAt") if api_error is not None else None),
        )
    if status == 429:
        return typed("Throttled")
    if status == 403 and "not authorized" in message:
        return typed("AccessDenied")
    return typed("InternalError" if status >= 500 else "BadResponse")
