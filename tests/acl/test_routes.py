"""Every route of both protocols is accounted for in the access-control tests: a new route fails here until
it names the test that proves it keeps the rule (a row of the matrix, `path:<name>`, or another test), or
says why records cannot be reached through it."""

from __future__ import annotations

import pytest
from starlette.routing import Route, Router

from tests.acl.test_matrix import PATHS
from tests.api.conftest import harness  # noqa: F401 - shared per-test application

ESPO = {
    ("GET", "/api/v1/"): "no records: the API's banner",
    ("GET", "/api/v1/App/user"): "the user's own record: test_the_stream_and_followers_name_only_readable_records",
    ("POST", "/api/v1/App/destroyAuthToken"): "no records: the caller's own token (tests/api/test_espo_auth.py)",
    ("GET", "/api/v1/Metadata"): "no records: definitions, and the caller's own levels",
    ("GET", "/api/v1/OpenApi"): "no records: the API description",
    ("GET", "/api/v1/App/about"): "no records: version information",
    ("GET", "/api/v1/I18n"): "labels of the types the caller reads: tests/settings/test_system_endpoints.py",
    ("GET", "/api/v1/Settings"): "no records; what each caller sees: tests/settings/test_settings_api.py",
    ("PUT", "/api/v1/Settings"): "administrators only: tests/settings/test_settings_api.py",
    ("PATCH", "/api/v1/Settings"): "administrators only: tests/settings/test_settings_api.py",
    ("GET", "/api/v1/GlobalSearch"): "readable records only: test_global_search_shows_a_user_only_what_they_may_read",
    ("POST", "/api/v1/MassAction"): "path:espo mass update by where",
    ("POST", "/api/v1/Admin/fieldManager/{entity}"): "administrators only (tests/api/test_espo_auth.py)",
    **{(method, "/api/v1/Admin/fieldManager/{entity}/{field}"): "administrators only: tests/admin/"
       "test_field_manager.py::test_only_administrators_use_the_field_manager"
       for method in ("GET", "PUT", "PATCH", "DELETE")},
    **{(method, path): "administrators only: tests/admin/test_roles.py::test_only_administrators_manage_roles"
       for method, path in [("GET", "/api/v1/Role"), ("POST", "/api/v1/Role"), ("GET", "/api/v1/Role/{id}"),
                            ("PUT", "/api/v1/Role/{id}"), ("PATCH", "/api/v1/Role/{id}"),
                            ("DELETE", "/api/v1/Role/{id}")]},
    ("POST", "/api/v1/User/action/changeOwnPassword"): "no records: the caller's own password, checked first "
                                                       "(tests/admin/test_passwords.py)",
    ("GET", "/api/v1/Webhook"): "the caller's own subscriptions (tests/events/test_espo_webhook_api.py)",
    ("POST", "/api/v1/Webhook"): "entity types the owner reads; items checked when sent: test_acl_payloads",
    ("GET", "/api/v1/Webhook/{id}"): "the caller's own subscriptions (tests/events/test_espo_webhook_api.py)",
    ("PUT", "/api/v1/Webhook/{id}"): "the caller's own subscriptions (tests/events/test_espo_webhook_api.py)",
    ("PATCH", "/api/v1/Webhook/{id}"): "the caller's own subscriptions (tests/events/test_espo_webhook_api.py)",
    ("DELETE", "/api/v1/Webhook/{id}"): "the caller's own subscriptions (tests/events/test_espo_webhook_api.py)",
    ("GET", "/api/v1/Webhook/{id}/deliveries"): "the caller's own subscriptions' log",
    ("POST", "/api/v1/Webhook/{id}/deliveries/{deliveryId}/redeliver"): "the caller's own subscriptions' log",
    ("POST", "/api/v1/Note"): "path:espo post note",
    ("GET", "/api/v1/Note/{id}"): "notes of readable records: tests/api/test_espo_stream.py",
    ("PUT", "/api/v1/Note/{id}"): "the author's own posts: tests/api/test_espo_stream.py",
    ("PATCH", "/api/v1/Note/{id}"): "the author's own posts: tests/api/test_espo_stream.py",
    ("DELETE", "/api/v1/Note/{id}"): "the author's own posts: tests/api/test_espo_stream.py",
    ("POST", "/api/v1/{entity}/action/{action}"): "path:espo convert attributes",
    ("PUT", "/api/v1/{entity}/action/{action}"): "path:espo legacy mass update",
    ("DELETE", "/api/v1/{entity}/action/{action}"): "path:espo legacy mass update",
    ("POST", "/api/v1/Lead/{id}/convert"): "edit access to the lead, create access: tests/api (convert)",
    ("POST", "/api/v1/Lead/{id}/action/convert"): "edit access to the lead, create access: tests/api (convert)",
    ("PUT", "/api/v1/{entity}/{id}/subscription"): "path:espo follow",
    ("DELETE", "/api/v1/{entity}/{id}/subscription"): "path:espo follow",
    ("GET", "/api/v1/{entity}/{id}/followers"): "path:espo followers",
    ("POST", "/api/v1/{entity}/{id}/followers"): "edit access, admins for others: tests/api/test_espo_followers.py",
    ("DELETE", "/api/v1/{entity}/{id}/followers"): "edit access, admins for others: tests/api/test_espo_followers.py",
    ("GET", "/api/v1/{entity}/{id}/stream"): "path:espo stream",
    ("GET", "/api/v1/{entity}/{id}/posts"): "path:espo stream",
    ("DELETE", "/api/v1/{entity}/{id}/{link}/{relatedId}"): "test_relating_and_unrelating_need_edit_access_on_both_sides",
    ("GET", "/api/v1/{entity}/{id}/{link}"): "test_relating_and_unrelating_need_edit_access_on_both_sides",
    ("POST", "/api/v1/{entity}/{id}/{link}"): "test_relating_and_unrelating_need_edit_access_on_both_sides",
    ("DELETE", "/api/v1/{entity}/{id}/{link}"): "test_relating_and_unrelating_need_edit_access_on_both_sides",
    ("GET", "/api/v1/{entity}/{id}"): "path:espo read",
    ("PUT", "/api/v1/{entity}/{id}"): "path:espo update",
    ("PATCH", "/api/v1/{entity}/{id}"): "path:espo update",
    ("DELETE", "/api/v1/{entity}/{id}"): "path:espo delete",
    ("GET", "/api/v1/{entity}"): "path:espo list",
    ("POST", "/api/v1/{entity}"): "path:espo duplicate check",
}
INFLOW = {
    "/getBundleModuleNames": "no records: the modules the key may read",
    "/getUserList": "users the key may read: tests/inflow/test_records.py::test_user_endpoint_errors",
    "/validateApiKey": "no records: the key's own user",
    "/getProcessesForModule": "no records: stage lists",
    "/createRecord": "test_inflow_links_only_to_readable_records",
    "/updateRecord/{id}": "path:inflow update",
    "/searchRecords": "path:inflow search",
    "/findRecord": "path:inflow findRecord",
    "/getModuleFields": "no records: field definitions",
    "/make/getModuleFields": "no records: field definitions",
    "/getSampleData": "the newest readable record: searched like path:inflow search",
    "/records/count": "path:inflow count",
    "/records/getByIds": "path:inflow getByIds",
    "/getUser/{id}": "users the key may read: tests/inflow/test_records.py::test_user_endpoint_errors",
    "/updateUser/{id}": "test_inflow_update_user_cannot_escalate",
    "/files/{id}/download": "files of readable records: tests/inflow/test_files.py",
    "/{module}/{id}/files": "path:inflow files",
    "/{module}/{id}": "path:inflow read",
    "/webhooks/subscribe": "modules the key may read; items checked when sent: test_acl_payloads",
    "/webhooks": "the key's own subscriptions (tests/inflow/test_webhooks.py)",
    "/webhooks/": "no records: a missing id",
    "/webhooks/{id}": "the key's own subscriptions (tests/inflow/test_webhooks.py)",
    "/webhooks/{id}/deliveries": "the key's own subscriptions' log",
    "/webhooks/{id}/deliveries/{deliveryId}/redeliver": "the key's own subscriptions' log",
}

ITFLOW = {
    "/api/v1/{module}/{function}.php": "every module function acts as the key's user and within its client: "
                                       "tests/itflow/test_scope_matrix.py",
}

CONCORD = {
    "/api/token": "no record: email and password make a token of their user",
    "/api/me": "the caller's own user",
    "/api/openapi.json": "no records: the dialect's OpenAPI document",
    "/api/personal-access-tokens": "the caller's own tokens (tests/concord/test_auth.py)",
    "/api/personal-access-tokens/{id}": "the caller's own tokens: another's is 404 (tests/concord/test_auth.py)",
    "/api/users": "every user lists users (Concord's UserPolicy); super admins create (tests/concord/test_users.py)",
    "/api/users/{id}": "every user reads a user; super admins change and delete (tests/concord/test_users.py)",
    "/api/search": "resources the caller may read, records through core search (ACL)",
    "/api/countries": "no records: Concord's fixed country list, for any user (tests/concord/test_products_lookups.py)",
    "/api/timezones": "no records: a fixed list, for any user (tests/concord/test_misc_routes.py)",
    "/api/currencies": "no records: a fixed list, for any user (tests/concord/test_misc_routes.py)",
    "/api/profile": "the caller's own user, whatever their roles (core.users.profile_editor; "
                    "tests/concord/test_profile.py)",
    "/api/profile/password": "the caller's own user, with the current password (tests/concord/test_profile.py)",
    "/api/deals/board/{pipeline}": "read of the pipeline, then of the deals; a move updates only deals the caller "
                                   "may edit (tests/concord/test_board.py::"
                                   "test_deals_the_caller_may_not_edit_are_left_as_they_are)",
    **{f"/api/timeline/{verb}": "read of the record and of the entry (tests/concord/test_timeline_pins.py::"
                                "test_the_caller_must_read_both_records)" for verb in ("pin", "unpin")},
    **{path: "read of the pipeline, then of the deals counted or shown (tests/concord/test_board.py::"
             "test_one_stage_loads_a_page_and_summaries_count_by_stage)" for path in (
        "/api/deals/board/{pipeline}/{stage}", "/api/deals/board/{pipeline}/summary",
        "/api/deals/board/{pipeline}/summary/{stage}")},
    "/api/comments/{id}": "the author or an administrator (core.comments; tests/concord/test_comments.py)",
    "/api/{resource}/{id}/clone": "read of the record, create of its type (tests/concord/test_clones.py)",
    "/api/filters": "core.saved_filters: every user saves their own (tests/concord/test_saved_filters.py)",
    "/api/filters/{id}": "core.saved_filters: own, shared and the application's are seen; the author or an "
                         "administrator changes (tests/concord/test_saved_filters.py::"
                         "test_private_and_shared_filters_between_users)",
    "/api/filters/{id}/{view}/default": "core.saved_filters: a filter the caller sees; the marks are the caller's "
                                        "own (tests/concord/test_saved_filters.py::"
                                        "test_private_and_shared_filters_between_users)",
    "/api/{resource}/export": "core records: read of the type, the rows the caller may read "
                              "(tests/concord/test_export.py::test_a_limited_user_exports_only_what_they_may_read)",
    **{f"/api/{{resource}}/import{path}": "core.imports: create of the type to upload and run, the author's own "
                                          "imports (an administrator lists all; only the author runs, reverts or "
                                          "deletes one), rows written through core records (tests/concord/"
                                          "test_import.py::test_a_limited_user)"
       for path in ("", "/upload", "/sample", "/{id}", "/{id}/revert")},
    "/api/{resource}/{id}/comments": "read of the record; then its comments, added as their author "
                                     "(core.comments; tests/concord/test_comments.py)",
    **{f"/api/fields/{{group}}/{view}": "every user; select options are the records the caller may read (users, "
                                        "sources, pipelines...: core search), the owner's default the caller "
                                        "(tests/concord/test_fields_meta.py)" for view in ("create", "update")},
    "/api/custom-fields": "administrators only (tests/concord/test_custom_fields.py)",
    "/api/custom-fields/{id}": "administrators only (tests/concord/test_custom_fields.py)",
    "/api/associations/{resource}/{id}": "read to see, edit to change the record; ids the caller may not read "
                                         "are dropped (tests/concord/test_associations.py)",
    "/api/trashed/{resource}": "core.trash: read to list, delete to empty (tests/core/test_trash.py)",
    "/api/trashed/{resource}/search": "core.trash: read",
    "/api/trashed/{resource}/{id}": "core.trash: read, delete to restore or destroy",
    **{f"/api/documents/{{id}}/{change}": "core records: edit of the document (tests/concord/test_documents.py::"
                                          "test_a_limited_user_sees_and_changes_only_what_its_role_allows)"
       for change in ("lost", "accept", "draft")},
    **{f"/api/{name}/{{id}}/billable": "read of the record to see, edit of it to change its products "
                                       "(tests/concord/test_billable.py::test_a_limited_user_needs_edit_access_to_the_deal)"
       for name in ("deals", "documents")},
    "/api/brands": "core records: read to list; writes administrators only (tests/concord/test_documents.py::"
                   "test_brands)",
    "/api/brands/{id}": "core records: read; writes administrators only (tests/concord/test_documents.py::"
                        "test_brands)",
    **{f"/api/tags{path}": "super admins only, as Concord's `admin` middleware (a missing tag's 404 first); "
                           "tags are read by everyone through records (tests/concord/test_tag_admin.py)"
       for path in ("", "/order", "/{id}")},
    "/api/teams": "core records: the teams the caller reads (those they are in or manage, without a role); writes "
                  "administrators only (tests/concord/test_teams.py)",
    "/api/teams/{id}": "core records: read (403 for a team the caller is not in); writes administrators only "
                       "(tests/concord/test_teams.py)",
    "/api/{resource}": "core records: read to list, create to create",
    "/api/{resource}/search": "core records: read",
    "/api/{resource}/rules": "the resource's filter rules; a rule's options over a resource are its readable records",
    **{f"/api/zapier/hooks/{{resource}}/{action}": "read of the resource to subscribe; records sent are those the "
                                                  "hook's owner reads (tests/concord/test_zapier.py, "
                                                  "tests/events/test_zapier_delivery.py)"
       for action in ("created", "updated")},
    "/api/zapier/hooks/{id}": "the caller's own hooks: another's is 404 (tests/concord/test_zapier.py)",
    "/api/{resource}/{id}": "core records: read, edit, delete",
    "/api/{resource}/{id}/media": "edit of the record (core.files; tests/concord/test_media.py::test_rights)",
    "/api/{resource}/{id}/media/{media}": "edit of the record; a file of another record is 404 "
                                          "(tests/concord/test_media.py::test_rights)",
    **{path: "read of the file's record, else 404 (core.files.open; tests/concord/test_media.py::test_rights)"
       for path in ("/api/media/{id}", "/api/media/{id}/preview", "/api/media/{id}/download")},
    "/api/{resource}/{id}/{associated}": "read of the record, then of the associated ones",
    "/api/{resource}/{id}/timeline": "read of the record (its stream's names the caller may not read blanked), "
                                     "then the associated records the caller may read "
                                     "(tests/concord/test_timeline.py::test_a_limited_user)",
}


def test_every_concord_route_is_covered_by_an_access_control_test():
    from polycrm.dialects.concord.routes import ROUTES
    served = {"/api/" + "/".join(route.shape) for route in ROUTES}
    assert served == set(CONCORD), {"not covered": served - set(CONCORD), "gone": set(CONCORD) - served}


def served_routes(app) -> tuple[set[tuple[str, str]], set[str], set[str]]:
    """(EspoCRM (method, path) pairs, InflowCRM paths under /api and /webhooks, ITFlow paths) the application
    serves."""
    espo, inflow, itflow = set(), set(), set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.endswith(".php"):
            itflow.add(route.path)
        elif isinstance(route, Route) and isinstance(route.app, Router):
            espo |= {(method, sub.path) for sub in route.app.routes for method in sub.methods or () if method != "HEAD"}
        elif isinstance(route, Route) and route.path.startswith(("/api/", "/webhooks")):
            if "{path:path}" not in route.path:
                inflow.add(route.path.removeprefix("/api"))
    return espo, inflow, itflow


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_route_is_covered_by_an_access_control_test(harness):
    espo, inflow, itflow = served_routes(harness.app)
    assert espo == set(ESPO), {"not covered": espo - set(ESPO), "gone": set(ESPO) - espo}
    assert itflow == set(ITFLOW), {"not covered": itflow - set(ITFLOW), "gone": set(ITFLOW) - itflow}
    assert inflow == set(INFLOW), {"not covered": inflow - set(INFLOW), "gone": set(INFLOW) - inflow}
    for reason in [*ESPO.values(), *INFLOW.values()]:
        if reason.startswith("path:"):
            assert reason.removeprefix("path:") in PATHS, reason
