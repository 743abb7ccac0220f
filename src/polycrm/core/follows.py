"""Following records (EspoCRM's stream subscriptions; specs/espocrm.md §2.1-2.2, §5, §6.1; the activity stream
itself is core/stream.py): following and unfollowing, who follows a record, adding and removing other followers,
the `followed` filter, and the follows EspoCRM makes on its own when a record is created or assigned.

Only entities with a stream (`Entity.stream`) have followers. Following is not a change of the record: it
writes no `modifiedAt`, no `versionNumber` and no webhook event. Roles have no separate "stream" level, so
a user may follow what they may read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor, record_allowed
from polycrm.core.errors import BadRequest, Forbidden, NotFound
from polycrm.core.search import SearchQuery, SearchResult
from polycrm.core.values import parse_id
from polycrm.meta import FOLLOWERS, FOLLOWERS_LINK, Entity
from polycrm.query.tree import FALSE, Compare, LinkMode, Linked, Node, Op
from polycrm.store.follows import FollowRepository

if TYPE_CHECKING:  # the record service builds its AutoFollow from this module
    from polycrm.core.records import RecordService

# Users one request may add to or remove from a record's followers: far more than an instance has, and few
# enough for one statement's parameters on every database.
MAX_USERS_PER_REQUEST = 1000
# The actor of a user id, or None for a user who is inactive or gone (`UserDirectory.actor`, `load_actor`).
ActorSource = Callable[[int], Actor | None]


def followed_filter(entity: Entity, user_id: int) -> Node:
    """The records of `entity` the user follows: EspoCRM's `followed` primary and bool filters. An entity
    without a stream has no followers, so nothing matches (EspoCRM accepts the filter everywhere)."""
    return Linked(FOLLOWERS, LinkMode.ANY, (user_id,)) if entity.stream else FALSE


def follower_view(pairs: Iterable[tuple[int, Any]], viewer: int) -> dict[str, Any]:
    """`isFollowed`, `followersIds` and `followersNames` of a record for the user reading it, from its
    followers as (user id, name): the reader first, then by name, as EspoCRM lists them."""
    ordered = sorted(pairs, key=lambda pair: (pair[0] != viewer, pair[1] or "", pair[0]))
    ids = [user_id for user_id, _ in ordered]
    return {"isFollowed": viewer in ids, "followersIds": ids, "followersNames": dict(ordered)}


class AutoFollow:
    """The follows EspoCRM makes without being asked (its stream hooks), written in the transaction of the
    change: the assigned user follows a new record, and a newly assigned user an updated one. Creators do
    not follow what they create, as in EspoCRM unless a user's `followCreatedEntities` preference (off by
    default; PolyCRM has no preferences) says so: an integration would otherwise follow all it imports.
    Each user must be active and allowed to read the record, or is left out."""

    def __init__(self, entity: Entity, actors: ActorSource, follows: FollowRepository):
        self.entity = entity
        self.actors = actors
        self.follows = follows

    def created(self, conn: Connection, actor: Actor,
                records: Sequence[tuple[int, dict[str, Any], Sequence[int]]]) -> None:
        """New records, as (id, values, team ids), made by `actor`."""
        readers: dict[int, Actor | None] = {actor.user_id: actor}
        pairs = []
        for record_id, values, team_ids in records:
            user_id = values.get("assignedUserId")
            if user_id is not None and self._may_read(readers, user_id, values, team_ids):
                pairs.append((record_id, user_id))
        self.follows.add_new(conn, pairs)

    def assigned(self, conn: Connection, record: dict[str, Any]) -> None:
        """A record (its values after the update) whose assigned user changed: the new one follows it."""
        user_id = record.get("assignedUserId")
        # The assigned user owns the record, so their own level decides and the record's teams do not matter.
        if user_id is not None and self._may_read({}, user_id, record, ()):
            self.follows.add(conn, [(record["id"], user_id)])

    def _may_read(self, readers: dict[int, Actor | None], user_id: int, values: dict[str, Any],
                  team_ids: Sequence[int]) -> bool:
        if user_id not in readers:
            readers[user_id] = self.actors(user_id)
        reader = readers[user_id]
        return reader is not None and record_allowed(reader, self.entity, "read", values, team_ids)


class FollowService:
    """Following the records of one entity type that has a stream (NotFound "No stream." otherwise)."""

    def __init__(self, records: RecordService, users: RecordService, actors: ActorSource):
        if not records.entity.stream:
            raise NotFound("No stream.")
        self.records = records
        self.users = users
        self.actors = actors
        self.follows = FollowRepository(records.database, records.entity.name)

    # --- the actor's own follows ------------------------------------------------------------------

    def follow(self, actor: Actor, record_id: Any) -> None:
        """`PUT {Entity}/{id}/subscription`: the actor follows a record they may read."""
        self._own(actor, record_id, follow=True)

    def unfollow(self, actor: Actor, record_id: Any) -> None:
        """`DELETE {Entity}/{id}/subscription`."""
        self._own(actor, record_id, follow=False)

    def _own(self, actor: Actor, record_id: Any, *, follow: bool) -> None:
        self.records.require_scope(actor, "read")
        with self.records.database.transaction() as conn:
            record = self._record(conn, actor, record_id, ("read",))
            self._write(conn, [record["id"]], [actor.user_id], follow=follow)

    def mass_follow(self, actor: Actor, ids: Sequence[Any]) -> list[int]:
        """MassAction `follow`: the actor follows every record of `ids` (unknown ids are skipped; Forbidden,
        and nothing followed, if any is not theirs to read); returns the ids followed."""
        return self._mass(actor, ids, follow=True)

    def mass_unfollow(self, actor: Actor, ids: Sequence[Any]) -> list[int]:
        """MassAction `unfollow`, like `mass_follow`."""
        return self._mass(actor, ids, follow=False)

    def _mass(self, actor: Actor, ids: Sequence[Any], *, follow: bool) -> list[int]:
        self.records.require_scope(actor, "read")
        with self.records.database.transaction() as conn:
            done = [r["id"] for r in self.records.records_for_mass_action(conn, actor, ids, "read")]
            self._write(conn, done, [actor.user_id], follow=follow)
        return done

    # --- followers of a record --------------------------------------------------------------------

    def followers(self, actor: Actor, record_id: Any, query: SearchQuery) -> SearchResult:
        """`GET {Entity}/{id}/followers`: the users following a record the actor may read, as a user list
        limited to the users the actor may see (EspoCRM applies the User access filter, no 403)."""
        self.records.require_scope(actor, "read")
        with self.records.database.connect() as conn:
            record = self._record(conn, actor, record_id, ("read",))
            ids = self.records.repository.related_ids(conn, FOLLOWERS_LINK, [record["id"]]).get(record["id"], [])
        return self.users.search_visible(actor, query, within=Compare("id", Op.IN, tuple(ids)))

    def add_followers(self, actor: Actor, record_id: Any, user_ids: Sequence[Any]) -> None:
        """`POST {Entity}/{id}/followers`: the users follow a record the actor may edit. Admins may add
        anyone, other users only themselves (EspoCRM's follower-management permission); each user must be
        active and allowed to read the record. All or nothing."""
        self._manage(actor, record_id, user_ids, follow=True)

    def remove_followers(self, actor: Actor, record_id: Any, user_ids: Sequence[Any]) -> None:
        """`DELETE {Entity}/{id}/followers`, with the rules of `add_followers` but for reading the record."""
        self._manage(actor, record_id, user_ids, follow=False)

    def _manage(self, actor: Actor, record_id: Any, raw_ids: Sequence[Any], *, follow: bool) -> None:
        self.records.require_scope(actor, "edit")
        if len(raw_ids) > MAX_USERS_PER_REQUEST:
            raise BadRequest(f"At most {MAX_USERS_PER_REQUEST} users per request.")
        user_ids = list(dict.fromkeys(self._user_id(raw) for raw in raw_ids))
        with self.records.database.transaction() as conn:
            record = self._record(conn, actor, record_id, ("edit", "read"))
            existing = self.users.repository.existing_ids(conn, user_ids)
            missing = [i for i in user_ids if i not in existing]
            if missing:
                raise NotFound(f"User {missing[0]} not found.")
            if not actor.is_admin and any(i != actor.user_id for i in user_ids):
                raise Forbidden("No 'followerManagement' permission.")
            if follow:
                for user_id in user_ids:
                    reader = actor if user_id == actor.user_id else self.actors(user_id)
                    if reader is None or not self.records.allows(conn, reader, "read", record):
                        raise Forbidden("Could not add user to followers.")
            self._write(conn, [record["id"]], user_ids, follow=follow)

    # --- helpers ----------------------------------------------------------------------------------

    def _record(self, conn: Connection, actor: Actor, record_id: Any, actions: Sequence[str]) -> dict[str, Any]:
        record = self.records.load_record(conn, record_id, not_found="Record {id} does not exist.")
        for action in actions:
            self.records.check_record(conn, actor, action, record)
        return record

    @staticmethod
    def _user_id(raw: Any) -> int:
        user_id = parse_id(raw)
        if user_id is None:
            raise NotFound(f"User {raw} not found.")
        return user_id

    def _write(self, conn: Connection, record_ids: Sequence[int], user_ids: Sequence[int], *, follow: bool) -> None:
        if follow:
            self.follows.add(conn, ((r, u) for r in record_ids for u in user_ids))
        else:
            self.follows.remove(conn, record_ids, user_ids)
