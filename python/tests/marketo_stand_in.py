"""A stand-in for marketorestpython 0.5.x's ``MarketoClient`` (not installable here): the same constructor,
``authenticate()`` (returns at once without a secret), ``execute()`` (re-authenticates on 601/602 only with a
secret, else raises ``Exception({"message", "code"})``), ``_api_call()`` (every HTTP call; the token moves
from the arguments to a Bearer header; a failed body raises ``MarketoException``), and two API methods that
call ``self.authenticate()`` first, as each of marketorestpython's do."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from typing import Any


class MarketoException(Exception):
    def __init__(self, exc: dict[str, Any]) -> None:
        self.message = exc["message"]
        self.code = exc["code"]


class MarketoClient:
    def __init__(
        self,
        munchkin_id: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_limit: int | None = None,
        max_retry_time: int = 300,
        access_token: str | None = None,
        requests_timeout: float | None = None,
    ) -> None:
        assert munchkin_id is not None
        assert (client_id and client_secret) or access_token
        self.valid_until: float | None = None
        self.host = "https://" + munchkin_id + ".mktorest.com"
        self.client_id = client_id
        self.client_secret = client_secret
        self.token = access_token
        self.API_CALLS_MADE = 0
        self.API_LIMIT = api_limit
        self.max_retry_time = max_retry_time
        self.requests_timeout = requests_timeout
        self.identity_calls = 0

    def _api_call(
        self, method: str, endpoint: str, args: dict[str, Any] | None = None, **_kwargs: Any
    ) -> Any:
        args = dict(args or {})
        headers = {}
        token = args.pop("access_token", None)
        if token:
            headers["Authorization"] = "Bearer " + token
        url = f"{endpoint}?{urllib.parse.urlencode(args)}" if args else endpoint
        request = urllib.request.Request(url, headers=headers, method=method.upper())
        with urllib.request.urlopen(request, timeout=30) as response:
            result = json.load(response)
        self.API_CALLS_MADE += 1
        if not result.get("success"):
            raise MarketoException(result["errors"][0])
        return result

    def execute(self, method: str, *args: Any, **kargs: Any) -> Any:
        result = None
        for _ in range(10):
            try:
                method_map = {
                    "get_lead_by_id": self.get_lead_by_id,
                    "get_multiple_leads_by_filter_type": self.get_multiple_leads_by_filter_type,
                }
                result = method_map[method](*args, **kargs)
            except MarketoException as e:
                if e.code in ["601", "602"] and self.client_secret:
                    self.authenticate()
                    continue
                raise Exception({"message": e.message, "code": e.code})  # noqa: TRY002 - as marketorestpython does
            break
        return result

    def authenticate(self) -> None:
        if (self.valid_until is not None and self.valid_until - time.time() >= 60) or not self.client_secret:
            return
        self.identity_calls += 1  # marketorestpython would ask Identity with the secret here
        raise AssertionError("a vended client must never authenticate with a secret")

    def get_lead_by_id(self, id: int, fields: str | None = None) -> Any:
        self.authenticate()
        args = {"access_token": self.token, "filterType": "id", "filterValues": str(id)}
        return self._api_call("get", self.host + "/rest/v1/leads.json", args)["result"]

    def get_multiple_leads_by_filter_type(self, filterType: str, filterValues: list[str]) -> Any:
        self.authenticate()
        args = {"access_token": self.token, "filterType": filterType, "filterValues": ",".join(filterValues)}
        return self._api_call("get", self.host + "/rest/v1/leads.json", args)["result"]
