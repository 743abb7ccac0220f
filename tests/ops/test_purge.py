"""`polycrm purge` refuses a date still to come, and `--dry-run` counts what would go without changing anything."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from polycrm.auth.acl import Actor
from polycrm.core.service import Core
from tests.ops.conftest import error_line, invoke, store_env

ADMIN = Actor(user_id=1, user_name="admin", is_admin=True, user_type="admin")


def deleted_long_ago(store, count: int) -> None:
    """`count` accounts deleted in 2020, and one deleted now."""
    records = Core(store.database).records("Account")
    ids = [records.create(ADMIN, {"name": f"Old {n}"})["id"] for n in range(count + 1)]
    for record_id in ids:
        records.delete(ADMIN, record_id)
    table = store.database.table("account")
    with store.database.transaction() as conn:
        conn.execute(update(table).where(table.c.id.in_([int(i) for i in ids[:count]]))
                     .values(modified_at=datetime(2020, 1, 1)))


def rows(store) -> int:
    with store.database.connect() as conn:
        return conn.execute(select(func.count()).select_from(store.database.table("account"))).scalar_one()


def test_a_dry_run_counts_and_changes_nothing(store, tmp_path):
    deleted_long_ago(store, 2)
    env = store_env(store, tmp_path)
    dry = invoke(env, "purge", "--deleted-before", "2021-01-01", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout == "Account\t2\nWould purge 2 records deleted before 2021-01-01\n"
    assert rows(store) == 3
    done = invoke(env, "purge", "--deleted-before", "2021-01-01")
    assert done.stdout == "Account\t2\nPurged 2 records deleted before 2021-01-01\n" and rows(store) == 1


def test_a_date_in_the_future_is_refused(store, tmp_path):
    deleted_long_ago(store, 0)  # deleted now: a future date would take it
    env = store_env(store, tmp_path)
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    for args in (["--deleted-before", tomorrow], ["--deleted-before", "2999-01-01", "--dry-run"]):
        line = error_line(invoke(env, "purge", *args))
        assert line == f"error: --deleted-before {args[1]} is in the future"
    assert rows(store) == 1
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")  # midnight today: allowed, takes nothing deleted now
    assert invoke(env, "purge", "--deleted-before", today).stdout.endswith("Purged 0 records deleted before "
                                                                           f"{today}\n")
    assert rows(store) == 1


def test_bad_input_is_one_line(store, tmp_path):
    env = store_env(store, tmp_path)
    for args, message in [(["--deleted-before", "01/02/2020"], "--deleted-before must be a date YYYY-MM-DD"),
                          (["--deleted-before", "2020-02-30"], "--deleted-before must be a date YYYY-MM-DD"),
                          (["--deleted-before", "2020-01-01", "--entity", "Nope"], "Unknown entity type 'Nope'."),
                          (["--deleted-before", "2020-01-01'; DROP TABLE account; --"], "must be a date")]:
        assert message in error_line(invoke(env, "purge", *args))
    assert rows(store) == 0
