"""Python client of the Marketo token vendor: SigV4-signed token requests (botocore), a thread-safe
in-memory cache with single flight per client, ``with_token`` / ``request`` that recover from Marketo
601/602 once and name the permission a 603 lacks (``MarketoAccessDenied``), the shared API budget's
permits, Marketo's Bulk API under the vendor's slots (``bulk_export``), and errors whose ``code`` is the Node
client's.

    from marketo_token_vendor import TokenClient

    tokens = TokenClient(endpoint, region)  # the default AWS credential chain signs
    response = tokens.request("my-sync", "GET", f"{rest_url}/rest/v1/leads.json", params={...})
"""

from .access_denied import ACCESS_DENIED_CODE, MarketoAccessDenied
from .budget import BudgetEvent, BudgetOptions, BudgetStats
from .bulk import BulkExportEvent, BulkExportOptions, BulkExportResult, BulkKind, BulkSlot
from .client import TokenClient
from .clock import Clock, SystemClock
from .credentials import AwsCredentials
from .defaults import (
    DEFAULT_MIN_VALIDITY_SECONDS,
    REQUEST_MIN_VALIDITY_SECONDS,
    ROTATION_ALLOWANCE_SECONDS,
    default_retry_budget_seconds,
)
from .errors import (
    API_ERROR_CODES,
    GATEWAY_ERROR_CODES,
    ApiErrorCode,
    ErrorCode,
    GatewayErrorCode,
    MarketoApiError,
    TokenVendorClientError,
)
from .marketo import (
    TOKEN_REJECTION_CODES,
    MarketoLimitCode,
    MarketoResponse,
    marketo_limit_code,
    token_rejection_code,
)
from .permits import Permit
from .tokens import MarketoToken
from .transport import BotocoreTransport, HttpResponse, Transport

__version__ = "0.1.0"

__all__ = [
    "ACCESS_DENIED_CODE",
    "API_ERROR_CODES",
    "DEFAULT_MIN_VALIDITY_SECONDS",
    "GATEWAY_ERROR_CODES",
    "REQUEST_MIN_VALIDITY_SECONDS",
    "ROTATION_ALLOWANCE_SECONDS",
    "TOKEN_REJECTION_CODES",
    "ApiErrorCode",
    "AwsCredentials",
    "BotocoreTransport",
    "BudgetEvent",
    "BudgetOptions",
    "BudgetStats",
    "BulkExportEvent",
    "BulkExportOptions",
    "BulkExportResult",
    "BulkKind",
    "BulkSlot",
    "Clock",
    "ErrorCode",
    "GatewayErrorCode",
    "HttpResponse",
    "MarketoAccessDenied",
    "MarketoApiError",
    "MarketoLimitCode",
    "MarketoResponse",
    "MarketoToken",
    "Permit",
    "SystemClock",
    "TokenClient",
    "TokenVendorClientError",
    "Transport",
    "__version__",
    "default_retry_budget_seconds",
    "marketo_limit_code",
    "token_rejection_code",
]
