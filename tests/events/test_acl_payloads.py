"""Webhooks tell their owner only of records they may read, in both protocols: a delete of someone else's
record is not sent (its id alone would tell of it), and a payload names only records the owner may read."""

from __future__ import annotations

import json

from tests.events.receiver import Receiver
from tests.events.test_espo_delivery import create, subscribe
from tests.events.test_inflow_delivery import subscribe as inflow_subscribe, verified

OWN = {"create": "yes", "read": "own", "edit": "own", "delete": "own"}


def test_espo_deletes_and_names_reach_only_what_the_owner_may_read(api, harness, worker, receiver: Receiver):
    owner, client = harness.user({"Account": OWN, "Contact": OWN}, user_type="api")
    subscribe(client, "Account.delete", receiver.url + "/deleted")
    subscribe(client, "Contact.update", receiver.url + "/updated")
    hidden_account = create(api, "Account", {"name": "Hidden Co"})
    own_account = create(api, "Account", {"name": "Own Co", "assignedUserId": str(owner)})
    contact = create(api, "Contact", {"lastName": "Mine", "assignedUserId": str(owner)})
    assert api.put(f"/api/v1/Contact/{contact['id']}", json={"accountId": hidden_account["id"]}).status_code == 200
    assert api.delete(f"/api/v1/Account/{hidden_account['id']}").status_code == 200
    assert api.delete(f"/api/v1/Account/{own_account['id']}").status_code == 200
    worker.run_until_idle()
    received = receiver.wait_for(2)
    bodies = {request.path.rpartition("/")[2]: json.loads(request.body) for request in received}
    assert bodies["deleted"] == [{"id": own_account["id"]}]
    [update] = bodies["updated"]
    # The change of the owner's contact is sent, without the name of an account they may not read.
    assert update["accountId"] == hidden_account["id"] and update["accountName"] is None


def test_inflow_deletes_reach_only_what_the_owner_may_read(harness, worker, receiver: Receiver):
    owner, espo_user = harness.user({"Account": OWN})
    user = harness.client({"x-api-key": espo_user.headers["x-api-key"]}, validate=False)
    admin = harness.client({"x-api-key": harness.admin_key}, validate=False)
    inflow_subscribe(user, "deleted", receiver.url)
    theirs = admin.post("/api/createRecord", json={"module": "customer", "data": {"name": "Not theirs"}}).json()
    mine = user.post("/api/createRecord", json={"module": "customer", "data": {"name": "Theirs"}}).json()
    assert admin.delete(f"/api/customer/{theirs['data']['id']}").status_code == 204
    assert admin.delete(f"/api/customer/{mine['data']['id']}").status_code == 204
    worker.run_until_idle()
    receiver.wait_for(1)
    assert [verified(r)["id"] for r in receiver.received] == [mine["data"]["id"]]
