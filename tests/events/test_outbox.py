"""The transactional outbox: a committed change always has its event, a rolled-back change never has one,
whichever operation made it (single, mass, lead conversion); a change no subscription listens to has none."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from polycrm.app import build_webhooks
from polycrm.auth.acl import Actor
from polycrm.core.errors import PolyError
from polycrm.core.leads import convert_lead
from polycrm.core.search import SearchQuery
from polycrm.core.service import Core


@pytest.fixture
def core(store) -> Core:
    return Core(store.database)


@pytest.fixture
def admin(directory) -> Actor:
    user_id = directory.create_user("boss", "boss-password-1", user_type="admin")
    return directory.actor(user_id)


@pytest.fixture
def hub(core, store, directory, config):  # noqa: ANN001, ANN201 - WebhookHub
    return build_webhooks(config, store.database, core, directory)


def subscribe(hub, admin: Actor, entity: str, action: str, field: str | None = None):  # noqa: ANN001, ANN201
    event = f"{entity}.{action}" + (f".{field}" if field else "")
    return hub.subscriptions.create(protocol="espo", event=event, entity_type=entity, action=action, field=field,
                                    url="http://127.0.0.1:9/", secret="s" * 32, owner_id=None,
                                    created_by_id=admin.user_id)


@pytest.fixture
def listening(hub, admin) -> None:  # noqa: ANN001
    """Subscriptions to every change these tests make: only then are changes written to the outbox."""
    for entity in ("Account", "Contact", "Opportunity", "Case", "Lead", "Team"):
        for action in ("create", "update", "delete"):
            subscribe(hub, admin, entity, action)


def events(store) -> list[dict]:
    table = store.database.table("webhook_event")
    with store.database.engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.id)).all()
    return [{"entity": r.entity_type, "id": r.record_id, "action": r.action, "actor": r.actor_id,
             "before": orjson.loads(r.before) if r.before else None,
             "after": orjson.loads(r.after) if r.after else None} for r in rows]


def test_create_update_delete_record_events_in_order(core, admin, store, listening):
    accounts = core.records("Account")
    account = accounts.create(admin, {"name": "Acme", "industry": "Retail", "teamsIds": []})
    accounts.update(admin, account["id"], {"name": "Acme"})  # no change: no event
    accounts.update(admin, account["id"], {"name": "Acme 2", "website": "acme.example"})
    accounts.delete(admin, account["id"])
    recorded = events(store)
    assert [(e["action"], e["id"], e["actor"]) for e in recorded] == [
        ("create", account["id"], admin.user_id), ("update", account["id"], admin.user_id),
        ("delete", account["id"], admin.user_id)]
    created = recorded[0]["after"]
    assert created["id"] == account["id"] and created["name"] == "Acme" and created["industry"] == "Retail"
    assert created["createdAt"].startswith(account["createdAt"].strftime("%Y-%m-%dT%H:%M"))
    assert recorded[1]["after"] == {"name": "Acme 2", "website": "acme.example"}
    assert recorded[1]["before"] == {"name": "Acme", "website": None}
    assert recorded[2]["after"] is None


def test_a_rolled_back_create_leaves_no_event(core, admin, store, listening):
    accounts = core.records("Account")

    def fail(*_args):
        raise RuntimeError("after the insert and its event, before the commit")

    with pytest.raises(RuntimeError):
        accounts.create(admin, {"name": "Ghost"}, attach=fail)
    assert events(store) == []
    assert accounts.search(admin, SearchQuery()).records == []


def test_a_failed_mass_update_rolls_back_every_event(core, admin, store, monkeypatch, listening):
    accounts = core.records("Account")
    ids = accounts.create_many(admin, [{"name": f"A{i}"} for i in range(3)])
    assert [e["action"] for e in events(store)] == ["create"] * 3
    calls = []
    original = accounts.repository.update

    def second_fails(conn, record_id, values):
        calls.append(record_id)
        if len(calls) == 2:
            raise RuntimeError("the second update fails")
        original(conn, record_id, values)

    monkeypatch.setattr(accounts.repository, "update", second_fails)
    with pytest.raises(RuntimeError):
        accounts.mass_update(admin, ids, {"description": "changed"})
    monkeypatch.undo()
    assert len(events(store)) == 3, "the first record's update event went with its rollback"
    assert accounts.mass_update(admin, ids, {"description": "changed"}) == ids
    assert accounts.mass_delete(admin, ids) == ids
    recorded = events(store)
    assert [(e["action"], e["id"]) for e in recorded[3:]] == [("update", i) for i in ids] + [("delete", i) for i in ids]
    assert all(e["after"] == {"description": "changed"} for e in recorded[3:6])


def test_mass_create_records_one_event_per_record_with_links(core, admin, store, listening):
    team = core.records("Team").create(admin, {"name": "Sales"})
    ids = core.records("Contact").create_many(admin, [{"lastName": f"L{i}", "teamsIds": [str(team["id"])]}
                                                      for i in range(5)])
    recorded = events(store)[1:]
    assert [e["id"] for e in recorded] == ids
    assert all(e["after"]["teamsIds"] == [team["id"]] for e in recorded)


def test_a_change_of_relationship_columns_is_a_change(core, admin, store, listening):
    """`<field>Columns` is recorded like `<field>Ids`: with the saved values on create, as changed when an
    update sets other values (even with the same set), not at all when it sets the same ones."""
    account = core.records("Account").create(admin, {"name": "Acme"})
    contacts = core.records("Contact")
    contact = contacts.create(admin, {"lastName": "C", "accountsIds": [str(account["id"])],
                                      "accountsColumns": {str(account["id"]): {"role": "CEO"}}})
    contacts.update(admin, contact["id"], {"accountsColumns": {str(account["id"]): {"role": "CEO"}}})
    _, links_changed = contacts.update(admin, contact["id"], {"accountsColumns": {
        str(account["id"]): {"isInactive": True}}})
    assert links_changed
    created, updated = [e for e in events(store) if e["entity"] == "Contact"]
    key = str(account["id"])  # JSON object keys
    assert created["after"]["accountsColumns"] == {key: {"role": "CEO", "isInactive": False}}
    assert updated["action"] == "update"
    assert updated["after"] == {"accountsColumns": {key: {"role": "CEO", "isInactive": True}}}
    assert updated["before"] == {"accountsColumns": None}  # old link values are not recorded (as for Ids)


# Records that differ in what they set: a mass create must store each exactly as a single create does.
MIXED_CONTACTS = [
    {"firstName": "Ada", "lastName": "Mail", "emailAddress": "ada@mail.example", "doNotCall": True,
     "phoneNumberData": [{"phoneNumber": "+1 555 0100", "type": "Office", "primary": True}]},
    {"lastName": "Bare"},
    {"lastName": "Data", "emailAddressData": [{"emailAddress": "one@data.example", "optOut": True},
                                              {"emailAddress": "two@data.example", "primary": True}],
     "description": None, "addressCity": "Oslo"},
]
MIXED_OPPORTUNITIES = [
    {"name": "Dated", "amount": 12.5, "closeDate": "2031-02-03", "probability": 40, "stage": "Proposal"},
    {"name": "Plain", "amount": 0, "amountCurrency": "USD", "closeDate": "2031-02-04"},
]
# Differ between any two creates: when and under which id.
PER_CREATE = {"id", "createdAt", "modifiedAt"}


def _without(record: dict, keys: set) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


@pytest.mark.parametrize(("entity", "payloads"), [("Contact", MIXED_CONTACTS), ("Opportunity", MIXED_OPPORTUNITIES)])
def test_mass_create_stores_records_and_events_as_single_creates_do(core, admin, store, entity, payloads, listening):
    service = core.records(entity)
    singles = [service.create(admin, payload, skip_duplicate_check=True)["id"] for payload in payloads]
    many = service.create_many(admin, payloads)
    read = [_without(service.read_without_acl(i), PER_CREATE) for i in singles + many]
    assert read[len(payloads):] == read[:len(payloads)]
    after = [_without(e["after"], PER_CREATE) for e in events(store)]
    assert after[len(payloads):] == after[:len(payloads)]


def test_mass_created_cases_are_numbered_in_order_and_their_events_carry_the_numbers(core, admin, store, listening):
    cases = core.records("Case")
    first = cases.create(admin, {"name": "First"})
    ids = cases.create_many(admin, [{"name": f"Case {i}"} for i in range(3)])
    numbers = [cases.read_without_acl(i)["number"] for i in ids]
    assert numbers == [first["number"] + 1 + i for i in range(3)]
    recorded = events(store)
    assert [(e["id"], e["after"]["id"], e["after"]["number"]) for e in recorded] == list(
        zip([first["id"], *ids], [first["id"], *ids], [first["number"], *numbers]))


def test_a_mass_create_failing_late_writes_nothing(core, admin, store, monkeypatch):
    contacts = core.records("Contact")

    def fail(*_args):
        raise RuntimeError("after the rows and their email addresses, before the events")

    monkeypatch.setattr(contacts.outbox, "created", fail)
    with pytest.raises(RuntimeError):
        contacts.create_many(admin, MIXED_CONTACTS)
    table = store.database.table("email_address_link")
    with store.database.engine.connect() as conn:
        assert conn.execute(select(table)).all() == []
    assert contacts.search(admin, SearchQuery()).records == []


def test_a_refused_change_has_no_event(core, admin, store, listening):
    contacts = core.records("Contact")
    with pytest.raises(PolyError):
        contacts.create(admin, {"lastName": "X", "accountId": "999999"})
    with pytest.raises(PolyError):
        contacts.create_many(admin, [{"lastName": "ok"}, {"lastName": "bad", "accountId": "999999"}])
    assert events(store) == []


def test_lead_conversion_records_every_change(core, admin, store, listening):
    lead = core.records("Lead").create(admin, {"lastName": "Doe", "accountName": "Doe Inc"})
    convert_lead(core, admin, lead["id"], {"Account": {"name": "Doe Inc"}, "Contact": {"lastName": "Doe"}})
    recorded = events(store)
    assert [(e["entity"], e["action"]) for e in recorded] == [
        ("Lead", "create"), ("Account", "create"), ("Contact", "create"), ("Lead", "update")]
    assert recorded[-1]["after"]["status"] == "Converted"
    assert recorded[-1]["before"]["status"] == "New"


def test_events_nobody_subscribed_to_are_dropped_at_fan_out(core, admin, store, hub):
    subscribe(hub, admin, "Account", "fieldUpdate", "website")
    accounts = core.records("Account")
    account = accounts.create(admin, {"name": "Kept"})
    accounts.update(admin, account["id"], {"name": "Kept 2"})  # written (a field subscription), then dropped
    accounts.update(admin, account["id"], {"website": "kept.example"})
    assert hub.queue.fan_out() == 2
    table = store.database.table("webhook_event")
    with store.database.engine.connect() as conn:
        kept = conn.execute(select(table.c.id, table.c.action)).all()
    assert [row.action for row in kept] == ["update"]
    update = hub.queue.load_events([kept[0].id], store.database.registry.entities.get)[kept[0].id]
    assert update.diff() == [("website", None, "kept.example")]


def test_changes_nobody_listens_to_write_no_event(core, admin, store, hub):
    subscribe(hub, admin, "Contact", "create")  # another entity type
    subscribe(hub, admin, "Account", "delete")
    hub.subscriptions.update(subscribe(hub, admin, "Account", "create").id, {"is_active": False})
    hub.subscriptions.delete(subscribe(hub, admin, "Account", "update").id)
    accounts = core.records("Account")
    account = accounts.create(admin, {"name": "Quiet"})
    ids = accounts.create_many(admin, [{"name": "Quiet 1"}, {"name": "Quiet 2"}])
    accounts.update(admin, account["id"], {"name": "Quiet 3"})
    accounts.mass_update(admin, ids, {"description": "changed"})
    assert events(store) == []
    assert hub.queue.fan_out() == 0
    accounts.mass_delete(admin, ids)
    assert [(e["action"], e["id"]) for e in events(store)] == [("delete", i) for i in ids]


def test_a_new_subscription_gets_the_changes_made_after_it(core, admin, store, hub):
    contacts = core.records("Contact")
    before = contacts.create(admin, {"lastName": "Before"})
    subscribe(hub, admin, "Contact", "create")
    after = contacts.create_many(admin, [{"lastName": "After"}])
    assert [e["id"] for e in events(store)] == after
    assert before["id"] not in after
