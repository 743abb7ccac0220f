"""The core facade: one object per running instance giving access to record services and domain actions."""

from __future__ import annotations

import threading
import time
from typing import Any

from polycrm.core.errors import NotFound
from polycrm.core.fields import add_custom_field
from polycrm.core.records import RecordService
from polycrm.core.settings import CoreSettings
from polycrm.meta import Registry
from polycrm.meta.model import Field
from polycrm.store.database import Database

# How often a process checks whether another process added a custom field.
SCHEMA_CHECK_INTERVAL = 2.0


class Core:
    """Record services per entity type, cached until the schema changes."""

    def __init__(self, database: Database, settings: CoreSettings | None = None):
        self.database = database
        self.settings = settings or CoreSettings()
        self._services: dict[str, RecordService] = {}
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()

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
            service = RecordService(self.database, self.database.registry.entity(entity_name), self.settings)
            self._services[entity_name] = service
        return service

    def add_field(self, entity_name: str, name: str, field_type: str, params: dict[str, Any] | None = None,
                  api_names: dict[str, str] | None = None) -> Field:
        with self._lock:
            field = add_custom_field(self.database, entity_name, name, field_type, params, api_names)
            self._services.clear()
        return field

    def _refresh_schema(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < SCHEMA_CHECK_INTERVAL:
            return
        self._checked_at = now
        before = self.database.metadata
        self.database.refresh_if_stale()
        if self.database.metadata is not before:
            self._services.clear()
