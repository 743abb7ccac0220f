"""Entity and field definitions: built-in ones from declarative files, custom ones from the database."""

from polycrm.meta.model import (FOLLOW_ATTRIBUTES, FOLLOWERS, FOLLOWERS_LINK, Attribute, Entity, Field, JunctionColumn,
                                Link, LinkStorage, ValueKind)
from polycrm.meta.registry import Registry, UnknownEntity, load_builtin_registry

__all__ = ["FOLLOW_ATTRIBUTES", "FOLLOWERS", "FOLLOWERS_LINK", "Attribute", "Entity", "Field", "JunctionColumn", "Link",
           "LinkStorage", "Registry", "UnknownEntity", "ValueKind", "load_builtin_registry"]
