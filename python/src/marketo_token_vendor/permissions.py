"""Marketo's API permissions and which one a REST path needs.

The table is the contract's (``functions/contract/marketo-permissions.json`` in the repository, with the
Marketo pages it comes from); the package ships a copy, ``marketo_permissions.json``, and a test checks the
two agree. Rules are tried in order: the first whose pattern (case-insensitive, on the URL path) matches
names a permission, or a family whose Read-Only/Read-Write permission follows from ``access`` or from the
method (GET, HEAD and POST ``?_method=GET`` read). Read-Write X also grants Read-Only X.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

_TABLE: dict[str, Any] = json.loads(
    files(__package__).joinpath("marketo_permissions.json").read_text(encoding="utf-8")
)

MARKETO_PERMISSION_FAMILIES: tuple[str, ...] = tuple(_TABLE["families"])
"""The families of Marketo's "Access API" group, in the permission list's order."""

MARKETO_API_PERMISSIONS: tuple[str, ...] = tuple(_TABLE["accessApiPermissions"])
"""The 24 permissions of the "Access API" group, in the order of Marketo's permission list."""

OTHER_MARKETO_PERMISSIONS: tuple[str, ...] = (
    *(f"{access} {family}" for family in _TABLE["otherFamilies"] for access in ("Read-Only", "Read-Write")),
    *_TABLE["otherPermissions"],
)
"""Permissions Marketo's endpoint reference names outside that list (custom object types, schema fields…)."""


@dataclass(frozen=True)
class PermissionRequirement:
    """What a request needs from the API-only user's role."""

    permission: str
    access: Literal["read", "write", "special"]
    family: str | None = None
    """The family (``Lead``, ``Assets``…) when the permission is one of its Read-Only/Read-Write pair."""


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    permission: str | None
    family: str | None
    access: Literal["read", "write"] | None


_RULES: tuple[_Rule, ...] = tuple(
    _Rule(
        re.compile(rule["pattern"], re.IGNORECASE),
        rule.get("permission"),
        rule.get("family"),
        rule.get("access"),
    )
    for rule in _TABLE["rules"]
)


def _reads(method: str, query: str) -> bool:
    verb = method.upper()
    return verb in ("GET", "HEAD") or (verb == "POST" and parse_qs(query).get("_method") == ["GET"])


def required_permission(method: str, target: str) -> PermissionRequirement | None:
    """The permission Marketo wants for ``method`` on ``target`` (a URL, or a path with its query), or
    ``None`` for paths the table does not know (Identity, usage statistics)."""
    parts = urlsplit(target)
    path = re.sub(r"/{2,}", "/", parts.path)
    rule = next((candidate for candidate in _RULES if candidate.pattern.search(path)), None)
    if rule is None:
        return None
    if rule.permission is not None:
        return PermissionRequirement(rule.permission, "special")
    family = rule.family or ""
    access = rule.access or ("read" if _reads(method, parts.query) else "write")
    prefix = "Read-Only" if access == "read" else "Read-Write"
    return PermissionRequirement(f"{prefix} {family}", access, family)


def role_grants(role: Iterable[str], permission: str) -> bool:
    """Whether a role holding ``role`` may use ``permission``: Read-Write X also grants Read-Only X."""
    held = set(role)
    if permission in held:
        return True
    return permission.startswith("Read-Only ") and f"Read-Write {permission[len('Read-Only ') :]}" in held
