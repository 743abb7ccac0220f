"""A text search through the text search indexes (store.text_search) finds only what the actor may read, and
counts only that: the indexes narrow the rows, access control still decides."""

from __future__ import annotations

import uuid

from polycrm.core.search import SearchQuery, text_filter
from polycrm.query.tree import Compare, Op, Sort


def test_a_limited_user_finds_and_counts_only_their_own_records(harness) -> None:
    core = harness.app.state.core
    admin = harness.directory.actor(harness.admin_id)
    name = f"u{uuid.uuid4().hex[:10]}"
    user_id = harness.directory.create_user(name, None)
    harness.directory.create_role(name, {"Contact": {"create": "yes", "read": "own", "edit": "own", "delete": "no"}})
    harness.directory.assign_role(user_id, name)
    limited = harness.directory.actor(user_id)
    contacts = core.records("Contact")
    contacts.create_many(admin, [{"firstName": "Other", "lastName": f"Smithson{i}"} for i in range(3)])
    own = [contacts.create(limited, {"firstName": "Mine", "lastName": f"Smithers{i}"})["id"] for i in range(2)]
    for where in (Compare("lastName", Op.CONTAINS, "mith"), text_filter(contacts.entity, "smi")):
        result = contacts.search(limited, SearchQuery(where, [Sort("createdAt", True)], limit=1))
        assert result.total == 2 and [r["id"] for r in result.records] == [own[-1]]
        assert contacts.search(admin, SearchQuery(where, limit=1)).total == 5
