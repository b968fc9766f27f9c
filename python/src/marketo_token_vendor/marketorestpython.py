"""Vended tokens for `marketorestpython <https://pypi.org/project/marketorestpython/>`_ 0.5.x clients.

marketorestpython's ``MarketoClient`` fetches its own token with a client id and secret. The client this
module builds never sees a secret: it is a subclass whose

- ``authenticate()`` (which every API method calls first) takes the token from the vendor whenever the one it
  holds has less than ``min_validity`` seconds left (the ``TokenClient``'s cache answers in between);
- ``execute()`` recovers from a 601/602 once: the token is reported to the vendor (``invalidate``) and the
  call runs again with the replacement (marketorestpython itself re-authenticates only with a secret);
- ``_api_call()`` (every HTTP call) runs under a permit of the instance's shared API budget, and reports
  the 606/615/607 Marketo answers to the vendor.

marketorestpython is imported only when a client is built without an explicit base class, never when this
module is imported. The ``*_yield`` methods raise a 601/602 from the generator, outside ``execute()``: a job
iterating them catches it, calls ``replace_token()`` and asks again.

    from marketo_token_vendor import TokenClient
    from marketo_token_vendor.marketorestpython import vended_marketo_client

    tokens = TokenClient(endpoint, region)
    mc = vended_marketo_client(tokens, "my-sync", "123-ABC-456")
    leads = mc.execute(method="get_multiple_leads_by_filter_type", filterType="email", filterValues=["a@b.c"])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .client import TokenClient
from .defaults import REQUEST_MIN_VALIDITY_SECONDS
from .marketo import TOKEN_REJECTION_CODES
from .tokens import MarketoToken

SUPPORTED_VERSIONS = "0.5.x"


def marketo_error_code(error: BaseException) -> str | None:
    """The Marketo code of what marketorestpython raised: ``MarketoException.code``, or the
    ``Exception({"message", "code"})`` its ``execute()`` turns that into."""
    code = getattr(error, "code", None)
    if isinstance(code, (str, int)) and not isinstance(code, bool):
        return str(code)
    first = error.args[0] if error.args else None
    if isinstance(first, Mapping) and isinstance(first.get("code"), (str, int)):
        return str(first["code"])
    return None


_classes: dict[type[Any], type[Any]] = {}


def vended_client_class(base: type[Any]) -> type[Any]:
    """The subclass of ``base`` (marketorestpython's ``MarketoClient``, or a class with its interface) that
    takes its tokens from the vendor. Built once per base."""
    if base in _classes:
        return _classes[base]

    class VendedMarketoClient(base):  # type: ignore[misc]
        """A marketorestpython client whose tokens come from the Marketo token vendor."""

        def __init__(
            self,
            munchkin_id: str,
            *,
            tokens: TokenClient,
            client_id: str,
            min_validity: float = REQUEST_MIN_VALIDITY_SECONDS,
            **options: Any,
        ) -> None:
            if options.get("client_secret") is not None or options.get("access_token") is not None:
                raise ValueError(
                    "a vended client takes no client_secret or access_token: the token vendor holds the secret"
                )
            token = tokens.get_token(client_id, min_validity=min_validity)
            # marketorestpython accepts a client without a secret when it is handed a token.
            super().__init__(munchkin_id, access_token=token.access_token, **options)
            self._vendor_tokens = tokens
            self._vendor_client_id = client_id
            self._vendor_min_validity = min_validity
            self._use(token)

        def _use(self, token: MarketoToken) -> None:
            self.token = token.access_token
            self.token_type = token.token_type
            self.scope = token.scope
            self.valid_until = token.expires_at
            self.expires_in = max(0, int(token.expires_at - self._vendor_tokens.clock.now()))

        def authenticate(self) -> None:
            """Takes a token with at least ``min_validity`` seconds left from the vendor (from memory while
            the one held has that much left)."""
            self._use(
                self._vendor_tokens.get_token(self._vendor_client_id, min_validity=self._vendor_min_validity)
            )

        def replace_token(self) -> None:
            """Reports the token held as rejected (601/602) and takes its replacement."""
            self._use(self._vendor_tokens.invalidate(self._vendor_client_id, self.token))

        def execute(self, method: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().execute(method, *args, **kwargs)
            except Exception as error:
                if marketo_error_code(error) not in TOKEN_REJECTION_CODES:
                    raise
            self.replace_token()
            return super().execute(method, *args, **kwargs)

        def _api_call(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            with self._vendor_tokens.permit(self._vendor_client_id) as permit:
                result = super()._api_call(method, endpoint, *args, **kwargs)
                permit.report(result)
                return result

    _classes[base] = VendedMarketoClient
    return VendedMarketoClient


def vended_marketo_client(
    tokens: TokenClient,
    client_id: str,
    munchkin_id: str,
    *,
    min_validity: float = REQUEST_MIN_VALIDITY_SECONDS,
    rest_url: str | None = None,
    base: type[Any] | None = None,
    **options: Any,
) -> Any:
    """A marketorestpython ``MarketoClient`` (0.5.x) for ``munchkin_id`` that takes the tokens of
    ``client_id`` from the vendor through ``tokens``.

    ``min_validity``: seconds a token must have left when an API method starts (default: one request; a
    601/602 is recovered from once). ``rest_url``: another REST base than ``https://<munchkin_id>.mktorest.com``
    (local mode's simulator). ``options``: the client's other arguments (``api_limit``, ``max_retry_time``,
    ``requests_timeout``); never ``client_secret``. ``base``: the class to extend (default
    ``marketorestpython.client.MarketoClient``, imported now)."""
    if base is None:
        try:
            from marketorestpython.client import MarketoClient
        except ImportError as error:
            raise ImportError(
                f"vended_marketo_client needs marketorestpython {SUPPORTED_VERSIONS} (pip install marketorestpython)"
            ) from error
        base = MarketoClient
    client = vended_client_class(base)(
        munchkin_id, tokens=tokens, client_id=client_id, min_validity=min_validity, **options
    )
    if rest_url is not None:
        client.host = rest_url.rstrip("/")
    return client
