"""Concord's API routes (specs/concord.md §2) as a table: path shapes, the methods each serves, the handler.

A shape is a tuple of segments: literals, or `{resource}` (a resource name), `{id}` or `{associated}`.
Literal shapes come first, as in Laravel's route file, so `/api/contacts/search` is not a record id.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Any, Callable

from polycrm.dialects.concord import (accounts, associations, billables, board, brands, clones, comments,
                                      custom_fields, documents, export, form_fields, imports, lookups, media, openapi,
                                      profile, records, saved_filters, search, tag_admin, teams, timeline,
                                      timeline_pins, trash, users, zapier)


@dataclass(frozen=True, slots=True)
class Operation:
    handler: Callable[..., Any]
    body: bool = False  # reads a JSON body
    upload: bool = False  # reads a multipart/form-data body (its files staged, removed after the handler)
    guest: bool = False  # served without a token (Laravel's `guest` routes)


@dataclass(frozen=True, slots=True)
class Route:
    shape: tuple[str, ...]
    methods: dict[str, Operation]

    def allowed(self) -> list[str]:
        """The `Allow` list Laravel gives a 405: GET implies HEAD."""
        shown = []
        for method in self.methods:
            shown += ["GET", "HEAD"] if method == "GET" else [method]
        return shown


ROUTES = (
    Route(("token",), {"POST": Operation(accounts.issue_token, body=True, guest=True)}),
    Route(("openapi.json",), {"GET": Operation(openapi.document, guest=True)}),
    Route(("me",), {"GET": Operation(accounts.me)}),
    Route(("profile",), {"PUT": Operation(profile.update, body=True)}),
    Route(("profile", "password"), {"PUT": Operation(profile.change_password, body=True)}),
    Route(("personal-access-tokens",), {"GET": Operation(accounts.list_tokens),
                                        "POST": Operation(accounts.create_token, body=True)}),
    Route(("personal-access-tokens", "{id}"), {"DELETE": Operation(accounts.revoke_token)}),
    Route(("search",), {"GET": Operation(search.global_search)}),
    Route(("countries",), {"GET": Operation(lookups.list_countries)}),
    Route(("timezones",), {"GET": Operation(lookups.list_timezones)}),
    Route(("currencies",), {"GET": Operation(lookups.list_currencies)}),
    Route(("users",), {"GET": Operation(users.index), "POST": Operation(users.store, body=True)}),
    Route(("users", "{id}"), {"GET": Operation(users.show), "PUT": Operation(users.update, body=True),
                              "DELETE": Operation(users.destroy)}),
    Route(("custom-fields",), {"GET": Operation(custom_fields.index),
                               "POST": Operation(custom_fields.store, body=True)}),
    Route(("custom-fields", "{id}"), {"GET": Operation(custom_fields.show),
                                      "PUT": Operation(custom_fields.update, body=True),
                                      "DELETE": Operation(custom_fields.destroy)}),
    Route(("fields", "{group}", "create"), {"GET": Operation(form_fields.create_fields)}),
    Route(("fields", "{group}", "update"), {"GET": Operation(form_fields.update_fields)}),
    Route(("brands",), {"GET": Operation(brands.index), "POST": Operation(brands.store, body=True)}),
    Route(("brands", "{id}"), {"GET": Operation(brands.show), "PUT": Operation(brands.update, body=True),
                               "DELETE": Operation(brands.destroy)}),
    Route(("teams",), {"GET": Operation(teams.index), "POST": Operation(teams.store, body=True)}),
    Route(("teams", "{id}"), {"GET": Operation(teams.show), "PUT": Operation(teams.update, body=True),
                              "PATCH": Operation(teams.update, body=True), "DELETE": Operation(teams.destroy)}),
    # Concord's `POST tags/{type?}` and `PUT/DELETE tags/{tag}` share a shape: a POST's `{id}` is the tag type.
    Route(("tags", "order"), {"POST": Operation(tag_admin.reorder, body=True)}),
    Route(("tags",), {"POST": Operation(tag_admin.store, body=True)}),
    Route(("tags", "{id}"), {"POST": Operation(tag_admin.store_typed, body=True),
                             "PUT": Operation(tag_admin.update, body=True), "DELETE": Operation(tag_admin.destroy)}),
    Route(("associations", "{resource}", "{id}"), {
        "GET": Operation(associations.listing), "PUT": Operation(associations.attach, body=True),
        "POST": Operation(associations.sync, body=True), "DELETE": Operation(associations.detach, body=True)}),
    Route(("trashed", "{resource}"), {"GET": Operation(trash.index), "DELETE": Operation(trash.empty)}),
    Route(("trashed", "{resource}", "search"), {"GET": Operation(trash.search)}),
    Route(("trashed", "{resource}", "{id}"), {"GET": Operation(trash.show), "POST": Operation(trash.restore),
                                              "DELETE": Operation(trash.destroy)}),
    Route(("zapier", "hooks", "{resource}", "created"), {"POST": Operation(zapier.subscribe_created, body=True)}),
    Route(("zapier", "hooks", "{resource}", "updated"), {"POST": Operation(zapier.subscribe_updated, body=True)}),
    Route(("zapier", "hooks", "{id}"), {"DELETE": Operation(zapier.unsubscribe)}),
    Route(("filters",), {"POST": Operation(saved_filters.store, body=True)}),
    Route(("filters", "{id}"), {"GET": Operation(saved_filters.index), "PUT": Operation(saved_filters.update, body=True),
                                "DELETE": Operation(saved_filters.destroy)}),
    Route(("filters", "{id}", "{view}", "default"), {"PUT": Operation(saved_filters.mark_default),
                                                     "DELETE": Operation(saved_filters.unmark_default)}),
    Route(("deals", "board", "{pipeline}"), {"GET": Operation(board.board),
                                             "POST": Operation(board.move, body=True)}),
    Route(("deals", "board", "{pipeline}", "summary"), {"GET": Operation(board.summary)}),
    Route(("deals", "board", "{pipeline}", "summary", "{stage}"), {"GET": Operation(board.stage_summary)}),
    Route(("deals", "board", "{pipeline}", "{stage}"), {"GET": Operation(board.load)}),
    Route(("media", "{id}"), {"GET": Operation(media.view)}),
    Route(("media", "{id}", "preview"), {"GET": Operation(media.preview)}),
    Route(("media", "{id}", "download"), {"GET": Operation(media.download)}),
    Route(("comments", "{id}"), {"GET": Operation(comments.show), "PUT": Operation(comments.update, body=True),
                                 "DELETE": Operation(comments.destroy)}),
    Route(("timeline", "pin"), {"POST": Operation(timeline_pins.pin, body=True)}),
    Route(("timeline", "unpin"), {"POST": Operation(timeline_pins.unpin, body=True)}),
    Route(("documents", "{id}", "lost"), {"POST": Operation(documents.mark_lost)}),
    Route(("documents", "{id}", "accept"), {"POST": Operation(documents.mark_accepted)}),
    Route(("documents", "{id}", "draft"), {"POST": Operation(documents.mark_draft)}),
    *(Route((name, "{id}", "billable"), {"GET": Operation(shown), "POST": Operation(saved, body=True)})
      for name, (shown, saved) in billables.HANDLERS.items()),
    Route(("{resource}",), {"GET": Operation(records.index), "POST": Operation(records.store, body=True)}),
    Route(("{resource}", "search"), {"GET": Operation(records.search)}),
    Route(("{resource}", "rules"), {"GET": Operation(records.rules)}),
    Route(("{resource}", "export"), {"POST": Operation(export.export, body=True)}),
    Route(("{resource}", "import"), {"GET": Operation(imports.index)}),
    Route(("{resource}", "import", "upload"), {"POST": Operation(imports.upload, upload=True)}),
    Route(("{resource}", "import", "sample"), {"GET": Operation(imports.sample)}),
    Route(("{resource}", "import", "{id}"), {"POST": Operation(imports.run, body=True),
                                             "DELETE": Operation(imports.destroy)}),
    Route(("{resource}", "import", "{id}", "revert"), {"DELETE": Operation(imports.revert)}),
    Route(("{resource}", "{id}"), {"GET": Operation(records.show), "PUT": Operation(records.update, body=True),
                                   "DELETE": Operation(records.destroy)}),
    Route(("{resource}", "{id}", "clone"), {"POST": Operation(clones.clone)}),
    Route(("{resource}", "{id}", "comments"), {"GET": Operation(comments.index),
                                               "POST": Operation(comments.store, body=True)}),
    Route(("{resource}", "{id}", "timeline"), {"GET": Operation(timeline.index)}),
    Route(("{resource}", "{id}", "media"), {"POST": Operation(media.store, upload=True)}),
    Route(("{resource}", "{id}", "media", "{media}"), {"DELETE": Operation(media.destroy)}),
    Route(("{resource}", "{id}", "{associated}"), {"GET": Operation(records.associated)}),
)
# Names the dialect answers whatever the authentication (InflowCRM has no routes under them).
LITERAL_ROOTS = frozenset(r.shape[0] for r in ROUTES if not r.shape[0].startswith("{"))


def match(segments: list[str], method: str | None = None) -> tuple[Route, dict[str, str]] | None:
    """The route a path (split after `/api/`) takes and its path values; None when no shape fits. As Laravel's
    router, the first route that fits and serves the method (`GET /api/contacts/5/clone` is an association
    list, `POST` the clone); else, for the 405, the methods of every route that fits, in Laravel's order."""
    fitting: list[tuple[Route, dict[str, str]]] = []
    for route in ROUTES:
        params = _fit(route.shape, segments)
        if params is None:
            continue
        if method is None or method in route.methods:
            return route, params
        fitting.append((route, params))
    if not fitting:
        return None
    methods = {verb: operation for route, _ in fitting for verb, operation in route.methods.items()}
    ordered = {verb: methods[verb] for verb in _VERBS if verb in methods}
    return Route(fitting[0][0].shape, ordered), fitting[0][1]


_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")  # the order Laravel's 405 lists them in


def _fit(shape: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(shape) != len(segments):
        return None
    params: dict[str, str] = {}
    for pattern, segment in zip(shape, segments):
        if pattern.startswith("{"):
            if not segment:
                return None
            params[pattern[1:-1]] = segment
        elif pattern != segment:
            return None
    return params


# A Concord record id (InflowCRM's are 24 hexadecimal characters).
_RECORD_ID = re.compile(r"\d{1,20}")
# InflowCRM's sub-path of a record (`/api/{module}/{id}/files`).
_INFLOW_RECORD_PATHS = frozenset({"files"})


def is_concord_path(segments: list[str], resources: frozenset[str]) -> bool:
    """Whether a path under `/api/` (split) is Concord's whatever the authentication. InflowCRM's
    `/api/{module}/{id}` takes Concord's record paths too (`contacts` is an InflowCRM module name): a
    request with a Bearer token, which InflowCRM never uses, is Concord's (the caller decides that); without
    one, a path only Concord has (a lone resource, `search`/`rules`, an integer id, an association) is."""
    first = segments[0]
    if first in LITERAL_ROOTS:
        return True
    if first not in resources:
        return False
    if len(segments) == 1:
        return True
    if len(segments) == 2:
        return segments[1] in ("search", "rules", "export", "import") or bool(_RECORD_ID.fullmatch(segments[1]))
    if len(segments) == 4:
        return segments[2] == "media" or segments[1] == "import"
    return len(segments) == 3 and segments[2] not in _INFLOW_RECORD_PATHS
