"""The client's defaults, in one place, the same as the Node client's (``client/defaults.ts``)."""

from __future__ import annotations

DEFAULT_MIN_VALIDITY_SECONDS = 20
"""``get_token`` / ``get_instance_token``: seconds of validity a token must have left (the API's default)."""

REQUEST_MIN_VALIDITY_SECONDS = 1
"""``request`` / ``with_token`` / ``with_instance_token``: seconds that cover ONE Marketo request.

Marketo checks the token when the request arrives, and a 601/602 is recovered from by invalidating and
retrying once; so a token is used until its last second.
"""

ROTATION_ALLOWANCE_SECONDS = 30
"""How long past ``min_validity`` a rotation can take (the vendor asks Marketo for the successor shortly
after the expiry, Identity answers within its timeout and retries)."""

RETRY_WITHOUT_RETRY_AFTER_SECONDS = 1.0
"""Wait after a 503/429 that named no ``Retry-After``."""


def default_retry_budget_seconds(min_validity_seconds: float) -> float:
    """The default wait budget of one call asking for ``min_validity_seconds``: the rotation window."""
    return min_validity_seconds + ROTATION_ALLOWANCE_SECONDS
