"""Comments on activities, calls and notes (the Comment entity: a `parent` record, a `body`, its author in
`createdBy`), with the rights Concord CRM gives them whatever a user's roles: whoever may read a record reads
its comments and comments on it; only a comment's author (or an administrator) reads it alone, changes or
deletes it. Roles that grant Comment rights (through `/api/v1/Comment`) add to these."""

from __future__ import annotations

from polycrm.auth.acl import Actor
from polycrm.core.users import AUTHOR_LEVELS, with_levels

COMMENT_ENTITY = "Comment"


def commenter(actor: Actor) -> Actor:
    """The caller as an author: creates comments, reads, changes and deletes their own."""
    return with_levels(actor, COMMENT_ENTITY, AUTHOR_LEVELS)


def thread_reader(actor: Actor) -> Actor:
    """The caller reading the comments of one record they were found to be allowed to read (every author's):
    only for a search limited to that record's comments."""
    return with_levels(actor, COMMENT_ENTITY, {"read": "all"})
