"""Tokens from local mode: the cache, single flight across threads, pools, and a key without the grant."""

from __future__ import annotations

import threading

import pytest
from conftest import FULL_KEY, NARROW_KEY, Vendor

from marketo_token_vendor import AwsCredentials, TokenClient, TokenVendorClientError


def _vend_requests(vendor: Vendor, path: str) -> list[dict[str, object]]:
    return [r for r in vendor.counters()["requests"] if r["path"] == path]


def test_serves_a_second_get_token_from_memory_without_asking_the_vendor(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        first = tokens.get_token("py-mrp", min_validity=60)
        before = len(_vend_requests(main_vendor, "/tokens/py-mrp"))
        second = tokens.get_token("py-mrp", min_validity=60)

    assert second == first
    assert len(_vend_requests(main_vendor, "/tokens/py-mrp")) == before
    assert first.client_id == "py-mrp"
    assert first.token_type == "bearer"


def test_asks_the_vendor_once_for_sixteen_threads_that_want_a_token_at_the_same_moment(
    main_vendor: Vendor,
) -> None:
    tokens = TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY)
    start = threading.Barrier(16)
    seen: list[str] = []

    def consumer() -> None:
        start.wait()
        seen.append(tokens.get_token("py-threads").access_token)

    threads = [threading.Thread(target=consumer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tokens.close()

    assert len(seen) == 16
    assert len(set(seen)) == 1
    assert [r["status"] for r in _vend_requests(main_vendor, "/tokens/py-threads")] == [200]


@pytest.mark.parametrize(
    ("credentials", "region", "code"),
    [
        (AwsCredentials(FULL_KEY.access_key_id, "not-the-secret"), None, "InvalidSignature"),
        (AwsCredentials("NOSUCHKEY", "whatever-secret"), None, "UnrecognizedClient"),
        (FULL_KEY, "eu-west-1", "InvalidSignature"),
    ],
    ids=["a wrong secret", "an unknown key", "a signature for another region"],
)
def test_names_what_is_wrong_with_the_signature_in_the_error_code(
    main_vendor: Vendor, credentials: AwsCredentials, region: str | None, code: str
) -> None:
    with (
        TokenClient(main_vendor.url, region or main_vendor.region, credentials=credentials) as tokens,
        pytest.raises(TokenVendorClientError) as refused,
    ):
        tokens.get_token("py-mrp")

    assert (refused.value.code, refused.value.status) == (code, 403)


def test_refuses_a_key_without_a_grant_for_the_client_with_access_denied(main_vendor: Vendor) -> None:
    with (
        TokenClient(main_vendor.url, main_vendor.region, credentials=NARROW_KEY) as tokens,
        pytest.raises(TokenVendorClientError) as refused,
    ):
        tokens.get_token("py-denied")

    assert refused.value.code == "AccessDenied"
    assert refused.value.status == 403
    assert refused.value.retryable is False
    assert "is not authorized to perform: execute-api:Invoke" in str(refused.value)


def test_gets_a_pool_token_from_one_of_the_instance_members(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        token = tokens.get_instance_token("py-pool", min_validity=60)

    assert token.client_id in ("py-pool-a", "py-pool-b")


def test_shows_only_a_fingerprint_of_the_token_in_its_repr(main_vendor: Vendor) -> None:
    with TokenClient(main_vendor.url, main_vendor.region, credentials=FULL_KEY) as tokens:
        token = tokens.get_token("py-mrp")

    assert token.access_token not in repr(token)
    assert token.fingerprint in repr(token)
