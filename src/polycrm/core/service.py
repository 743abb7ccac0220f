"""The core facade: one object per running instance giving access to record services and domain actions."""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy.engine import Connection

from polycrm.auth.directory import UserDirectory, load_actor
from polycrm.auth.secrets import KeyRing
from polycrm.auth.vault_keys import MasterKeys
from polycrm.core.audit import AUDIT_ENTITY, AuditLog
from polycrm.core.billable_service import BillableService
from polycrm.core.currency import CurrencyService
from polycrm.core.errors import NotFound
from polycrm.core.fields import (RemovedField, ReservedApiNames, add_custom_field, remove_custom_field,
                                 set_custom_field_api_name, update_custom_field)
from polycrm.core.files import FileService
from polycrm.core.follows import ActorSource, FollowService
from polycrm.core.purge import purge_deleted
from polycrm.core.records import RecordService
from polycrm.core.relations import RelationService
from polycrm.core.settings import CoreSettings
from polycrm.core.stream import StreamService
from polycrm.core.tickets import TicketService
from polycrm.core.trash import TrashService
from polycrm.core.vault import Vault
from polycrm.meta import Registry
from polycrm.meta.model import Field
from polycrm.store.database import Database

# How often a process checks whether another process added a custom field.
SCHEMA_CHECK_INTERVAL = 2.0


class Core:
    """Record services per entity type, cached until the schema changes."""

    def __init__(self, database: Database, settings: CoreSettings | None = None,
                 directory: UserDirectory | None = None, keyring: KeyRing | None = None):
        """`keyring` (or the directory's) opens the credential vault; without either, secrets cannot be
        written."""
        self.database = database
        self.settings = settings or CoreSettings()
        # Other users' rights (who may follow a record): the server passes its directory, whose lookups are
        # cached; a change of a user through the core drops that cache at once.
        self.actors: ActorSource = directory.actor if directory is not None else (
            lambda user_id: load_actor(database, user_id))
        self._forget_actors: Callable[[], None] = directory.forget_actors if directory is not None else (lambda: None)
        self._services: dict[str, RecordService] = {}
        self._trash: dict[str, TrashService] = {}
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._reserved_api_names: dict[str, ReservedApiNames] = {}
        self._files: FileService | None = None
        self.stream = StreamService(database, self.records)
        self.currency = CurrencyService(database, self.settings.default_currency)
        self.vault = Vault(database, directory.master_keys if directory is not None else (
            MasterKeys(database, keyring) if keyring is not None else None))
        self.tickets = TicketService(database)

    @property
    def files(self) -> FileService:
        """Files attached to records, kept under `settings.files_dir`."""
        if self._files is None:
            if self.settings.files_dir is None:
                raise RuntimeError("no files directory is configured (CoreSettings.files_dir)")
            self._files = FileService(self.database, self.settings.files_dir, self.records)
        return self._files

    @property
    def audit(self) -> AuditLog:
        """The audit log (core.audit), over the record service's repository and its cached statements."""
        return AuditLog(self.records(AUDIT_ENTITY).repository)

    def reserve_api_names(self, dialect: str, reserved: ReservedApiNames) -> None:
        """Register the API names a dialect's mapping gives built-in fields, so custom fields cannot take them."""
        self._reserved_api_names[dialect] = reserved

    def transaction(self) -> AbstractContextManager[Connection]:
        """One write transaction for several record services' `create_within`/`update_within` calls: a record
        and its parts written together, or not at all."""
        return self.database.transaction()

    @property
    def registry(self) -> Registry:
        return self.database.registry

    def records(self, entity_name: str) -> RecordService:
        """The service for an entity type; NotFound for a type that does not exist."""
        self._refresh_schema()
        service = self._services.get(entity_name)
        if service is None:
            if entity_name not in self.database.registry:
                raise NotFound(f"Controller '{entity_name}' does not exist.")
            service = RecordService(self.database, self.database.registry.entity(entity_name), self.actors,
                                    self.records, self.currency, self.tickets, users_changed=self._forget_actors,
                                    secrets=self.vault.fields(self.database.registry.entity(entity_name)))
            self._services[entity_name] = service
        return service

    def relations(self, entity_name: str) -> RelationService:
        """The relationships of an entity type's records; NotFound for a type that does not exist."""
        return RelationService(self.records(entity_name), self.records)

    @property
    def billables(self) -> BillableService:
        """Deals' and documents' line items and totals (core/billables.py)."""
        return BillableService(self.database, self.records)

    def trash(self, entity_name: str) -> TrashService:
        """The deleted records of an entity type; NotFound for a type that does not exist. Kept with its
        record service (a new schema makes new ones), so its statements are built once."""
        records = self.records(entity_name)
        trash = self._trash.get(entity_name)
        if trash is None or trash.records is not records:
            trash = self._trash[entity_name] = TrashService(records, self._remove_files)
        return trash

    def _remove_files(self, storage_keys: Iterable[str]) -> None:
        """Delete file content whose rows are gone, after their commit."""
        self.files.remove_content(storage_keys)

    def follows(self, entity_name: str) -> FollowService:
        """Following the records of an entity type; NotFound for a type that does not exist or has no stream."""
        return FollowService(self.records(entity_name), self.records("User"), self.actors)

    def add_field(self, entity_name: str, name: str, field_type: str, params: dict[str, Any] | None = None,
                  api_names: dict[str, str] | None = None) -> Field:
        with self._lock:
            field = add_custom_field(self.database, entity_name, name, field_type, params, api_names,
                                     reserved=self._reserved_api_names)
            self._services.clear()
        return field

    def update_field(self, entity_name: str, field_name: str, changes: dict[str, Any],
                     api_names: dict[str, str | None] | None = None) -> Field:
        """Change a custom field's parameters and API names (core.fields.update_custom_field)."""
        with self._lock:
            self.database.refresh_if_stale()
            field = update_custom_field(self.database, entity_name, field_name, changes, api_names or {},
                                        self._reserved_api_names)
            self._services.clear()
        return field

    def remove_field(self, entity_name: str, field_name: str) -> RemovedField:
        """Remove a custom field, its column and what refers to it (core.fields.remove_custom_field)."""
        with self._lock:
            self.database.refresh_if_stale()
            removed = remove_custom_field(self.database, entity_name, field_name,
                                          self._remove_files)
            self._services.clear()
        return removed

    def set_api_name(self, entity_name: str, field_name: str, dialect: str, api_name: str | None) -> Field:
        """Give a custom field its API name on one protocol (or remove it with None)."""
        with self._lock:
            return set_custom_field_api_name(self.database, entity_name, field_name, dialect, api_name,
                                             self._reserved_api_names)

    def purge(self, before: datetime, entities: Iterable[str] | None = None, *,
              dry_run: bool = False) -> dict[str, int]:
        """Hard-delete records soft-deleted before `before`, with their relations and files (or count them)."""
        return purge_deleted(self.database, self.files, before, entities, dry_run=dry_run)

    def _refresh_schema(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < SCHEMA_CHECK_INTERVAL:
            return
        self._checked_at = now
        before = self.database.metadata
        self.database.refresh_if_stale()
        if self.database.metadata is not before:
            self._services.clear()
