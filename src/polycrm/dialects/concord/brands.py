"""Concord's `/api/brands` (its Brands module: `Route::apiResource('brands')`, writes for super admins only)
over the Brand entity. Not a generic resource: the index is a bare array (the default brand first, then by
name) and a brand is Concord's BrandResource, without timestamps, links or counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.documents import BRAND_ENTITY
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import MAX_PER_PAGE, ConcordRequest
from polycrm.dialects.concord.envelope import answer, forbidden, invalid, no_content
from polycrm.dialects.concord.records import record_id
from polycrm.dialects.concord.values import BodyReader
from polycrm.query.tree import Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

# What a brand shows for Concord's logos and visibility groups, which PolyCRM does not keep.
_NOT_KEPT = {"logo_view": None, "logo_view_url": None, "logo_mail": None, "logo_mail_url": None,
             "visibility_group": None}


def render(brand: dict[str, Any]) -> dict[str, Any]:
    return {"id": brand["id"], "name": brand.get("name"), "display_name": brand.get("displayName"),
            "is_default": bool(brand.get("isDefault")), "config": {"primary_color": brand.get("primaryColor")},
            **_NOT_KEPT}


def _brand_id(api: ConcordApi, request: ConcordRequest) -> int:
    """The path's brand id; the brand's errors are then worded for it (404 naming Concord's Brand model)."""
    request.resource = api.mapping.brands
    return record_id(request)


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    request.resource = api.mapping.brands
    query = SearchQuery(sorts=[Sort("isDefault", descending=True), Sort("name"), Sort("id")], limit=MAX_PER_PAGE,
                        total=TotalMode.NONE)
    return answer([render(brand) for brand in api.core.records(BRAND_ENTITY).search(request.user, query).records])


def show(api: ConcordApi, request: ConcordRequest) -> Response:
    return answer(render(api.core.records(BRAND_ENTITY).read(request.user, _brand_id(api, request))))


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    request.resource = api.mapping.brands
    return answer(render(_save(api, request, None)), 201)


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    brand_id = _brand_id(api, request)
    api.core.records(BRAND_ENTITY).read(request.user, brand_id)  # 404 before the body is checked
    return answer(render(_save(api, request, brand_id)))


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    brand_id = _brand_id(api, request)
    records = api.core.records(BRAND_ENTITY)
    records.read(request.user, brand_id)
    _require_admin(request)
    records.delete(request.user, brand_id)
    return no_content()


def _require_admin(request: ConcordRequest) -> None:
    """Concord's BrandPolicy lets only super admins (PolyCRM administrators) create, change or delete."""
    if not request.user.is_admin:
        raise forbidden()


def _save(api: ConcordApi, request: ConcordRequest, brand_id: int | None) -> dict[str, Any]:
    """Create or change a brand from the body: name and display name on both (Concord's BrandRequest
    requires them on PUT too); a default brand makes the others not default (core: `oneDefault`)."""
    _require_admin(request)
    body = request.body
    if isinstance(body, dict) and isinstance(body.get("config"), dict):
        body = {**{k: v for k, v in body.items() if k != "config"},
                **{f"config.{key}": value for key, value in body["config"].items() if key == "primary_color"}}
    records = api.core.records(BRAND_ENTITY)
    brands = api.mapping.brands
    parsed = BodyReader(api.mapping, brands, records.entity).read(body, creating=True)
    for spec in brands.fields:
        value = parsed.data.get(spec.field)
        if spec.unique and value and records.value_taken(spec.field, value, excluding=brand_id):
            parsed.fail(spec.key, spec.unique)
    if parsed.errors:
        raise invalid(parsed.errors)
    if parsed.ignored:
        request.warnings.append(f"keys ignored (not kept for brands): {', '.join(parsed.ignored)}")
    if brand_id is None:
        return records.create(request.user, parsed.data)
    return records.update(request.user, brand_id, parsed.data)[0]
