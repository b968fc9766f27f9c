"""Reading Marketo's answers: 601/602 (the token is no good), 603 (the role lacks a permission) and
606/607/615 (the instance's limits).

Marketo answers all of them with HTTP 200 and ``{"success": false, "errors": [{"code": "602", …}]}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .access_denied import is_access_denied

TOKEN_REJECTION_CODES: frozenset[str] = frozenset({"601", "602"})
"""The REST error codes after which a fresh token must be fetched."""

MarketoLimitCode = Literal["606", "607", "615"]
_LIMIT_CODES: tuple[MarketoLimitCode, ...] = ("606", "607", "615")


def _codes_of(value: object) -> list[str]:
    """Every code ``value`` carries: its own ``code`` (attribute or key), then a failed body's ``errors``."""
    codes: list[str] = []
    own = value.get("code") if isinstance(value, Mapping) else getattr(value, "code", None)
    if isinstance(own, (str, int)) and not isinstance(own, bool):
        codes.append(str(own))
    if isinstance(value, Mapping) and value.get("success") is False:
        errors = value.get("errors")
        if isinstance(errors, list):
            for entry in errors:
                code = entry.get("code") if isinstance(entry, Mapping) else None
                if isinstance(code, (str, int)) and not isinstance(code, bool):
                    codes.append(str(code))
    return codes


def token_rejection_code(value: object) -> str | None:
    """The 601/602 carried by ``value`` (an error with ``code``, or a Marketo body), if any."""
    return next((code for code in _codes_of(value) if code in TOKEN_REJECTION_CODES), None)


def marketo_limit_code(value: object) -> MarketoLimitCode | None:
    """The 606/607/615 carried by ``value`` (an error with ``code``, or a Marketo body), if any."""
    for code in _codes_of(value):
        for limit in _LIMIT_CODES:
            if code == limit:
                return limit
    return None


@dataclass(frozen=True)
class MarketoResponse:
    """A Marketo REST answer as ``TokenClient.request`` returns it."""

    status: int
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.body)

    def _json_or_none(self) -> object:
        if "json" not in self.headers.get("content-type", ""):
            return None
        try:
            return self.json()
        except ValueError:
            return None

    @property
    def access_denied(self) -> bool:
        """True when Marketo answered 603: the role of the token's API-only user lacks a permission."""
        return is_access_denied(self._json_or_none())

    @property
    def rejection_code(self) -> str | None:
        """601/602 when Marketo refused the token this request carried."""
        return token_rejection_code(self._json_or_none())

    @property
    def limit_code(self) -> MarketoLimitCode | None:
        """606/607/615 when Marketo refused the request for the instance's limits."""
        return marketo_limit_code(self._json_or_none())
