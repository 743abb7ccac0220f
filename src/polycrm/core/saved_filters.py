"""Saved filters (the SavedFilter entity: a `name`, the resource `identifier` it filters, its `rules`, `isShared`,
its author in `createdBy`) and the views each user filters by default with one (SavedFilterDefault: the
author's row per view), with the rights Concord CRM gives them whatever a user's roles: every user saves
filters and reads their own, the shared ones and the application's (no author); only the author (or an
administrator) changes or deletes one. Roles that grant rights on these entities (through `/api/v1`) add to
these."""

from __future__ import annotations

from polycrm.auth.acl import Actor
from polycrm.core.users import AUTHOR_LEVELS, with_levels
from polycrm.query.tree import Compare, Node, Op, disjunction

SAVED_FILTER = "SavedFilter"
FILTER_DEFAULT = "SavedFilterDefault"


def filter_author(actor: Actor) -> Actor:
    """The caller as a filters' author: saves filters and default marks, changes and deletes their own."""
    return with_levels(with_levels(actor, SAVED_FILTER, AUTHOR_LEVELS), FILTER_DEFAULT, AUTHOR_LEVELS)


def filter_reader(actor: Actor) -> Actor:
    """The caller reading saved filters: only for a search within `visible_filters` (theirs, shared, the
    application's)."""
    return with_levels(actor, SAVED_FILTER, {"read": "all"})


def visible_filters(actor: Actor) -> Node:
    """The saved filters a user sees: their own, those shared and the application's (Concord's visibleFor)."""
    return disjunction([Compare("createdById", Op.EQ, actor.user_id), Compare("isShared", Op.EQ, True),
                        Compare("createdById", Op.IS_NULL)])
