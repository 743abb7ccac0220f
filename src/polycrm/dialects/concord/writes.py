"""Create and update with inline associations (specs/concord.md §4, §5): the record and the sync of each
association sent are one transaction, so a refused association leaves the record unwritten."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polycrm.core.billable_service import InvalidLine
from polycrm.core.document_parties import save_parties_within
from polycrm.core.errors import Forbidden, NotFound
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.billables import billable_of_write, line_error
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.document_parties import read_parties
from polycrm.dialects.concord.envelope import invalid
from polycrm.dialects.concord.guests import GuestSets
from polycrm.dialects.concord.lookups import Lookups
from polycrm.dialects.concord.tags import TagNames
from polycrm.dialects.concord.values import VIA_ID
from polycrm.query.tree import Compare, Op, Sort, disjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi
    from polycrm.dialects.concord.view import ResourceView


def save(api: ConcordApi, request: ConcordRequest, view: ResourceView, record_id: int | None) -> int:
    """Create (record_id None) or update a record from the request body; its id."""
    actor = request.user
    creating = record_id is None
    records = api.core.records(view.entity.name)
    current = records.read(actor, record_id) if record_id is not None else None  # 404 before the body is read
    parsed = view.reader.read(request.body, creating=record_id is None)
    parties = read_parties(view.resource, request.body, parsed, creating=record_id is None)
    Lookups(api, actor).store_names(parsed)
    if current is not None:
        view.reader.settle(parsed, current)
    if parsed.errors:
        raise invalid(parsed.errors)
    if current is not None:
        _leave_locked(request, view, current, parsed.data)
    if record_id is None:
        complete_new(api, request, view, parsed.data)
        if parties is not None and parties.signers and not parsed.data.get("requiresSignature"):
            parsed.data["requiresSignature"] = True  # Concord: a document created with signers requires them
    taken = {spec.key: [spec.unique] for spec in view.resource.fields
             if spec.unique and parsed.data.get(spec.field) and unique_taken(api, view, spec.field, parsed.data[spec.field],
                                                                       record_id)}
    if taken:
        raise invalid(taken)
    if parsed.ignored:
        request.warnings.append(f"keys ignored (not fields of {view.resource.name}): {', '.join(parsed.ignored)}")
    request.warnings.extend(parsed.notes)
    associations = {key: resolve(api, request, view, key, ids) for key, ids in parsed.associations.items()}
    tags = {view.resource.by_key[key].attribute: TagNames(api, request, view.resource.by_key[key].tag_type, names)
            for key, names in parsed.tags.items()}
    guests = GuestSets(api, request, view, parsed)  # 422 for an id naming no record the caller reads
    attached = via_record(api, request, view, parsed.via)
    if attached is not None and attached[0] in associations:  # sent with its key: one of the set it syncs to
        associations[attached[0]].append(attached[1])
        attached = None
    billable = billable_of_write(request, record_id is None)
    relations = api.core.relations(view.entity.name)
    with api.core.transaction() as conn:
        for attribute, names in tags.items():
            parsed.data[attribute] = names.within(conn)
        parsed.data.update(guests.within(conn, record_id))
        if record_id is None:
            record_id = records.create_within(conn, actor, parsed.data, waived=view.resource.not_required)["id"]
            for key, ids in associations.items():
                relations.change_within(conn, actor, record_id, view.resource.associations[key].link, added=ids)
        else:
            records.update_within(conn, actor, record_id, parsed.data, waived=view.resource.not_required)
            for key, ids in associations.items():
                relations.sync_within(conn, actor, record_id, view.resource.associations[key].link, ids)
        if attached is not None:
            relations.change_within(conn, actor, record_id, view.resource.associations[attached[0]].link,
                                    added=[attached[1]])
        if billable is not None:
            try:
                api.core.billables.save_within(conn, actor, view.entity.name, record_id, billable)
            except InvalidLine as error:
                raise line_error(error, "billable.") from None
        if parties is not None:
            save_parties_within(conn, actor, api.core.records, record_id, parties, creating=creating)
    records.committed()
    return record_id


def via_record(api: ConcordApi, request: ConcordRequest, view: ResourceView, via: tuple[str, int] | None
               ) -> tuple[str, int] | None:
    """The record `via_resource`/`via_resource_id` name (its association key and id), which the write
    attaches; 422 when it does not exist or the caller may not read it (Concord's policy reads it too)."""
    if via is None:
        return None
    target = api.mapping.resources[view.resource.associations[via[0]].resource]
    try:
        api.core.records(target.entity_name).read(request.user, via[1])
    except (NotFound, Forbidden):
        raise invalid({VIA_ID: ["The selected via resource id is invalid."]}) from None
    return via


def _leave_locked(request: ConcordRequest, view: ResourceView, current: dict[str, Any], data: dict[str, Any]) -> None:
    """Drop the keys the record's state locks (an accepted document's title, content, brand, signature flag:
    Concord ignores their changes) and name them in a warning."""
    resource = view.resource
    if not resource.locked_keys or any(current.get(k) != v for k, v in resource.locked_when.items()):
        return
    left = [key for key in resource.locked_keys if resource.by_key[key].attribute in data]
    for key in left:
        del data[resource.by_key[key].attribute]
    if left:
        request.warnings.append(f"keys left unchanged (locked in this state): {', '.join(left)}")


def complete_new(api: ConcordApi, request: ConcordRequest, view: ResourceView, data: dict[str, Any]) -> None:
    """A new record's values the body left out: the resource's create defaults, and each defaulted link's
    default record among those the caller may read (422 when there is none, as the link is then required)."""
    for name, value in view.resource.create_defaults.items():
        data.setdefault(name, value)
    for spec in view.resource.fields:
        if spec.default_record is None or data.get(spec.attribute) is not None:
            continue
        target = view.entity.links[spec.field].entity
        query = SearchQuery(where=Compare(spec.default_record, Op.EQ, True), sorts=[Sort("id")], limit=1,
                            select=["id"], total=TotalMode.NONE)
        found = api.core.records(target).search_visible(request.user, query).records
        if not found:
            raise invalid({spec.key: [f"The {spec.label} field is required."]})
        data[spec.attribute] = found[0]["id"]


def unique_taken(api: ConcordApi, view: ResourceView, field: str, value: Any, record_id: int | None) -> bool:
    """Concord's unique rule: another record holds the value, or, for an e-mail address, a user does."""
    if api.core.records(view.entity.name).value_taken(field, value, excluding=record_id):
        return True
    return view.entity.fields[field].type == "email" and api.directory.user_id_by_email(value) is not None


def resolve(api: ConcordApi, request: ConcordRequest, view: ResourceView, key: str, items: list[Any]) -> list[int]:
    """The ids of the live records the caller may read among ids and names (matched on the associated
    resource's title, ignoring case); the rest is dropped, as Concord drops it, and named in a warning."""
    if not items:
        return []
    target = api.mapping.resources[view.resource.associations[key].resource]
    ids = [i for i in items if isinstance(i, int)]
    names = [i for i in items if isinstance(i, str)]
    conditions = [Compare("id", Op.IN, tuple(ids))] if ids else []
    conditions += [Compare(target.title, Op.EQUALS_TEXT, name) for name in names]
    query = SearchQuery(where=disjunction(conditions), sorts=[Sort("id")], limit=len(items) * 10,
                        select=["id", target.title], total=TotalMode.NONE)
    found = api.core.records(target.entity_name).search_visible(request.user, query).records
    by_id = {r["id"] for r in found}
    by_name: dict[str, int] = {}
    for record in found:
        by_name.setdefault(str(record.get(target.title) or "").lower(), record["id"])
    resolved, dropped = [], []
    for item in items:
        found_id = item if isinstance(item, int) and item in by_id else by_name.get(str(item).lower()) \
            if isinstance(item, str) else None
        if found_id is None:
            dropped.append(str(item))
        else:
            resolved.append(found_id)
    if dropped:
        request.warnings.append(f"{key} not found or not readable, left out: {', '.join(dropped)}")
    return list(dict.fromkeys(resolved))
