"""Marketo's 603 "Access denied" (HTTP 200, ``success: false``): the token is fine, the role of the Custom
Service's API-only user lacks a permission. ``request`` and ``with_token`` turn it into
``MarketoAccessDenied``, naming the REST path and the permission it needs (from the contract's table, as the
Node client does). It is never retried and never invalidates the token: a new token of the same Custom
Service has the same role.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from .permissions import required_permission
from .tokens import MarketoToken

ACCESS_DENIED_CODE = "603"
"""Marketo's error code for a call outside the API-only user's role."""

T = TypeVar("T")


def _describe(client_id: str, method: str | None, path: str | None, permission: str | None) -> str:
    if method is None or path is None:
        return (
            f"Marketo denied a call to client {client_id} (603 Access denied): the role of its API-only user "
            "lacks the permission the call needs; use request, or raise MarketoApiError with method and path, "
            "to have it named"
        )
    what = f"Marketo denied {method} {path} to client {client_id} (603 Access denied)"
    if permission is None:
        return (
            f"{what}: the permission this path needs is not in the table of the vendor's client; see the role "
            "of its API-only user (Admin > Users & Roles)"
        )
    wider = (
        f" ({permission.replace('Read-Only ', 'Read-Write ', 1)} also grants it)"
        if permission.startswith("Read-Only ")
        else ""
    )
    return (
        f"{what}: the role of its API-only user lacks {permission}{wider}; add the permission to that role "
        "(Admin > Users & Roles), or call with a client whose role has it"
    )


class MarketoAccessDenied(Exception):
    """Marketo answered 603: the role of the client's API-only user lacks the permission this call needs."""

    code = "MarketoAccessDenied"
    """Stable code of this error (Marketo's own code is ``marketo_code``)."""
    marketo_code = ACCESS_DENIED_CODE
    retryable = False
    """A new token has the same role: trying again cannot help."""

    def __init__(self, client_id: str, method: str | None = None, path: str | None = None) -> None:
        self.client_id = client_id
        """The Custom Service whose token was used (for a pool: the member that was picked)."""
        self.method = method.upper() if method is not None and path is not None else None
        self.path = path if method is not None else None
        """The REST path without its query string; ``None`` when a ``with_token`` callback returned the body."""
        needed = required_permission(self.method, self.path) if self.method and self.path else None
        self.permission = needed.permission if needed else None
        """The permission the path needs; ``None`` for paths the table does not cover."""
        super().__init__(_describe(client_id, self.method, self.path, self.permission))


def _is_code(value: object) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) == ACCESS_DENIED_CODE


def is_access_denied(value: object) -> bool:
    """Whether ``value`` is a 603: an error (or mapping) with that ``code``, or a failed Marketo body."""
    own = value.get("code") if isinstance(value, Mapping) else getattr(value, "code", None)
    if _is_code(own):
        return True
    if isinstance(value, Mapping) and value.get("success") is False:
        errors = value.get("errors")
        return isinstance(errors, list) and any(
            isinstance(entry, Mapping) and _is_code(entry.get("code")) for entry in errors
        )
    return False


def fail_on_access_denied(fn: Callable[[MarketoToken], T]) -> Callable[[MarketoToken], T]:
    """Wraps a ``with_token`` callback: a 603 it raises (with the request, when the error names one) or
    returns as a Marketo body becomes ``MarketoAccessDenied`` for the client whose token it was given."""

    def guarded(token: MarketoToken) -> T:
        try:
            value = fn(token)
        except MarketoAccessDenied:
            raise
        except Exception as error:
            if is_access_denied(error):
                raise MarketoAccessDenied(
                    token.client_id, getattr(error, "method", None), getattr(error, "path", None)
                ) from error
            raise
        if is_access_denied(value):
            raise MarketoAccessDenied(token.client_id)
        return value

    return guarded
