"""The trash (core.trash): deleted records listed, read, restored with their id, destroyed with everything
that refers to them, emptied; under the record services' access rules, on every entity type alike."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import orjson
import pytest
from sqlalchemy import func, select

import polycrm.core.trash
from polycrm.auth.acl import Actor
from polycrm.core.errors import Conflict, Forbidden, NotFound
from polycrm.core.files import NewFile
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.service import Core
from polycrm.events.model import Action
from polycrm.events.outbox import event_from_row
from polycrm.query.tree import Compare, Op, Sort
from tests.acl.conftest import record_body

ENTITIES = ("Contact", "Account", "Opportunity")


@pytest.fixture
def core(harness) -> Core:
    return harness.app.state.core


@pytest.fixture
def admin(harness) -> Actor:
    return harness.directory.actor(harness.admin_id)


def actor_with(harness, levels: dict[str, str]) -> Actor:
    """A new user whose one role gives `levels` (read/edit/delete: all/team/own/no) on the tests' entities."""
    name = f"u{uuid.uuid4().hex[:10]}"
    user_id = harness.directory.create_user(name, None)
    harness.directory.create_role(name, {entity: {"create": "yes", "read": "no", "edit": "no", "delete": "no"}
                                         | levels for entity in ENTITIES})
    harness.directory.assign_role(user_id, name)
    return harness.directory.actor(user_id)


def deleted(core: Core, actor: Actor, entity: str, *names: str, **values: Any) -> list[int]:
    """Records of `entity` made and deleted by `actor`, in order."""
    records = core.records(entity)
    ids = [records.create(actor, record_body(entity, name) | values, skip_duplicate_check=True)["id"]
           for name in names]
    for record_id in ids:
        records.delete(actor, record_id)
    return ids


def count_rows(core: Core, table_name: str, **where: Any) -> int:
    table = core.database.table(table_name)
    with core.database.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(
            *(table.c[column] == value for column, value in where.items()))).scalar_one()


@pytest.mark.parametrize("entity", ENTITIES)
def test_search_read_restore_destroy(core, admin, api, entity):
    trash = core.trash(entity)
    live = core.records(entity).create(admin, record_body(entity, "Live"), skip_duplicate_check=True)
    kept, gone = deleted(core, admin, entity, "Kept", "Gone")

    found = trash.search(admin, SearchQuery(sorts=[Sort("id")]))
    assert [r["id"] for r in found.records] == [kept, gone] and found.total == 2
    assert trash.read(admin, kept)["id"] == kept
    for missing in (live["id"], 999_999, "nonsense"):
        with pytest.raises(NotFound):
            trash.read(admin, missing)

    restored = trash.restore(admin, kept)
    assert restored["id"] == kept and restored == core.records(entity).read(admin, kept)
    assert api.get(f"/api/v1/{entity}/{kept}").json()["id"] == str(kept)
    assert [r["id"] for r in trash.search(admin, SearchQuery()).records] == [gone]
    with pytest.raises(NotFound):
        trash.restore(admin, kept)  # live now: not in the trash

    trash.destroy(admin, gone)
    assert count_rows(core, core.registry.entity(entity).table, id=gone) == 0
    with pytest.raises(NotFound):
        trash.read(admin, gone)
    assert api.get(f"/api/v1/{entity}/{gone}").status_code == 404
    assert trash.search(admin, SearchQuery()).total == 0


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_live_record_is_never_destroyed(core, admin, entity):
    live = core.records(entity).create(admin, record_body(entity, "Live"), skip_duplicate_check=True)
    with pytest.raises(NotFound):
        core.trash(entity).destroy(admin, live["id"])
    assert core.records(entity).read(admin, live["id"])["id"] == live["id"]


def test_search_filters_sorts_pages_and_counts(core, admin):
    ids = deleted(core, admin, "Account", "Alpha", "Bravo", "Charlie", "Delta", "Echo", industry="Retail")
    deleted(core, admin, "Account", "Foxtrot", industry="Finance")
    core.records("Account").create(admin, {"name": "Golf", "industry": "Retail"})  # live: never listed
    trash = core.trash("Account")
    query = SearchQuery(where=Compare("industry", Op.EQ, "Retail"), sorts=[Sort("name", descending=True)],
                        offset=1, limit=2, select=["name"])
    page = trash.search(admin, query)
    assert [r["name"] for r in page.records] == ["Delta", "Charlie"] and page.total == 5
    assert set(page.records[0]) == {"id", "name", "assignedUserId", "createdById"}
    query.total, query.offset = TotalMode.NONE, 3
    last = trash.search(admin, query)
    assert [r["id"] for r in last.records] == [ids[1], ids[0]] and last.total is None and not last.has_more
    assert trash.search(admin, SearchQuery(where=Compare("name", Op.STARTS_WITH, "Fox"))).total == 1
    # A remembered count of the live rows is not the trash's, nor the other way round.
    assert core.records("Account").search(admin, SearchQuery()).total == 1
    assert trash.search(admin, SearchQuery(limit=1)).total == 6


def test_custom_fields_filter_the_trash_as_they_filter_live_records(core, admin):
    trash = core.trash("Account")
    core.add_field("Account", "cTier", "varchar")
    assert core.trash("Account") is not trash  # made again with the record service of the new schema
    (gold,) = deleted(core, admin, "Account", "Gold", cTier="gold")
    deleted(core, admin, "Account", "Silver", cTier="silver")
    found = core.trash("Account").search(admin, SearchQuery(where=Compare("cTier", Op.EQ, "gold"), select=["cTier"]))
    assert [(r["id"], r["cTier"]) for r in found.records] == [(gold, "gold")] and found.total == 1


def test_a_deleted_record_reads_whole_and_restores_alone(core, admin):
    """Read and restored, a contact shows its contact data and its links to live records; a deleted account
    it links to stays deleted and hidden, and shows again once restored itself."""
    account = core.records("Account").create(admin, {"name": "Acme"})
    other = core.records("Account").create(admin, {"name": "Other"})
    contact = core.records("Contact").create(admin, {
        "lastName": "Doe", "emailAddress": "doe@example.com", "phoneNumber": "+1 555 0100",
        "accountId": account["id"], "accountsIds": [account["id"], other["id"]]})
    core.records("Contact").delete(admin, contact["id"])
    core.records("Account").delete(admin, other["id"])

    read = core.trash("Contact").read(admin, contact["id"])
    assert read["accountName"] == "Acme" and read["accountsIds"] == [account["id"]]
    assert read["emailAddressData"][0]["emailAddress"] == "doe@example.com"
    assert read["phoneNumberData"][0]["phoneNumber"] == "+1 555 0100"

    restored = core.trash("Contact").restore(admin, contact["id"])
    assert restored["versionNumber"] == contact["versionNumber"] + 1
    assert restored["modifiedById"] == admin.user_id and restored["modifiedAt"] >= contact["modifiedAt"]
    assert restored["accountsIds"] == [account["id"]] and restored["emailAddress"] == "doe@example.com"
    assert core.trash("Account").read(admin, other["id"])["name"] == "Other"  # restoring restores nothing else
    core.trash("Account").restore(admin, other["id"])
    assert core.records("Contact").read(admin, contact["id"])["accountsIds"] == [account["id"], other["id"]]


def test_destroy_removes_relations_contact_data_and_files(core, admin, harness):
    account = core.records("Account").create(admin, {"name": "Acme"})
    contact = core.records("Contact").create(admin, {"lastName": "Doe", "emailAddress": "doe@example.com",
                                                     "phoneNumber": "+1 555 0100", "accountsIds": [account["id"]]})
    staged = core.files.staging_dir / "upload"
    staged.write_bytes(b"hello")
    core.files.update_record(core.records("Contact"), admin, contact["id"], {},
                             [NewFile(None, "hello.txt", "text/plain", 5, staged)])
    (stored,) = core.files.files_of("Contact", [contact["id"]])[contact["id"]]
    content = core.files.content_path(stored.storage_key)
    assert content.is_file()
    core.records("Contact").delete(admin, contact["id"])
    assert content.is_file()  # a delete is soft: the trash keeps the files

    core.trash("Contact").destroy(admin, contact["id"])
    assert count_rows(core, "contact", id=contact["id"]) == 0
    assert count_rows(core, "account_contact", contact_id=contact["id"]) == 0
    for side in ("email_address_link", "phone_number_link"):
        assert count_rows(core, side, entity_type="Contact", entity_id=contact["id"]) == 0
    assert count_rows(core, "stored_file", entity="Contact", record_id=contact["id"]) == 0
    assert not content.exists()
    assert core.records("Account").read(admin, account["id"])["name"] == "Acme"  # the other side stays


def test_empty_destroys_every_deleted_record_in_batches(core, admin, monkeypatch):
    monkeypatch.setattr(polycrm.core.trash, "EMPTY_BATCH", 2)
    deleted(core, admin, "Opportunity", *(f"Deal {n}" for n in range(5)))
    live = core.records("Opportunity").create(admin, record_body("Opportunity", "Live"))
    deleted(core, admin, "Account", "Elsewhere")
    assert core.trash("Opportunity").empty(admin) == 5
    assert count_rows(core, "opportunity") == 1 and core.records("Opportunity").read(admin, live["id"])
    assert core.trash("Opportunity").empty(admin) == 0
    assert core.trash("Account").search(admin, SearchQuery()).total == 1  # other types' trash is theirs


def test_restore_emits_a_create_event_webhooks_deliver(core, admin, harness):
    hub = harness.app.state.webhooks
    subscription = hub.subscriptions.create(protocol="espo", event="Contact.create", entity_type="Contact",
                                            action="create", field=None, url="http://127.0.0.1:9/",
                                            secret="s" * 32, owner_id=None, created_by_id=admin.user_id)
    (contact_id,) = deleted(core, admin, "Contact", "Doe")
    core.trash("Contact").restore(admin, contact_id)
    table = core.database.table("webhook_event")
    with core.database.connect() as conn:
        rows = conn.execute(select(table).where(table.c.record_id == contact_id).order_by(table.c.id)).all()
    events = [event_from_row(row, core.registry.entity("Contact")) for row in rows]
    assert [e.action for e in events] == [Action.CREATE, Action.CREATE]  # made, then restored
    assert events[1].after["lastName"] == "Doe" and events[1].after["id"] == contact_id
    assert events[1].actor_id == admin.user_id and "deleted" not in events[1].after
    # Delivered as the record's create was, but for the stamps of its restore.
    made, restored = orjson.loads(hub.protocols["espo"].render(subscription, events))
    stamps = {"modifiedAt", "modifiedById", "modifiedByName", "versionNumber"}
    assert restored["id"] == str(contact_id) and restored["versionNumber"] == 2
    assert {k: v for k, v in restored.items() if k not in stamps} == {k: v for k, v in made.items() if k not in stamps}


def test_reading_the_trash_needs_read_and_changing_it_delete(core, admin, harness):
    (record_id,) = deleted(core, admin, "Account", "Acme")
    reader = actor_with(harness, {"read": "all"})
    trash = core.trash("Account")
    assert trash.search(reader, SearchQuery()).total == 1 and trash.read(reader, record_id)["id"] == record_id
    for change in (trash.restore, trash.destroy):
        with pytest.raises(Forbidden):
            change(reader, record_id)
    with pytest.raises(Forbidden):
        trash.empty(reader)
    stranger = actor_with(harness, {})
    with pytest.raises(Forbidden):
        trash.search(stranger, SearchQuery())
    with pytest.raises(Forbidden):
        trash.read(stranger, record_id)
    assert trash.read(admin, record_id)["id"] == record_id  # nothing changed


def test_a_user_limited_to_their_own_records_has_their_own_trash(core, admin, harness):
    owner = actor_with(harness, {"read": "own", "edit": "own", "delete": "own"})
    mine = deleted(core, owner, "Contact", "Mine 1", "Mine 2", "Mine 3")
    (theirs,) = deleted(core, admin, "Contact", "Theirs", assignedUserId=admin.user_id)
    trash = core.trash("Contact")
    assert [r["id"] for r in trash.search(owner, SearchQuery(sorts=[Sort("id")])).records] == mine
    assert trash.search(owner, SearchQuery(limit=1)).total == 3
    for action in (trash.read, trash.restore, trash.destroy):
        with pytest.raises(Forbidden):
            action(owner, theirs)
    assert trash.restore(owner, mine[0])["id"] == mine[0]
    trash.destroy(owner, mine[1])
    assert trash.empty(owner) == 1
    assert [r["id"] for r in trash.search(admin, SearchQuery()).records] == [theirs]
    assert core.records("Contact").read(owner, mine[0])["id"] == mine[0]


def test_a_user_whose_name_was_taken_meanwhile_is_not_restored(core, admin, harness):
    users = core.records("User")
    first = harness.directory.create_user("twin", None)
    users.delete(admin, first)
    second = harness.directory.create_user("twin", None)
    with pytest.raises(Conflict):
        core.trash("User").restore(admin, first)
    users.delete(admin, second)
    assert core.trash("User").restore(admin, first)["userName"] == "twin"


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls from as many threads, released together; each gives its result or its NotFound."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except NotFound as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_of_concurrent_restores_and_destroys_of_a_record_one_wins(core, admin):
    trash = core.trash("Account")
    for _ in range(3):
        (record_id,) = deleted(core, admin, "Account", "Contested")
        results = at_once([lambda: trash.restore(admin, record_id)] * 4 + [lambda: trash.destroy(admin, record_id)] * 4)
        won = [n for n, result in enumerate(results) if not isinstance(result, NotFound)]
        assert len(won) == 1, results
        if won[0] < 4:  # a restore won: the record is live, and no destroy took it
            assert core.records("Account").read(admin, record_id)["versionNumber"] == 2
        else:
            assert count_rows(core, "account", id=record_id) == 0


def test_emptying_while_records_are_restored_destroys_only_deleted_ones(core, admin, monkeypatch):
    monkeypatch.setattr(polycrm.core.trash, "EMPTY_BATCH", 3)
    trash = core.trash("Account")
    ids = deleted(core, admin, "Account", *(f"Race {n}" for n in range(12)))
    results = at_once([lambda: trash.empty(admin)] + [lambda i=i: trash.restore(admin, i) for i in ids[::2]])
    restored = {r["id"] for r in results[1:] if not isinstance(r, NotFound)}
    assert results[0] + len(restored) == len(ids)
    assert count_rows(core, "account") == len(restored)
    assert {r["id"] for r in core.records("Account").search(admin, SearchQuery()).records} == restored
