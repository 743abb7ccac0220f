"""Lead conversion (specs/espocrm.md §7): create Account, Contact and Opportunity from a lead in one
transaction, then mark the lead converted."""

from __future__ import annotations

from typing import Any

from polycrm.auth.acl import Actor
from polycrm.core.errors import BadRequest, DuplicateFound, Forbidden
from polycrm.core.service import Core
from polycrm.store.database import utcnow

CONVERT_ENTITIES = ("Account", "Contact", "Opportunity")
NOT_COPIED = {"id", "createdAt", "modifiedAt", "createdById", "createdByName", "modifiedById", "modifiedByName",
              "versionNumber", "name", "status", "deleted"}
# Lead attribute -> target attribute, beyond same-named fields of the same type.
CONVERT_MAP = {
    "Account": {"accountName": "name", "addressStreet": "billingAddressStreet", "addressCity": "billingAddressCity",
                "addressState": "billingAddressState", "addressCountry": "billingAddressCountry",
                "addressPostalCode": "billingAddressPostalCode"},
    "Contact": {},
    "Opportunity": {"opportunityAmount": "amount", "opportunityAmountCurrency": "amountCurrency",
                    "source": "leadSource"},
}


def convert_attributes(core: Core, actor: Actor, lead_id: Any) -> dict[str, dict[str, Any]]:
    """Attributes each target entity would get from the lead (EspoCRM's getConvertAttributes)."""
    leads = core.records("Lead")
    lead = leads.read(actor, lead_id)
    if not actor.can("Lead", "edit"):
        raise Forbidden("No edit access.")
    lead_entity = leads.entity
    result: dict[str, dict[str, Any]] = {}
    for target_name in CONVERT_ENTITIES:
        if not actor.can(target_name, "create"):
            continue
        target = core.registry.entity(target_name)
        values: dict[str, Any] = {}
        for field in target.fields.values():
            source = lead_entity.fields.get(field.name)
            if source is None or source.type != field.type or field.read_only:
                continue
            for attribute in target.attributes.values():
                if attribute.field == field.name and attribute.name not in NOT_COPIED and attribute.name in lead:
                    values[attribute.name] = lead[attribute.name]
        for source_name, target_attribute in CONVERT_MAP[target_name].items():
            if lead.get(source_name) is not None and target_attribute in target.attributes:
                values[target_attribute] = lead[source_name]
        if target_name == "Opportunity" and lead.get("name"):
            values.setdefault("name", lead.get("accountName") or lead["name"])
        result[target_name] = values
    return result


def convert_lead(core: Core, actor: Actor, lead_id: Any, records: dict[str, Any], *,
                 skip_duplicate_check: bool = False) -> dict[str, Any]:
    """Convert a lead; all created records and the lead change commit together or not at all."""
    if not isinstance(records, dict) or set(records) - set(CONVERT_ENTITIES):
        raise BadRequest("'records' must be an object keyed by Account, Contact and/or Opportunity.")
    if any(not isinstance(v, dict) for v in records.values()):
        raise BadRequest("Each converted record must be an object.")
    leads = core.records("Lead")
    leads.require_scope(actor, "edit")
    for name in records:
        if not actor.can(name, "create"):
            raise Forbidden(f"No 'create' access for {name}.")
    with core.database.transaction() as conn:
        if "Opportunity" in records:  # before the lead's row (see CurrencyService.hold)
            core.currency.hold(conn)
        lead = leads.load_record(conn, lead_id, not_found="Record {id} not found.", lock=True)
        leads.check_record(conn, actor, "edit", lead)
        if lead.get("status") == "Converted":
            raise BadRequest("Lead is already converted.")
        parsed = {name: core.records(name).input.parse(data, creating=True) for name, data in records.items()}
        if not skip_duplicate_check:
            duplicates = []
            for name, item in parsed.items():
                service = core.records(name)
                if service.entity.duplicate_check_fields:
                    for found in service.find_duplicates(conn, actor, service.prepare_new(actor, item),
                                                         item.contact_points):
                        duplicates.append({"id": found["id"], "name": found.get("name"), "_entityType": name})
            if duplicates:
                raise DuplicateFound(duplicates)
        created: dict[str, int] = {}
        if "Account" in parsed:
            created["Account"] = core.records("Account").insert_parsed(conn, actor, parsed["Account"])
        if "Contact" in parsed:
            contact = parsed["Contact"]
            if "Account" in created:
                contact.values["accountId"] = created["Account"]
            # The contact's account also becomes one of its accounts (Contact's kept link).
            created["Contact"] = core.records("Contact").insert_parsed(conn, actor, contact)
        if "Opportunity" in parsed:
            opportunity = parsed["Opportunity"]
            if "Account" in created:
                opportunity.values["accountId"] = created["Account"]
            if "Contact" in created:
                opportunity.values["contactId"] = created["Contact"]
                opportunity.links["contacts"] = [created["Contact"]]
            created["Opportunity"] = core.records("Opportunity").insert_parsed(conn, actor, opportunity)
        now = utcnow()  # one reading: the two stamps must not straddle a second
        changes = {"status": "Converted", "convertedAt": now, "modifiedAt": now,
                   "modifiedById": actor.user_id, "versionNumber": (lead.get("versionNumber") or 0) + 1}
        for name, record_id in created.items():
            changes[f"created{name}Id"] = record_id
        leads.repository.update(conn, lead["id"], changes)
        leads.outbox.updated(conn, "Lead", actor.user_id, lead["id"], lead, changes)
    return leads.read(actor, lead["id"])
