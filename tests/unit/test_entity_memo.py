"""What is derived from an entity's fields is kept between requests and made anew when a field changes."""

from polycrm.dialects.concord.custom_types import custom_fields
from polycrm.meta.fieldtypes import secret_attributes
from polycrm.meta.registry import CustomFieldDefinition, load_builtin_registry


def test_a_memo_is_made_once_and_again_after_each_kind_of_field_change():
    registry = load_builtin_registry()
    contact = registry.entity("Contact")
    built: list[int] = []
    keys = lambda: built.append(1) or sorted(contact.fields)  # noqa: E731
    first = contact.memo("keys", keys)
    assert contact.memo("keys", keys) is first and len(built) == 1
    revision = contact.revision

    registry.add_custom_field(CustomFieldDefinition("Contact", "cTier", "varchar", {}, {"concord": "cf_tier"}))
    assert "cTier" in contact.memo("keys", keys) and len(built) == 2 and contact.revision > revision

    registry.set_api_names("Contact", "cTier", {"concord": "cf_level"})
    assert [item.key for item in custom_fields(contact)] == ["cf_level"]
    registry.remove_custom_field("Contact", "cTier")
    assert custom_fields(contact) == [] and "cTier" not in contact.memo("keys", keys)


def test_secret_attributes_follow_a_new_secret_field():
    registry = load_builtin_registry()
    account = registry.entity("Account")
    assert "cPin" not in secret_attributes(account)
    registry.add_custom_field(CustomFieldDefinition("Account", "cPin", "secret", {}, {}))
    assert "cPin" in secret_attributes(account)
