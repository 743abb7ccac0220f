"""Logging for operators: one line per record, JSON in production and readable on a terminal, from every
logger the server uses (PolyCRM's, uvicorn's), with the request id and user bound while a request is handled.

Code logs through the standard library (`logging.getLogger("polycrm.<area>")`, fields in `extra=`); one
handler on the root logger renders every record with structlog's ProcessorFormatter, adding the fields bound
in structlog's context variables (the request middleware in dialects/http.py binds `request_id` and `user`).
Only PolyCRM's and uvicorn's loggers follow POLYCRM_LOG_LEVEL: the libraries' stay at WARNING, because their
INFO and DEBUG lines carry what must not be logged (SQLAlchemy's statement parameters, httpx's webhook URLs).

This module imports structlog only when logging is configured (importing it costs 0.2 s, which `polycrm
--help` must not pay); secrets never reach it: nothing here logs a header, a body or a configuration field
that is not named in `startup_fields`.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from polycrm.config import Config

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("auto", "json", "console")
# Loggers that follow POLYCRM_LOG_LEVEL; every other one logs warnings and errors only.
APP_LOGGERS = ("polycrm", "uvicorn")
# uvicorn's own access lines are replaced by PolyCRM's (`polycrm.access`, which knows the user).
UVICORN_ACCESS = "uvicorn.access"
LIBRARY_LEVEL = logging.WARNING

# Query parameters whose values are never logged: credentials some clients put in URLs (`?api_key=`,
# `?access_token=`, `?password=`), found by these words in the decoded name, in any case.
SENSITIVE_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "sig", "hmac", "credential", "session",
                   "cookie", "code")
ENCODED_LETTER = re.compile(r"%(?:[46][1-9a-f]|[57][0-9a])", re.I)
REDACTED = "***"
MAX_TARGET_CHARS = 2048  # a logged path with its query, at most


def parse_level(raw: str | None) -> str:
    level = (raw or "info").strip().lower()
    if level not in LEVELS:
        raise ValueError(f"POLYCRM_LOG_LEVEL must be debug, info, warning or error, got {raw!r}")
    return level


def parse_format(raw: str | None) -> str:
    fmt = (raw or "auto").strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"POLYCRM_LOG_FORMAT must be json, console or auto, got {raw!r}")
    return fmt


# --- configuration ----------------------------------------------------------------------------------------

class _PolyCRMHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler `configure_logging` installs (and replaces when called again)."""


class _ConfigureOnFirstRecord(logging.Handler):
    """Stands in for the handler until a record arrives: then configures logging from the environment and
    hands the record on. Most commands log nothing, so they never pay for importing structlog."""

    def emit(self, record: logging.LogRecord) -> None:
        handler = configure_logging(*settings_from_environment())
        if record.levelno >= handler.level:
            handler.handle(record)


def settings_from_environment() -> tuple[str, str]:
    """(level, format) from POLYCRM_LOG_LEVEL and POLYCRM_LOG_FORMAT; the defaults where they are invalid
    (the command reports that when it loads its configuration)."""
    try:
        level = parse_level(os.environ.get("POLYCRM_LOG_LEVEL"))
    except ValueError:
        level = "info"
    try:
        fmt = parse_format(os.environ.get("POLYCRM_LOG_FORMAT"))
    except ValueError:
        fmt = "auto"
    return level, fmt


def configure_on_first_record() -> None:
    """For the command line: loggers at POLYCRM_LOG_LEVEL, rendering set up when the first record comes."""
    level, _ = settings_from_environment()
    _set_levels(level)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, (_PolyCRMHandler, _ConfigureOnFirstRecord))]
    root.addHandler(_ConfigureOnFirstRecord())


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> logging.Handler:
    """Route every logger through one structlog-rendered handler on `stream` (stderr): JSON lines, or
    readable ones (`console`; `auto` picks it when the stream is a terminal). Safe to call again: the handler
    is replaced. Returns the handler."""
    import structlog

    stream = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "console" if _is_terminal(stream) else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_json_line)
        rendering = [structlog.processors.format_exc_info, renderer]
    else:
        # Plain tracebacks: the default one (rich's) prints each frame's local variables, passwords included.
        renderer = structlog.dev.ConsoleRenderer(colors=_is_terminal(stream),
                                                 exception_formatter=structlog.dev.plain_traceback)
        rendering = [renderer]
    formatter = structlog.stdlib.ProcessorFormatter(
        # Records of the standard library's loggers: their `extra=` fields, the context, level, time.
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), _drop_formatting_leftovers, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering])
    # structlog's own loggers (`structlog.stdlib.get_logger`), should code use them, go the same way.
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(), wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True)
    handler = _PolyCRMHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # A new list: a record being handled (by _ConfigureOnFirstRecord) iterates over the old one.
    root.handlers = [h for h in root.handlers
                     if not isinstance(h, (_PolyCRMHandler, _ConfigureOnFirstRecord))] + [handler]
    root.setLevel(LIBRARY_LEVEL)
    _set_levels(level)
    for name in ("uvicorn", "uvicorn.error", UVICORN_ACCESS):
        # `uvicorn --factory` run by hand installs handlers of its own on these: theirs would print twice.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    return handler


def _set_levels(level: str) -> None:
    numeric = logging.getLevelName(level.upper())
    for name in (*APP_LOGGERS, "uvicorn.error"):
        logging.getLogger(name).setLevel(numeric)
    logging.getLogger(UVICORN_ACCESS).setLevel(max(numeric, logging.WARNING))


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _json_line(value: Any, **_: Any) -> str:
    import orjson

    return orjson.dumps(value, default=repr).decode()


def _drop_formatting_leftovers(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Attributes that are not fields: uvicorn's copy of some messages with terminal colour codes, and what
    another handler's formatter (pytest's, say) left on the record."""
    for name in ("color_message", "message", "asctime"):
        event.pop(name, None)
    return event


# --- what lines may say ------------------------------------------------------------------------------------

def loggable_target(raw_path: bytes, query: bytes) -> str:
    """The request target for a log line: the path as sent (still percent-encoded, so no control character
    reaches the log), the query with the values of credential-like parameters replaced, bounded in length."""
    target = raw_path.decode("latin-1")
    if query:
        target += "?" + redact_query(query.decode("latin-1"))
    return target if len(target) <= MAX_TARGET_CHARS else target[:MAX_TARGET_CHARS] + "..."


def redact_query(query: str) -> str:
    """`query` with the values of sensitive parameters (SENSITIVE_NAME, on the decoded name) replaced."""
    if not _has_sensitive_word(query) and not ("%" in query and ENCODED_LETTER.search(query)):
        # The common case, without decoding: the sensitive words are made of letters, so without a
        # percent-encoded letter the query decoded has one only where it has one as it is.
        return query
    parts = []
    for part in query.split("&"):
        name, sep, _value = part.partition("=")
        parts.append(f"{name}={REDACTED}" if sep and _has_sensitive_word(unquote_plus(name)) else part)
    return "&".join(parts)


def _has_sensitive_word(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in SENSITIVE_WORDS)


def safe_url(url: str | None) -> str | None:
    """A database or Redis URL without its password (nor credential-like query parameters)."""
    if not url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return REDACTED
    # Split at the last `@`: a password written unencoded may hold `/`, `?` or `@` (this hides too much
    # rather than too little when a query holds one).
    credentials, at, location = rest.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.partition(":")[0] + ":" + REDACTED
    location, qmark, query = location.partition("?")
    return f"{scheme}://{credentials}{at}{location}" + (f"?{redact_query(query)}" if qmark else "")


def printable(value: str, limit: int = 100) -> str:
    """A client-supplied string (a user name attempted) for a log field: bounded, control characters escaped."""
    shortened = value[:limit] + ("..." if len(value) > limit else "")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shortened)


def startup_fields(config: Config, server_workers: int) -> dict[str, Any]:
    """What a process starts with, for its first log line: named fields only, so a secret added to Config
    later is not logged by default. Never the secret key, passwords, nor Redis credentials."""
    hooks = config.webhooks
    return {
        "pid": os.getpid(), "database": safe_url(config.database_url), "data_dir": str(config.data_dir),
        "server_workers": server_workers, "log_level": config.log_level, "log_format": config.log_format,
        "max_body_bytes": config.max_body_bytes, "default_currency": config.default_currency,
        "redis": safe_url(config.redis_url), "inflow_rate_limit": config.inflow_rate_limit,
        "inflow_webhook_rate_limits": config.inflow_webhook_rate_limits,
        "login_failures_per_user": config.login_failures_per_user,
        "login_failures_per_ip": config.login_failures_per_ip,
        "auth_token_max_idle_hours": config.auth_tokens.max_idle.total_seconds() / 3600,
        "auth_token_lifetime_hours": config.auth_tokens.lifetime.total_seconds() / 3600,
        "webhook_workers": hooks.workers, "webhook_concurrency": hooks.concurrency,
        "webhook_allow_private": hooks.allow_private, "webhook_max_attempts": hooks.max_attempts,
        "webhook_backoff_base": hooks.backoff_base, "webhook_backoff_max": hooks.backoff_max,
        "webhook_disable_after": hooks.disable_after, "webhook_retention_days": hooks.retention_days,
    }
