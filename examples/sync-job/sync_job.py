"""The sync job in Python: pages every lead of ``MARKETO_CLIENT_ID``'s instance through the token vendor, a
permit of the shared budget per page, the token in the Authorization header, a 601/602 recovered from once.

The environment names the vendor as a deployed job's does (``TOKEN_VENDOR_ENDPOINT``, ``AWS_REGION``,
``MARKETO_CLIENT_ID``, ``MARKETO_REST_URL``, AWS credentials from the default chain). Against local mode::

    eval "$(npx marketo-token-vendor local env)" && python3 examples/sync-job/sync_job.py
    npx marketo-token-vendor local exec -- python3 examples/sync-job/sync_job.py   # the same, one command
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    from marketo_token_vendor import TokenClient
except ModuleNotFoundError:  # a clone without `pip install ./python`: use the package's sources beside it
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python" / "src"))
    from marketo_token_vendor import TokenClient

BATCH_SIZE = 300
MAX_PAGES = 1000


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} must be set: eval \"$(npx marketo-token-vendor local env)\" first (local mode)")
    return value


def main() -> None:
    client_id = _required("MARKETO_CLIENT_ID")
    rest_url = _required("MARKETO_REST_URL")
    pages = leads = 0
    next_page: str | None = None
    with TokenClient(_required("TOKEN_VENDOR_ENDPOINT"), _required("AWS_REGION")) as tokens:
        while pages < MAX_PAGES:
            params = {"batchSize": str(BATCH_SIZE), **({"nextPageToken": next_page} if next_page else {})}
            page = tokens.request(client_id, "GET", f"{rest_url}/rest/v1/leads.json", params=params).json()
            if page.get("success") is not True:
                error = (page.get("errors") or [{}])[0]
                code, message = error.get("code", "unknown"), error.get("message", "request failed")
                sys.exit(f"Marketo error {code}: {message}")
            pages += 1
            leads += len(page.get("result", []))
            next_page = page.get("nextPageToken") if page.get("moreResult") else None
            if not next_page:
                break
        stats = tokens.budget_stats()
    print(
        f"python sync job: {leads} leads in {pages} pages from {rest_url}, "
        f"{stats.permits} permits ({stats.waits} waits)"
    )


if __name__ == "__main__":
    main()
