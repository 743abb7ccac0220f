"""Timeline pins (the TimelinePin entity, Concord CRM's pinned_timeline_subjects): an entry pinned to the top of a
record's timeline. The subject is the record whose timeline it is (`subjectType`/`subjectId`: a Contact, Account
or Opportunity), the pinned entry a note of its stream (`Note`, its changelog) or a record associated with it
(`Task`, `Call`, `RecordNote`, `Document`). Pins are shared, as Concord's: whoever reads the record sees them.

Concord checks no permission on pins; PolyCRM lets a user pin and unpin what they may read (the subject and the
entry: the protocol checks both before it calls here), whatever their roles on TimelinePin, as every Concord
user pins. Roles that grant rights on TimelinePin (through `/api/v1`) add to these."""

from __future__ import annotations

from polycrm.auth.acl import Actor
from polycrm.core.users import with_levels

TIMELINE_PIN = "TimelinePin"
NOTE = "Note"  # a changelog entry's type: a stream note


def pin_keeper(actor: Actor) -> Actor:
    """The caller pinning, unpinning and reading pins (of records they were found to read)."""
    return with_levels(actor, TIMELINE_PIN, {"create": "yes", "read": "all", "edit": "all", "delete": "all"})
