"""Differences found by replaying a scenario against a real Concord CRM 1.4.1, each pinned."""

from __future__ import annotations

from tests.concord.conftest import Concord


def test_tokens_list_after_a_custom_field_changed_the_schema(concord: Concord):
    """A new custom field rebuilds the tables; the token list mixed the old and new `api_key` (a 500)."""
    assert concord.post("custom-fields", {"resource_name": "contacts", "label": "Nick", "field_type": "Text",
                                          "field_id": "cf_nick"}).status_code == 201
    listed = concord.get("personal-access-tokens")
    assert listed.status_code == 200 and [row["name"] for row in listed.json()] == ["n8n"]
    issued = concord.post("personal-access-tokens", {"name": "second"}).json()
    assert concord.delete(f"personal-access-tokens/{issued['accessToken']['id']}").status_code == 204
