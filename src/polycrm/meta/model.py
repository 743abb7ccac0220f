"""The shape of metadata: entities own fields, fields expand into wire attributes, links relate entities.

Attribute names are EspoCRM's (the native protocol); other dialects map onto them by name tables.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Mapping, TypeVar

T = TypeVar("T")


class ValueKind(str, enum.Enum):
    """What JSON value an attribute carries; drives coercion, validation, storage and OpenAPI types."""

    STRING = "string"
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    ARRAY = "array"  # list of strings (multiEnum, array, checklist)
    JSON = "json"  # any JSON (jsonArray, jsonObject, emailAddressData, ...)
    ID = "id"  # reference to a record
    ID_LIST = "idList"
    NAME_MAP = "nameMap"  # {id: name}
    COLUMN_MAP = "columnMap"  # {id: {junction column: value}} (link-multiple columns)


class LinkStorage(str, enum.Enum):
    """Where a relation lives in the database."""

    COLUMN = "column"  # belongsTo: <link>_id on this table
    PARENT = "parent"  # belongsToParent: <link>_id + <link>_type on this table
    REVERSE_COLUMN = "reverseColumn"  # hasMany/hasOne whose foreign side is a belongsTo column
    CHILDREN = "children"  # hasChildren: the foreign side is a belongsToParent
    JUNCTION = "junction"  # many-to-many through a two-column table
    POLYMORPHIC = "polymorphic"  # many-to-many through (entity_type, entity_id, foreign_id), e.g. teams


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """`billingAddressCity` -> `billing_address_city`; the SQL spelling of an attribute or entity name."""
    return _CAMEL_BOUNDARY.sub(r"_\1", name).lower()


@dataclass(frozen=True, slots=True)
class Attribute:
    """One key of a record on the wire, e.g. `accountId`, `emailAddressData`."""

    name: str
    field: str
    kind: ValueKind
    column: str | None  # None when derived on read (names, id lists, email data)
    writable: bool
    max_length: int | None = None
    options: tuple[str, ...] | None = None
    target: str | None = None  # entity an ID/ID_LIST attribute refers to


@dataclass(frozen=True, slots=True)
class JunctionColumn(Attribute):
    """A value kept on each row of a many-to-many junction (EspoCRM's `additionalColumns`), e.g. a contact's
    role at an account. Typed like an attribute: `name` is its key in `<link>Columns` and where items, `column`
    its SQL column, `field` the link. `default` is what a new row holds when none is given."""

    default: Any = None


@dataclass(frozen=True, slots=True)
class PrimaryRowColumn:
    """Where an attribute that its record does not store is read from: a column of the `link` junction row
    relating the record to the one its belongsTo link `through` names. EspoCRM selects Contact
    `accountIsInactive` so, from the row of the contact's primary account."""

    link: str
    column: str
    through: str


@dataclass(slots=True)
class Field:
    """A field as EspoCRM's entityDefs describe it; `params` keeps the raw definition."""

    name: str
    type: str
    params: dict[str, Any]
    custom: bool = False
    api_names: dict[str, str] = dataclass_field(default_factory=dict)  # dialect -> external name
    custom_id: int | None = None  # a custom field's number in the store, for protocols that name fields by one

    @property
    def required(self) -> bool:
        return bool(self.params.get("required"))

    @property
    def read_only(self) -> bool:
        return bool(self.params.get("readOnly"))

    @property
    def options(self) -> list[str] | None:
        return self.params.get("options")

    @property
    def target(self) -> str | None:
        return self.params.get("entity")


@dataclass(slots=True)
class Link:
    """A relation from one entity to another, resolved to its storage."""

    name: str
    type: str  # EspoCRM link type: belongsTo, hasMany, hasOne, hasChildren, belongsToParent
    entity: str | None  # target entity (None for belongsToParent)
    foreign: str | None
    storage: LinkStorage
    table: str | None = None  # junction / polymorphic table
    near_column: str | None = None  # junction column pointing at this entity
    far_column: str | None = None  # junction column pointing at the target / FK column on either side
    # Values on the junction rows, shared by both sides of the relation (junction links only).
    columns: dict[str, JunctionColumn] = dataclass_field(default_factory=dict)
    # EspoCRM's `columnAttributeMap`: junction column -> the attribute of this entity that shows it on records
    # listed through the foreign side (an account's contacts show their `accountRole`).
    column_attributes: dict[str, str] = dataclass_field(default_factory=dict)

    def new_row(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The column values of a new junction row: the given ones, else the columns' defaults."""
        return {name: given.get(name, column.default) for name, column in self.columns.items()}


# Who follows the records of an entity with a stream (EspoCRM's stream subscriptions): users, in one table
# shared by every entity type. Not a link of the API: it is read as `followersIds`/`followersNames`, changed
# through the follow routes, and filtered on as `followed`.
FOLLOWERS = "followers"
FOLLOWERS_LINK = Link(FOLLOWERS, "hasMany", "User", None, LinkStorage.POLYMORPHIC, table="stream_subscription",
                      near_column="entity_id", far_column="user_id")
# What a record of such an entity shows about its followers to the user reading it (read-only view data).
FOLLOW_ATTRIBUTES = (
    Attribute("isFollowed", FOLLOWERS, ValueKind.BOOL, None, False),
    Attribute("followersIds", FOLLOWERS, ValueKind.ID_LIST, None, False, target="User"),
    Attribute("followersNames", FOLLOWERS, ValueKind.NAME_MAP, None, False, target="User"),
)


@dataclass(slots=True)
class Entity:
    """An entity type: its table, fields, attributes and links."""

    name: str
    table: str
    fields: dict[str, Field]
    links: dict[str, Link]
    attributes: dict[str, Attribute]
    order_by: str
    order: str
    text_filter_fields: list[str]
    duplicate_check_fields: list[str]
    primary_filters: dict[str, list[dict[str, Any]]]
    indexes: dict[str, list[str]]  # index name -> attribute names
    # EspoCRM's `collection.fullTextSearch`: the text filter fields' text (and `full_text_search_fields`') has a
    # text search index, so that "contains" and "starts with" searches find their rows without a scan.
    full_text_search: bool = False
    full_text_search_fields: tuple[str, ...] = ()
    # The order lists filtered by a case-insensitive text match are read in besides `order_by` (App CRM's
    # default order of the entity's resource): the search indexes end in it, so such a page stops at its end.
    search_order_by: str | None = None
    stream: bool = False  # EspoCRM's `scopes.<Entity>.stream`: users can follow its records
    # EspoCRM's `scopes.<Entity>.statusField`: a change of it is a `Status` note in the stream, not an `Update`.
    status_field: str | None = None
    # Fields that stand for a junction column in `column*` where items (EspoCRM's notStorable fields with
    # `link` and `column`, e.g. Contact `acceptanceStatusMeetings`): field -> (link, column).
    column_filter_fields: dict[str, tuple[str, str]] = dataclass_field(default_factory=dict)
    # Attributes read from a junction row (fields with `primaryRowColumn`), by attribute name.
    primary_row_columns: dict[str, PrimaryRowColumn] = dataclass_field(default_factory=dict)
    # belongsTo links whose record is also one of a many-to-many link's (field `keptIn`): EspoCRM relates a
    # contact to its account through `accounts` too. belongsTo link -> many-to-many link.
    kept_links: dict[str, str] = dataclass_field(default_factory=dict)
    # Access control (auth.acl): the attribute naming a record's owner where it is not the usual one (a
    # user owns their own user record: "id"), and the attribute holding the team a record is in where that
    # is the record itself (a team: "id") rather than its `teams` link.
    owner_override: str | None = None
    team_attribute: str | None = None
    # A list every user reads whatever their roles say (definition `readByEveryone`): pipelines and their
    # stages, lost reasons and the like, which a record names and any user who may write that record must see.
    read_by_everyone: bool = False
    # belongsTo links naming the record a record of this type is a part of (definition `partOf`: a deal's
    # product lines, a document's signers): a filter of that record over its parts counts them all, as the
    # record shows them all to whoever reads it, whatever the caller's rights on the parts' own type.
    part_of: frozenset[str] = frozenset()
    # The flag attribute of which one record at most is set (definition `oneDefault`: a brand, an activity
    # type made the default takes the mark from the others).
    one_default: str | None = None
    # What is derived from the fields on every request (a dialect's custom field keys, the secret attributes),
    # kept until a field changes (`fields_changed`); `revision` counts those changes, for caches held elsewhere.
    derived: dict[Any, Any] = dataclass_field(default_factory=dict, repr=False, compare=False)
    revision: int = 0

    def memo(self, key: Any, build: Callable[[], T]) -> T:
        """`build()`'s value, made once per revision of the fields (it must depend on them alone)."""
        try:
            return self.derived[key]
        except KeyError:
            value = self.derived[key] = build()
            return value

    def fields_changed(self) -> None:
        """Forget what was derived from the fields: one was added, removed or changed (API names included)."""
        self.derived = {}
        self.revision += 1

    def has_field(self, name: str) -> bool:
        return name in self.fields

    def column_attributes(self) -> list[Attribute]:
        """Attributes stored in this entity's own table, in definition order."""
        return [a for a in self.attributes.values() if a.column is not None]

    def relation(self, name: str) -> Link | None:
        """A link by name, or the followers of an entity with a stream (stored like a link, not one of the API)."""
        link = self.links.get(name)
        if link is None and name == FOLLOWERS and self.stream:
            return FOLLOWERS_LINK
        return link

    def relations(self) -> list[Link]:
        """Every relation the store keeps for this entity: its links, and its followers if it has a stream."""
        return [*self.links.values(), FOLLOWERS_LINK] if self.stream else list(self.links.values())

    def relation_column_attributes(self) -> dict[str, JunctionColumn]:
        """Attributes that records of this entity carry only in a relationship list through a link's foreign
        side, each showing a junction column (`accountRole` of an account's contacts), by attribute name."""
        return {attribute: link.columns[column] for link in self.links.values()
                for column, attribute in link.column_attributes.items() if column in link.columns}

    @property
    def has_assigned_user(self) -> bool:
        return "assignedUser" in self.fields

    @property
    def owner_attribute(self) -> str | None:
        """The attribute naming who owns a record, for "own" access levels and the `onlyMy` filter: the
        definition's (`ownerAttribute`), else the assigned user, else the creator; None where records have
        none of them (Team), which nobody owns."""
        if self.owner_override is not None:
            return self.owner_override
        if self.has_assigned_user:
            return "assignedUserId"
        return "createdById" if "createdById" in self.attributes else None

    @property
    def has_teams(self) -> bool:
        link = self.links.get("teams")
        return link is not None and link.storage is LinkStorage.POLYMORPHIC

    @property
    def teams_link(self) -> Link | None:
        """The link naming the teams a record is in, whatever its storage (a user's teams are a junction),
        for "team" access levels."""
        link = self.links.get("teams")
        return link if link is not None and link.entity == "Team" and link.storage in (
            LinkStorage.POLYMORPHIC, LinkStorage.JUNCTION) else None
