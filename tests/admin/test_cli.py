"""`polycrm user list|passwd|deactivate|activate`, `polycrm role list|show|unassign|delete` and
`polycrm field list|remove`, through the real entry point over the test's store. Expected failures are
one line `error: ...` with status 1."""

from __future__ import annotations

import json

from sqlalchemy import inspect


def test_user_list_shows_type_activity_password_and_roles(harness, cli):
    harness.directory.create_user("erin", None, user_type="api")
    harness.directory.create_role("Sales", {"Account": True})
    harness.directory.assign_role(harness.directory.user_id("erin"), "Sales")
    lines = cli("user", "list").stdout.splitlines()
    assert lines == [f"{harness.admin_id}\tadmin\tadmin\tactive\tpassword\t-",
                     f"{harness.directory.user_id('erin')}\terin\tapi\tactive\tno password\tSales"]


def test_passwd_reads_stdin_or_asks_twice_and_ends_logins(harness, cli):
    directory = harness.directory
    user_id = directory.create_user("frank", "first-secret")
    directory.create_token(user_id)
    result = cli("user", "passwd", "frank", "--password-stdin", input="second-secret\n")
    assert result.exit_code == 0 and result.stdout == "Password of frank changed; 1 auth token(s) ended\n"
    assert directory.verify_password("frank", "second-secret") == user_id
    assert directory.verify_password("frank", "first-secret") is None

    result = cli("user", "passwd", "frank", input="third-secret\nthird-secret\n")
    assert result.exit_code == 0, result.stderr
    assert "third-secret" not in result.stdout  # asked without echo
    assert directory.verify_password("frank", "third-secret") == user_id
    result = cli("user", "passwd", "frank", input="fourth-secret\nfifth-secret\n")
    assert result.exit_code == 1 and "do not match" in result.stdout + result.stderr  # no input left: aborted
    assert directory.verify_password("frank", "third-secret") == user_id


def test_passwd_refusals(harness, cli):
    harness.directory.create_user("grace", "first-secret")
    harness.directory.create_user("hooks", None, user_type="api")
    cli.fails("user", "passwd", "grace", "--password-stdin", input="short\n", message="8 to 150 characters")
    cli.fails("user", "passwd", "grace", "--password-stdin", input="", message="no password on stdin")
    cli.fails("user", "passwd", "nobody", "--password-stdin", input="long-enough\n", message="No user 'nobody'")
    cli.fails("user", "passwd", "hooks", "--password-stdin", input="long-enough\n", message="API users have no")
    assert cli("user", "passwd", "grace", "--password", "on-the-command-line").exit_code == 2  # no such option
    assert harness.directory.verify_password("grace", "first-secret") is not None


def test_deactivate_and_activate_follow_the_api_rules(harness, cli):
    directory = harness.directory
    user_id = directory.create_user("heidi", "heidi-secret")
    assert cli("user", "deactivate", "heidi").stdout == "User heidi is now inactive\n"
    assert directory.verify_password("heidi", "heidi-secret") is None
    assert cli("user", "deactivate", "heidi").stdout == "User heidi already was inactive\n"
    assert cli("user", "activate", "heidi").stdout == "User heidi is now active\n"
    assert directory.verify_password("heidi", "heidi-secret") == user_id
    cli.fails("user", "deactivate", "admin", message="last active administrator")
    cli.fails("user", "deactivate", "nobody", message="No user 'nobody'")
    directory.create_user("ivan", "ivan-secret", user_type="admin")
    assert cli("user", "deactivate", "admin").exit_code == 0  # another administrator remains
    cli.fails("user", "deactivate", "ivan", message="last active administrator")


def test_roles_are_listed_shown_unassigned_and_deleted(harness, cli):
    directory = harness.directory
    directory.create_user("judy", None)
    assert cli("role", "create", "Sales", "--scopes", '{"Account": {"read": "all"}}').exit_code == 0
    assert cli("role", "assign", "Sales", "--user", "judy").exit_code == 0
    role_id = directory.role_id("Sales")
    assert cli("role", "list").stdout == f"{role_id}\tSales\t1 user(s)\tmass update yes\n"
    shown = json.loads(cli("role", "show", "Sales").stdout)
    assert shown == {"id": role_id, "name": "Sales", "massUpdate": True, "users": ["judy"],
                     "scopes": {"Account": {"create": "no", "read": "all", "edit": "no", "delete": "no"}}}
    assert cli("role", "unassign", "Sales", "--user", "judy").stdout == "Role Sales taken from judy\n"
    cli.fails("role", "unassign", "Sales", "--user", "judy", message="judy does not have the role Sales")
    cli.fails("role", "show", "Nope", message="No role 'Nope'")
    assert cli("role", "delete", "Sales").stdout == "Deleted role Sales\n"
    cli.fails("role", "delete", "Sales", message="No role 'Sales'")
    assert cli("role", "list").stdout == ""


def test_fields_are_listed_and_removed(harness, store, cli):
    assert cli("field", "add", "Account", "loyalty", "--type", "int", "--inflow-name", "points").exit_code == 0
    assert cli("field", "list").stdout == "Account\tcLoyalty\tint\tcustom\tpoints\n"
    listed = cli("field", "list", "Account").stdout.splitlines()
    assert "Account\tname\tvarchar\tbuilt-in\t-" in listed and "Account\tcLoyalty\tint\tcustom\tpoints" in listed
    cli.fails("field", "list", "Nope", message="unknown entity type 'Nope'")
    cli.fails("field", "remove", "Account", "name", "--yes", message="'name' is a built-in field of Account")
    cli.fails("field", "remove", "Account", "cNope", "--yes", message="No field 'cNope' on Account")
    cli.fails("field", "remove", "Nope", "cLoyalty", "--yes", message="Entity type 'Nope' does not exist")
    declined = cli("field", "remove", "Account", "cLoyalty", input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.stdout + declined.stderr
    assert cli("field", "list").stdout != ""
    assert cli("field", "remove", "Account", "cLoyalty", "--yes").stdout == "Removed Account.cLoyalty\n"
    assert cli("field", "list").stdout == ""
    with store.database.engine.connect() as conn:
        assert "c_loyalty" not in {c["name"] for c in inspect(conn).get_columns("account")}


def test_user_create_takes_the_password_from_stdin_or_asks(harness, cli):
    directory = harness.directory
    result = cli("user", "create", "--username", "kim", "--password-stdin", input="kim-secret-1\n")
    assert result.exit_code == 0, result.stderr
    assert directory.verify_password("kim", "kim-secret-1") is not None
    result = cli("user", "create", "--username", "lee", input="lee-secret-1\nlee-secret-1\n")
    assert result.exit_code == 0 and "lee-secret-1" not in result.stdout
    assert directory.verify_password("lee", "lee-secret-1") is not None
    cli.fails("user", "create", "--username", "max", "--api", "--password", "max-secret-1",
              message="API users have no password")
    cli.fails("user", "create", "--username", "max", "--password", "max-secret-1", "--password-stdin",
              message="exclude each other")
    cli.fails("user", "create", "--username", "max", "--password-stdin", input="short\n", message="8 to 150")
    assert "max" not in {u.user_name for u in directory.list_users()}
