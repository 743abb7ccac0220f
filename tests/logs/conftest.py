"""Log tests: the server's logging configured onto a buffer, restored afterwards; the webhook tests' harness
(webhooks may reach the local receiver, a worker the test steps)."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
import structlog

from polycrm.logs import configure_logging
from tests.events.conftest import harness, receiver, webhook_settings, worker  # noqa: F401 - fixtures

SAVED_LOGGERS = ("polycrm", "uvicorn", "uvicorn.error", "uvicorn.access")


@dataclass
class CapturedLogs:
    """What the server's log handler wrote, as lines and (in JSON format) as objects."""

    stream: io.StringIO = field(default_factory=io.StringIO)

    def configure(self, level: str = "debug", fmt: str = "json") -> None:
        self.stream.seek(0)
        self.stream.truncate()
        configure_logging(level, fmt, self.stream)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[str]:
        return self.text.splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def find(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [r for r in self.records()
                if r.get("event") == event and all(r.get(k) == v for k, v in fields.items())]

    def one(self, event: str, **fields: Any) -> dict[str, Any]:
        found = self.find(event, **fields)
        assert len(found) == 1, (event, fields, self.text)
        return found[0]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Whatever a test configures, the loggers are as before afterwards (other tests share the process)."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {name: (lg.level, list(lg.handlers), lg.propagate)
             for name, lg in ((n, logging.getLogger(n)) for n in SAVED_LOGGERS)}
    yield
    root.handlers, root.level = saved_root
    for name, (level, handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.level, logger.handlers, logger.propagate = level, handlers, propagate
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def logs(restored_logging: None) -> CapturedLogs:
    """The server's logging at DEBUG, in JSON, onto a buffer."""
    captured = CapturedLogs()
    captured.configure()
    return captured
