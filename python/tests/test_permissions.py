"""The permission table: the package's copy is the contract's (functions/contract/marketo-permissions.json),
and it maps paths as the Node client does."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from conftest import REPO

from marketo_token_vendor.permissions import (
    MARKETO_API_PERMISSIONS,
    required_permission,
    role_grants,
)

CONTRACT = REPO / "functions" / "contract" / "marketo-permissions.json"

# The seed's permission list: Read-Only / Read-Write for eleven families, Approve Assets, Execute Campaign.
SEED_FAMILIES = [
    "Activity",
    "Activity Metadata",
    "Assets",
    "Campaign",
    "Company",
    "Custom Object",
    "Lead",
    "Named Account",
    "Named Account List",
    "Opportunity",
    "Sales Person",
]
SEED_PERMISSIONS = [
    *(f"{access} {family}" for family in SEED_FAMILIES for access in ("Read-Only", "Read-Write")),
    "Approve Assets",
    "Execute Campaign",
]

ONE_REQUEST_PER_PERMISSION = [
    ("GET", "/rest/v1/activities.json?nextPageToken=abc", "Read-Only Activity"),
    ("POST", "/rest/v1/activities/external.json", "Read-Write Activity"),
    ("GET", "/rest/v1/activities/external/types.json", "Read-Only Activity Metadata"),
    ("POST", "/rest/v1/activities/external/type.json", "Read-Write Activity Metadata"),
    ("GET", "/rest/asset/v1/emails.json?maxReturn=1", "Read-Only Assets"),
    ("POST", "/rest/asset/v1/email/1001/content.json", "Read-Write Assets"),
    ("GET", "/rest/v1/campaigns.json?batchSize=1", "Read-Only Campaign"),
    ("POST", "/rest/v1/campaigns/1001.json", "Read-Write Campaign"),
    ("GET", "/rest/v1/companies/describe.json", "Read-Only Company"),
    ("POST", "/rest/v1/companies/delete.json", "Read-Write Company"),
    ("GET", "/rest/v1/customobjects/car_c/describe.json", "Read-Only Custom Object"),
    ("POST", "/rest/v1/customobjects/car_c.json", "Read-Write Custom Object"),
    ("GET", "/rest/v1/leads.json?filterType=id&filterValues=1", "Read-Only Lead"),
    ("POST", "/rest/v1/leads.json", "Read-Write Lead"),
    ("GET", "/rest/v1/namedaccounts/describe.json", "Read-Only Named Account"),
    ("POST", "/rest/v1/namedaccounts.json", "Read-Write Named Account"),
    ("GET", "/rest/v1/namedaccountlists.json", "Read-Only Named Account List"),
    ("POST", "/rest/v1/namedaccountlists/delete.json", "Read-Write Named Account List"),
    ("GET", "/rest/v1/opportunities/roles.json", "Read-Only Opportunity"),
    ("POST", "/rest/v1/opportunities.json", "Read-Write Opportunity"),
    ("GET", "/rest/v1/salespersons/describe.json", "Read-Only Sales Person"),
    ("POST", "/rest/v1/salespersons/delete.json", "Read-Write Sales Person"),
    ("POST", "/rest/asset/v1/email/1001/approveDraft.json", "Approve Assets"),
    ("POST", "/rest/v1/campaigns/1001/trigger.json", "Execute Campaign"),
]


def test_ships_the_contracts_table_unchanged() -> None:
    shipped = files("marketo_token_vendor").joinpath("marketo_permissions.json").read_text(encoding="utf-8")

    assert json.loads(shipped) == json.loads(CONTRACT.read_text(encoding="utf-8"))


def test_holds_the_seeds_24_permissions() -> None:
    assert sorted(MARKETO_API_PERMISSIONS) == sorted(SEED_PERMISSIONS)


def test_maps_one_request_to_each_permission_of_the_seeds_table() -> None:
    mapped = [required_permission(method, path) for method, path, _ in ONE_REQUEST_PER_PERMISSION]

    assert [need.permission if need else None for need in mapped] == [
        p for _, _, p in ONE_REQUEST_PER_PERMISSION
    ]
    assert {need.permission for need in mapped if need} == set(SEED_PERMISSIONS)


@pytest.mark.parametrize(
    ("method", "target", "permission"),
    [
        ("POST", "/rest/v1/leads.json?_method=GET", "Read-Only Lead"),
        ("POST", "/bulk/v1/leads/export/create.json", "Read-Only Lead"),
        ("GET", "/rest/v1/activities/types.json", "Read-Only Activity"),
        (
            "GET",
            "https://123-ABC-456.mktorest.com//rest/v1/namedAccountLists.json",
            "Read-Only Named Account List",
        ),
        ("GET", "/rest/v1/namedaccountlist/abc/namedaccounts.json", "Read-Only Named Account"),
        ("GET", "/rest/v1/customobjects/schema.json", "Read-Only Custom Object Type"),
    ],
)
def test_maps_paths_as_the_node_client_does(method: str, target: str, permission: str) -> None:
    need = required_permission(method, target)

    assert need is not None and need.permission == permission


def test_knows_no_permission_for_paths_outside_the_table() -> None:
    assert required_permission("GET", "/rest/v1/stats/usage.json") is None


def test_lets_read_write_grant_read_only_but_not_the_other_way() -> None:
    assert role_grants(["Read-Write Lead"], "Read-Only Lead") is True
    assert role_grants(["Read-Only Lead"], "Read-Write Lead") is False
