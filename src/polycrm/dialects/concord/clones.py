"""`POST /api/{resource}/{id}/clone` (Concord's CloneController): a copy of a record the caller may read, made
through the record service (so the caller needs create rights), for the resources whose mapping has `clone`
(Concord's Cloneable ones: products and documents); any other resource is 404.

The copy has the record's writable keys and custom fields but those the mapping skips (a product's SKU,
unique), its title marked ` - Copy(a1B2c3)` (six random letters and digits) as Concord's `clone_prefix`
marks it, the mapping's `values` (a document starts as a draft), the caller as owner when the mapping names
the owner key, and the record's associations when it says so; a document's signers and recipients are
copied (name, address, send flag), as Concord's Document::clone. The answer is the new record as `GET` shows
it, with 200, as Concord's.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.document_parties import PartiesInput, parties_of, save_parties_within
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer, not_found
from polycrm.dialects.concord.mapping import CloneSpec
from polycrm.dialects.concord.records import record_id, resource_of
from polycrm.dialects.concord.view import ResourceView

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

# A copy's mark, which a copy of a copy replaces (Concord's clone_prefix).
_COPY_MARK = re.compile(r"\s-\sCopy\([a-zA-Z0-9]{6}\)")
_MARK_CHARACTERS = string.ascii_letters + string.digits
DEFAULT_TITLE_LENGTH = 191  # Concord's string columns
COPIED_PART_FIELDS = ("name", "email", "sendEmail")  # what a copy keeps of a signer or recipient


def copy_title(title: str, max_length: int = DEFAULT_TITLE_LENGTH) -> str:
    """`<title> - Copy(<six random letters and digits>)`, an earlier mark dropped, the title shortened to fit
    the field."""
    mark = " - Copy(" + "".join(secrets.choice(_MARK_CHARACTERS) for _ in range(6)) + ")"
    return _COPY_MARK.sub("", title)[:max(max_length - len(mark), 0)] + mark


def clone(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = resource_of(request)
    spec = resource.clone
    if spec is None:
        raise not_found()
    view = ResourceView.of(api, resource)
    records = api.core.records(view.entity.name)
    source = records.read(request.user, record_id(request))  # 404, or 403 for a record the caller may not read
    data = _copied(view, spec, source, request.user.user_id)
    relations = api.core.relations(view.entity.name)
    links = [resource.associations[key].link for key in resource.associations] if spec.associations else []
    related = relations.related_ids([source["id"]], links) if links else {}
    with api.core.transaction() as conn:
        new_id = records.create_within(conn, request.user, data, waived=resource.not_required)["id"]
        for link in links:
            ids = related[link].get(source["id"], [])
            if ids:
                relations.change_within(conn, request.user, new_id, link, added=list(ids))
        if resource.parts:  # Concord copies a document's signers and recipients (name, address, send flag)
            copied = {key: [{name: party.get(name) for name in COPIED_PART_FIELDS} for party in parties_of(
                conn, api.core.records, view.entity.links[part["link"]].entity or "", [source["id"]]).get(
                source["id"], [])] for key, part in resource.parts.items()}
            save_parties_within(conn, request.user, api.core.records, new_id, PartiesInput(**copied), creating=True)
    records.committed()
    return answer(view.read(request.user, new_id))


def _copied(view: ResourceView, spec: CloneSpec, source: dict[str, Any], user_id: int) -> dict[str, Any]:
    """The new record's values: the source's writable keys and custom fields but the skipped ones."""
    resource = view.resource
    attributes = [item.attribute for item in resource.fields
                  if not item.read_only and item.key not in spec.skipped and item.key != spec.owner]
    attributes += [item.field for item in view.custom]
    data = {name: source[name] for name in attributes if source.get(name) is not None}
    title = source.get(resource.title) or ""
    limit = view.entity.fields[resource.title].params.get("maxLength") or DEFAULT_TITLE_LENGTH
    data[resource.title] = copy_title(str(title), int(limit))
    data.update(spec.values)
    if spec.owner is not None:
        data[resource.by_key[spec.owner].attribute] = user_id
    return data
