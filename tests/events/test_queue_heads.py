"""The delivery queue's heads: only the oldest open delivery of a (subscription, ordering key) is claimed;
a finished head hands over to the next one; redelivery and stores without heads are repaired."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, update

from polycrm.app import build_webhooks
from polycrm.auth.acl import Actor
from polycrm.core.service import Core
from polycrm.events.hub import WebhookHub
from polycrm.events.model import AttemptResult, Outcome

OK = AttemptResult(datetime(2026, 1, 1), 1.0, 200, Outcome.SUCCESS)
FAILED = AttemptResult(datetime(2026, 1, 1), 1.0, 400, Outcome.FAIL)


@pytest.fixture
def core(store) -> Core:
    return Core(store.database)


@pytest.fixture
def admin(directory) -> Actor:
    return directory.actor(directory.create_user("boss", "boss-password-1", user_type="admin"))


@pytest.fixture
def hub(core, store, directory, config) -> WebhookHub:
    return build_webhooks(config, store.database, core, directory)


def subscribe(hub: WebhookHub, admin: Actor, protocol: str = "inflow") -> int:
    return hub.subscriptions.create(protocol=protocol, event="update", entity_type="Account", action="update",
                                    field=None, url="http://127.0.0.1:9/", secret="s" * 32, owner_id=None,
                                    created_by_id=admin.user_id).id


def heads(hub: WebhookHub) -> list[tuple[str, list[int]]]:
    d = hub.queue.deliveries
    with hub.database.connect() as conn:
        rows = conn.execute(select(d.c.ordering_key, d.c.event_ids).where(d.c.head.is_(True),
                                                                         d.c.status.in_(["pending", "sending"]))
                            .order_by(d.c.id)).all()
    return [(r.ordering_key, r.event_ids) for r in rows]


def test_one_head_per_record_and_finished_heads_hand_over(core, admin, hub):
    subscribe(hub, admin)
    accounts = core.records("Account")
    first, second = (accounts.create(admin, {"name": n})["id"] for n in ("A", "B"))
    for step in range(3):
        for record_id in (first, second):
            accounts.update(admin, record_id, {"description": f"v{step}"})
    hub.queue.fan_out()
    claimed = hub.queue.claim(10, 60)
    assert [c.ordering_key for c in claimed] == [f"Account:{first}", f"Account:{second}"]
    assert hub.queue.claim(10, 60) == []  # the rest wait behind their heads
    hub.queue.record([(claimed[0], OK)])
    following = hub.queue.claim(10, 60)
    assert [c.ordering_key for c in following] == [f"Account:{first}"]
    assert following[0].event_ids[0] > claimed[0].event_ids[0]
    hub.queue.record([(claimed[1], FAILED), (following[0], OK)])  # a failed head hands over too
    assert sorted(c.ordering_key for c in hub.queue.claim(10, 60)) == [f"Account:{first}", f"Account:{second}"]


def queued_update(core, admin, hub):
    """A subscription and an account whose update is queued for it: (the accounts service, the account id)."""
    subscribe(hub, admin)
    accounts = core.records("Account")
    record_id = accounts.create(admin, {"name": "A"})["id"]
    accounts.update(admin, record_id, {"description": "v1"})
    hub.queue.fan_out()
    return accounts, record_id


def test_new_events_queue_behind_an_open_delivery_of_their_record(core, admin, hub):
    accounts, record_id = queued_update(core, admin, hub)
    sending = hub.queue.claim(10, 60)
    accounts.update(admin, record_id, {"description": "v2"})
    hub.queue.fan_out()  # a later fan-out: its delivery is not a head while the first is open
    assert hub.queue.claim(10, 60) == [] and len(heads(hub)) == 1
    hub.queue.record([(sending[0], OK)])
    assert len(hub.queue.claim(10, 60)) == 1


def test_batching_protocols_have_one_head_per_subscription(core, admin, hub):
    espo = subscribe(hub, admin, "espo")
    accounts = core.records("Account")
    for n in range(3):
        accounts.update(admin, accounts.create(admin, {"name": f"A{n}"})["id"], {"description": "x"})
        hub.queue.fan_out()
    assert [key for key, _ in heads(hub)] == [""]
    claimed = hub.queue.claim(10, 60)
    assert len(claimed) == 1 and claimed[0].subscription.id == espo


def test_redelivery_waits_for_an_open_delivery_of_its_key(core, admin, hub):
    accounts, record_id = queued_update(core, admin, hub)
    done = hub.queue.claim(10, 60)[0]
    hub.queue.record([(done, OK)])
    accounts.update(admin, record_id, {"description": "v2"})
    hub.queue.fan_out()
    open_one = hub.queue.claim(10, 60)[0]
    hub.queue.redeliver(done.uid)
    assert hub.queue.claim(10, 60) == []  # the redelivery waits its turn
    hub.queue.record([(open_one, OK)])
    again = hub.queue.claim(10, 60)
    assert [c.uid for c in again] == [done.uid] and again[0].log_number == 2 and again[0].attempt == 1


def test_repair_gives_headless_keys_their_head(core, admin, hub):
    subscribe(hub, admin)
    accounts = core.records("Account")
    ids = [accounts.create(admin, {"name": f"A{n}"})["id"] for n in range(3)]
    for record_id in ids:
        accounts.update(admin, record_id, {"description": "v1"})
        accounts.update(admin, record_id, {"description": "v2"})
    hub.queue.fan_out()
    d = hub.queue.deliveries
    with hub.database.transaction() as conn:  # as queued by a version without heads
        conn.execute(update(d).values(head=False))
    assert hub.queue.claim(10, 60) == []
    assert hub.queue.repair_heads() == 3 and hub.queue.repair_heads() == 0
    assert sorted(c.ordering_key for c in hub.queue.claim(10, 60)) == sorted(f"Account:{i}" for i in ids)
