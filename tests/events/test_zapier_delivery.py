"""Zapier hooks delivered (dialects/concord/zapier.py): JSON arrays of Concord records as the hook's owner
reads them, whichever protocol wrote the record, `triggerWhen` honoured, 410 unsubscribing, PolyCRM's
signature on each."""

from __future__ import annotations

import json

from polycrm.events.worker import DeliveryWorker
from tests.api.conftest import ApiHarness
from tests.concord.conftest import Concord
from tests.events.receiver import Receiver


def concord_of(harness: ApiHarness) -> Concord:
    return Concord(harness, harness.directory.create_concord_token(harness.admin_id, "zapier").plain_text,
                   harness.admin_id)


def hook(concord: Concord, resource: str, action: str, url: str, when: dict | None = None) -> dict:
    made = concord.post(f"zapier/hooks/{resource}/{action}", {"targetUrl": url, "zapId": "subscription:9",
                                                             "data": {"triggerWhen": when} if when else None})
    assert made.status_code == 201, made.text
    return made.json()


def test_created_and_updated_records_as_concord_shows_them(harness: ApiHarness, worker: DeliveryWorker,
                                                           receiver: Receiver) -> None:
    concord = concord_of(harness)
    hook(concord, "contacts", "created", receiver.url + "/created")
    hook(concord, "contacts", "created", receiver.url + "/zed", {"first_name": "Zed", "last_name": ""})
    hook(concord, "contacts", "updated", receiver.url + "/updated")
    hook(concord, "contacts", "updated", receiver.url + "/renamed", {"last_name": "Hooked"})
    zed = concord.create("contacts", {"first_name": "Zed", "last_name": "Hook", "email": "zed@example.com"})
    espo = harness.key_client(harness.admin_key, validate=False)
    amy = espo.post("/api/v1/Contact", json={"firstName": "Amy", "lastName": "Other"}).json()  # through EspoCRM
    assert concord.put(f"contacts/{zed['id']}", {"last_name": "Hooked"}).status_code == 200
    assert concord.put(f"contacts/{amy['id']}", {"job_title": "CEO"}).status_code == 200
    worker.run_until_idle()
    received = {}
    for request in receiver.wait_for(4):
        received.setdefault(request.path, []).extend(json.loads(request.body))
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-polycrm-signature"] and request.headers["x-polycrm-delivery"]
    created = received["/hook/created"]
    assert [(r["id"], r["display_name"]) for r in created] == [(zed["id"], "Zed Hooked"), (int(amy["id"]), "Amy Other")]
    shown = concord.get(f"contacts/{zed['id']}").json()
    # The record as Concord shows it to a Zapier request: no UI keys; its values as they are when sent.
    assert set(shown) - set(created[0]) == {"authorizations", "was_recently_created", "actions", "associations_count"}
    assert created[0]["last_name"] == "Hooked" and created[0]["email"] == "zed@example.com"
    assert [r["id"] for r in received["/hook/zed"]] == [zed["id"]]  # only the record with the asked values
    assert [r["id"] for r in received["/hook/updated"]] == [zed["id"], int(amy["id"])]
    assert [r["id"] for r in received["/hook/renamed"]] == [zed["id"]]  # Amy's update did not change last_name


def test_a_payload_shows_the_records_files_as_a_record_does(harness: ApiHarness, worker: DeliveryWorker,
                                                           receiver: Receiver) -> None:
    from tests.concord.test_media import upload

    concord = concord_of(harness)
    hook(concord, "contacts", "updated", receiver.url + "/updated")
    contact = concord.create("contacts", {"first_name": "Filed"})
    assert upload(concord, f"contacts/{contact['id']}/media").status_code == 201
    assert concord.put(f"contacts/{contact['id']}", {"last_name": "Files"}).status_code == 200
    worker.run_until_idle()
    [delivered] = receiver.wait_for(1)
    [sent] = json.loads(delivered.body)
    shown = concord.get(f"contacts/{contact['id']}").json()
    assert sent["media"] == [{**file, "was_recently_created": False} for file in shown["media"]]
    assert sent["media"][0]["download_url"] == "http://testserver" + sent["media"][0]["download_path"]


def test_a_410_removes_the_hook_and_owners_see_only_their_records(harness: ApiHarness, worker: DeliveryWorker,
                                                                  receiver: Receiver) -> None:
    concord = concord_of(harness)
    gone = hook(concord, "companies", "created", receiver.url + "/gone")
    receiver.statuses = [410]
    concord.create("companies", {"name": "Acme"})
    worker.run_until_idle()
    assert receiver.wait_for(1)[0].path == "/hook/gone"
    assert concord.delete(f"zapier/hooks/{gone['id']}").status_code == 404  # Zapier asked: it is gone
    # A sales rep who reads their own contacts is sent their own only.
    rep = concord.as_user("zap-rep", {"Contact": {"create": "yes", "read": "own", "edit": "own"}})
    hook(rep, "contacts", "created", receiver.url + "/rep")
    concord.create("contacts", {"first_name": "Not", "last_name": "Theirs"})
    own = rep.create("contacts", {"first_name": "Their", "last_name": "Own"})
    worker.run_until_idle()
    sent = [r for r in receiver.wait_for(2) if r.path == "/hook/rep"]
    assert [[row["id"] for row in json.loads(r.body)] for r in sent] == [[own["id"]]]
