"""The system tables of events and webhooks: the outbox, subscriptions, deliveries and the attempt log.

Declared here (the store owns SQL) and used by `polycrm.events`. Datetimes keep microseconds: latency
and backoff are measured in fractions of a second.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text,
                        and_)
from sqlalchemy.types import TypeEngine


def build_event_tables(metadata: MetaData, id_type: TypeEngine) -> None:
    """Add the tables to `metadata`; `id_type` is the store's primary-key type (rowid on SQLite)."""
    outbox = Table("webhook_event", metadata,
                   Column("id", id_type, primary_key=True, autoincrement=True),  # the commit order per record
                   Column("entity_type", String(100), nullable=False),
                   Column("record_id", BigInteger(), nullable=False),
                   Column("action", String(16), nullable=False),  # create, update, delete
                   Column("actor_id", BigInteger(), nullable=True),
                   Column("before", Text(), nullable=True),  # JSON: changed attributes' old values (update)
                   Column("after", Text(), nullable=True),  # JSON: saved values (create), new values (update)
                   Column("created_at", DateTime(), nullable=False),
                   Column("fanned_out", Boolean(), nullable=False, default=False, server_default="0"))
    # Only the events not yet fanned out are ever looked up by the worker: a small partial index.
    Index("ix_webhook_event_pending", outbox.c.id, postgresql_where=outbox.c.fanned_out.is_(False),
          sqlite_where=outbox.c.fanned_out.is_(False))
    Index("ix_webhook_event_created_at", outbox.c.created_at)

    webhook = Table("webhook", metadata,
                    Column("id", id_type, primary_key=True, autoincrement=True),
                    # The public id where a protocol shows UUIDs (InflowCRM); NULL only on rows made before it.
                    Column("uid", String(36), nullable=True),
                    Column("protocol", String(16), nullable=False),  # espo, inflow
                    Column("event", String(255), nullable=False),  # as the subscriber spelled it
                    Column("entity_type", String(100), nullable=False),
                    Column("action", String(16), nullable=False),  # create, update, delete, fieldUpdate
                    Column("field", String(100), nullable=True),
                    Column("url", Text(), nullable=False),
                    Column("secret", Text(), nullable=False),  # encrypted at rest (KeyRing)
                    Column("owner_id", BigInteger(), nullable=True),
                    Column("skip_own", Boolean(), nullable=False, default=False, server_default="0"),
                    Column("is_active", Boolean(), nullable=False, default=True, server_default="1"),
                    Column("description", Text(), nullable=True),
                    Column("settings", Text(), nullable=False, default="{}", server_default="{}"),
                    Column("disabled_reason", Text(), nullable=True),
                    Column("consecutive_failures", Integer(), nullable=False, default=0, server_default="0"),
                    Column("deleted", Boolean(), nullable=False, default=False, server_default="0"),
                    Column("created_at", DateTime(), nullable=False),
                    Column("modified_at", DateTime(), nullable=False),
                    Column("created_by_id", BigInteger(), nullable=True))
    Index("ix_webhook_owner_id", webhook.c.owner_id)
    Index("ix_webhook_uid", webhook.c.uid, unique=True)
    Index("ix_webhook_protocol_event", webhook.c.protocol, webhook.c.entity_type, webhook.c.action)

    delivery = Table("webhook_delivery", metadata,
                     Column("id", id_type, primary_key=True, autoincrement=True),
                     Column("uid", String(36), nullable=False, unique=True),  # X-PolyCRM-Delivery
                     Column("webhook_id", BigInteger(), nullable=False),
                     Column("ordering_key", String(200), nullable=False),  # sent one after another
                     # The oldest open delivery of its (webhook, ordering key): only heads may be claimed.
                     Column("head", Boolean(), nullable=False, default=False, server_default="0"),
                     Column("event_ids", Text(), nullable=False),  # JSON list, in commit order
                     Column("status", String(16), nullable=False),  # pending sending succeeded failed cancelled
                     Column("attempts", Integer(), nullable=False, default=0, server_default="0"),
                     # Attempts ever made, redeliveries included: numbers the attempt log.
                     Column("logged_attempts", Integer(), nullable=False, default=0, server_default="0"),
                     Column("next_attempt_at", DateTime(), nullable=False),
                     Column("locked_until", DateTime(), nullable=True),
                     Column("created_at", DateTime(), nullable=False),
                     Column("finished_at", DateTime(), nullable=True),
                     Column("last_status_code", Integer(), nullable=True),
                     Column("last_error", Text(), nullable=True))
    # The queue is the open deliveries; the worker claims the open heads in id order, and a finished head
    # hands over to the next open delivery of its key. Partial indexes keep these lookups proportional to
    # the queue (the heads), not to the history, whatever the planner's statistics say.
    still_open = delivery.c.status.in_(["pending", "sending"])
    open_head = and_(delivery.c.head.is_(True), still_open)
    Index("ix_webhook_delivery_open", delivery.c.id, postgresql_where=still_open, sqlite_where=still_open)
    Index("ix_webhook_delivery_heads", delivery.c.id, postgresql_where=open_head, sqlite_where=open_head)
    Index("ix_webhook_delivery_open_key", delivery.c.webhook_id, delivery.c.ordering_key, delivery.c.id,
          postgresql_where=still_open, sqlite_where=still_open)
    Index("ix_webhook_delivery_webhook", delivery.c.webhook_id, delivery.c.id)
    Index("ix_webhook_delivery_finished", delivery.c.finished_at)

    attempt = Table("webhook_attempt", metadata,
                    Column("id", id_type, primary_key=True, autoincrement=True),
                    Column("delivery_id", BigInteger(), nullable=False),
                    Column("webhook_id", BigInteger(), nullable=False),
                    Column("number", Integer(), nullable=False),
                    Column("started_at", DateTime(), nullable=False),
                    Column("duration_ms", Float(), nullable=False),
                    Column("status_code", Integer(), nullable=True),
                    Column("outcome", String(16), nullable=False),  # success retry fail gone skipped
                    Column("error", Text(), nullable=True),
                    Column("response_excerpt", Text(), nullable=True))
    Index("ix_webhook_attempt_delivery", attempt.c.delivery_id)
