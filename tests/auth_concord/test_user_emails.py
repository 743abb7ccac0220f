"""Users' emails as logins and their API access: stored by `create_user` as the user's primary email
address, unique among users ignoring case, found and verified by email as the App CRM API logs in; the
`apiAccess` field defaults to on, only administrators change it, and stores made before it upgrade with it on."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from polycrm.auth.directory import DirectoryError, NameTaken
from polycrm.core.users import set_user_active


def test_email_is_the_users_primary_address_and_api_access_a_field(harness, api):
    directory = harness.directory
    ana = directory.create_user("ana", None, email="Ana@Example.com")
    bob = directory.create_user("bob", None, api_access=False)
    shown = api.get(f"/api/v1/User/{ana}").json()
    assert shown["emailAddress"] == "Ana@Example.com" and shown["apiAccess"] is True
    assert shown["emailAddressData"][0]["primary"] is True
    shown = api.get(f"/api/v1/User/{bob}").json()
    assert shown["emailAddress"] is None and shown["apiAccess"] is False
    assert api.get(f"/api/v1/User/{harness.admin_id}").json()["apiAccess"] is True
    # Through the EspoCRM API too: on unless said otherwise, and an administrator may turn it off.
    created = api.post("/api/v1/User", json={"userName": "cy", "lastName": "Cy"}).json()
    assert created["apiAccess"] is True
    assert api.patch(f"/api/v1/User/{created['id']}", json={"apiAccess": False}).json()["apiAccess"] is False
    described = api.get("/api/v1/Metadata").json()["entityDefs"]["User"]["fields"]["apiAccess"]
    assert described["type"] == "bool" and described["default"] is True and "403" in described["tooltip"]


def test_emails_are_unique_among_users_ignoring_case(directory):
    directory.create_user("ana", None, email="ana@example.com")
    for spelling in ("ana@example.com", "ANA@Example.COM", " ana@example.com "):
        with pytest.raises(NameTaken, match="Email .* already used"):
            directory.create_user("ana2", None, email=spelling)
    set_user_active(directory.database, "ana", False)  # an inactive user keeps their address
    with pytest.raises(NameTaken, match="Email .* already used"):
        directory.create_user("ana2", None, email="Ana@example.com")
    assert "ana2" not in {user.user_name for user in directory.list_users()}
    for bad in ("", "ana", "ana@example", "a b@example.com", "x" * 250 + "@example.com", 7):
        with pytest.raises(DirectoryError, match="not an email address"):
            directory.create_user("ana3", None, email=bad)
    assert directory.create_user("ana4", None, email="ana4@example.com")


def test_users_are_found_and_verified_by_email(harness, api):
    directory = harness.directory
    ana = directory.create_user("ana", "ana-password", email="Ana@Example.com")
    assert directory.user_id_by_email("ana@example.com") == ana
    assert directory.user_id_by_email(" ANA@EXAMPLE.COM ") == ana
    assert directory.verify_email_password("ana@EXAMPLE.com", "ana-password") == ana
    assert directory.verify_email_password("ana@example.com", "Ana-password") is None
    for unknown in ("", "nobody@example.com", "ana@example.co", "ana@example.com\x00", "x" * 300):
        assert directory.user_id_by_email(unknown) is None
        assert directory.verify_email_password(unknown, "ana-password") is None
    # Not an active user's: deactivated, an API user (no password login), deleted.
    assert api.patch(f"/api/v1/User/{ana}", json={"isActive": False}).status_code == 200
    assert directory.user_id_by_email("ana@example.com") is None
    assert directory.verify_email_password("ana@example.com", "ana-password") is None
    hooks = directory.create_user("hooks", None, user_type="api", email="hooks@example.com")
    assert directory.user_id_by_email("hooks@example.com") == hooks
    assert directory.verify_email_password("hooks@example.com", "") is None
    assert api.delete(f"/api/v1/User/{hooks}").status_code == 200
    assert directory.user_id_by_email("hooks@example.com") is None


def test_an_address_several_active_users_share_names_nobody(harness, api):
    """The EspoCRM API, as EspoCRM, does not keep users' addresses unique; an ambiguous login is refused."""
    directory = harness.directory
    directory.create_user("ana", "ana-password", email="shared@example.com")
    other = api.post("/api/v1/User", json={"userName": "ann", "lastName": "Ann", "password": "ann-password",
                                           "emailAddress": "Shared@example.com"})
    assert other.status_code == 200, other.text
    assert directory.user_id_by_email("shared@example.com") is None
    assert directory.verify_email_password("shared@example.com", "ana-password") is None
    # A second address, not primary, is no login.
    assert api.patch(f"/api/v1/User/{other.json()['id']}", json={"emailAddressData": [
        {"emailAddress": "ann@example.com", "primary": True},
        {"emailAddress": "shared@example.com", "primary": False}]}).status_code == 200
    assert directory.user_id_by_email("shared@example.com") == directory.user_id("ana")


def test_a_store_made_before_api_access_upgrades_with_it_on(harness, store):
    """`polycrm init`/`serve` add the column; existing users keep using the App CRM API."""
    user_id = harness.directory.create_user("old", None)
    with store.database.transaction() as conn:
        conn.execute(text('ALTER TABLE "user" DROP COLUMN api_access'))
    store.database.sync_schema()
    with store.database.connect() as conn:
        assert conn.execute(text('SELECT api_access FROM "user" WHERE id = :id'), {"id": user_id}).scalar() in (
            True, 1)
