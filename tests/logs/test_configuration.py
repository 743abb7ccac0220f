"""Configuration of the server's logging: JSON or console lines, POLYCRM_LOG_LEVEL for PolyCRM's and uvicorn's
loggers (libraries stay at WARNING), uvicorn's handlers taken over, and the command line's deferred set-up."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from datetime import datetime

import pytest

import polycrm.logs
from polycrm.config import load_config
from polycrm.logs import configure_logging, configure_on_first_record, startup_fields


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_have_time_level_logger_and_fields(logs):
    logging.getLogger("polycrm.test").info("something happened", extra={"record_id": 7, "entity": "Account"})
    logging.getLogger("polycrm.test").warning("with %s arguments", "positional")
    first, second = logs.records()
    assert (first["event"], first["level"], first["logger"], first["record_id"], first["entity"]) == (
        "something happened", "info", "polycrm.test", 7, "Account")
    assert first["timestamp"].endswith("Z") and datetime.fromisoformat(first["timestamp"][:-1])
    assert second["event"] == "with positional arguments" and second["level"] == "warning"


def test_values_json_cannot_hold_are_written_as_their_repr(logs):
    logging.getLogger("polycrm.test").info("odd", extra={"value": {1, 2}.__class__, "when": datetime(2026, 1, 2)})
    line = logs.one("odd")
    assert line["value"] == "<class 'set'>" and line["when"].startswith("2026-01-02")


def test_exceptions_are_logged_with_their_traceback_and_no_local_values(logs):
    def fail(password: str) -> None:
        raise RuntimeError("boom")

    secret = "-".join(("hunter2", "local", "value"))  # not in the source lines a traceback quotes
    for fmt in ("json", "console"):
        logs.configure("info", fmt)
        try:
            fail(secret)
        except RuntimeError:
            logging.getLogger("polycrm.test").exception("it failed")
        assert "RuntimeError: boom" in logs.text and 'in fail' in logs.text
        assert secret not in logs.text
    logs.configure("info", "json")
    try:
        fail("x")
    except RuntimeError:
        logging.getLogger("polycrm.test").exception("it failed")
    assert "RuntimeError: boom" in logs.one("it failed")["exception"]


def test_console_lines_are_readable_and_uncoloured_off_a_terminal(logs):
    logs.configure("info", "console")
    logging.getLogger("polycrm.test").warning("authentication failed", extra={"scheme": "basic"})
    line, = logs.lines()
    assert "authentication failed" in line and "scheme=basic" in line and "polycrm.test" in line
    assert "\x1b[" not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_auto_picks_console_on_a_terminal_and_json_elsewhere(restored_logging):
    terminal, pipe = Terminal(), io.StringIO()
    configure_logging("info", "auto", terminal)
    logging.getLogger("polycrm.test").info("to a terminal")
    assert "to a terminal" in terminal.getvalue() and "\x1b[" in terminal.getvalue()  # coloured
    configure_logging("info", "auto", pipe)
    logging.getLogger("polycrm.test").info("to a pipe")
    assert json.loads(pipe.getvalue())["event"] == "to a pipe"


@pytest.mark.parametrize("level, seen", [
    ("debug", {"debug", "info", "warning", "error"}), ("info", {"info", "warning", "error"}),
    ("warning", {"warning", "error"}), ("error", {"error"})])
def test_the_level_from_the_environment_applies_to_polycrm_and_uvicorn(logs, monkeypatch, tmp_path, level, seen):
    monkeypatch.setenv("POLYCRM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("POLYCRM_SECRET_KEY", "k")
    monkeypatch.setenv("POLYCRM_LOG_LEVEL", level.upper())
    monkeypatch.setenv("POLYCRM_LOG_FORMAT", "json")
    config = load_config()
    logs.configure(config.log_level, config.log_format)
    for name in ("polycrm.access", "polycrm.webhooks", "uvicorn.error"):
        for method in ("debug", "info", "warning", "error"):
            getattr(logging.getLogger(name), method)(method)
    expected = {(name, method) for name in ("polycrm.access", "polycrm.webhooks", "uvicorn.error") for method in seen}
    assert {(r["logger"], r["level"]) for r in logs.records()} == expected


def test_unknown_settings_are_refused_by_the_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCRM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("POLYCRM_SECRET_KEY", "k")
    monkeypatch.setenv("POLYCRM_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="POLYCRM_LOG_FORMAT must be json, console or auto"):
        load_config()
    monkeypatch.setenv("POLYCRM_LOG_FORMAT", "console")
    monkeypatch.setenv("POLYCRM_LOG_LEVEL", "trace")
    with pytest.raises(ValueError, match="POLYCRM_LOG_LEVEL"):
        load_config()
    monkeypatch.delenv("POLYCRM_LOG_LEVEL")
    assert (load_config().log_level, load_config().log_format) == ("info", "console")


def test_libraries_stay_at_warning_even_at_debug(logs):
    # httpx logs each webhook request's URL at INFO; SQLAlchemy statements and their parameters at INFO.
    for name in ("httpx", "httpcore", "sqlalchemy.engine", "multipart", "asyncio"):
        logging.getLogger(name).info("library detail")
        logging.getLogger(name).debug("library detail")
    assert logs.text == ""
    logging.getLogger("httpx").warning("library warning")
    assert logs.one("library warning")["logger"] == "httpx"


def test_uvicorn_lines_go_through_the_same_handler(restored_logging):
    # What uvicorn's own logging configuration does when it is run by hand (`uvicorn --factory ...`).
    own = logging.StreamHandler(io.StringIO())
    for name in ("uvicorn", "uvicorn.access"):
        logging.getLogger(name).addHandler(own)
        logging.getLogger(name).propagate = False
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42,
                                            extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"})
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1", "GET", "/", "1.1", 200)
    line, = (json.loads(text) for text in stream.getvalue().splitlines())
    assert line == {"event": "Started server process [42]", "level": "info", "logger": "uvicorn.error",
                    "timestamp": line["timestamp"]}
    assert own.stream.getvalue() == ""  # uvicorn's handlers are gone; its access lines are off


def test_configuring_again_replaces_the_handler(logs):
    logs.configure("info", "json")
    logs.configure("info", "json")
    logging.getLogger("polycrm.test").info("once")
    assert len(logs.find("once")) == 1
    assert sum(isinstance(h, polycrm.logs._PolyCRMHandler) for h in logging.getLogger().handlers) == 1


def test_the_command_line_configures_logging_at_its_first_line(restored_logging, monkeypatch):
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setenv("POLYCRM_LOG_LEVEL", "warning")
    monkeypatch.setenv("POLYCRM_LOG_FORMAT", "json")
    configure_on_first_record()
    logging.getLogger("polycrm.store").info("below the level")
    assert stderr.getvalue() == ""
    logging.getLogger("polycrm.store").warning("write-ahead log not restarted")
    logging.getLogger("polycrm.store").warning("again")
    assert [json.loads(line)["event"] for line in stderr.getvalue().splitlines()] == [
        "write-ahead log not restarted", "again"]


def test_polycrm_help_does_not_import_structlog():
    code = ("import sys; sys.argv = ['polycrm', '--help']\n"
            "from polycrm.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('structlog' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip() == "False" and "Usage" in done.stdout


def test_the_startup_line_names_settings_never_secrets(logs, monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCRM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("POLYCRM_SECRET_KEY", "the-secret-key-value")
    monkeypatch.setenv("POLYCRM_DATABASE_URL", "postgresql://crm:db-password@db.example/crm?sslpassword=ssl-pw")
    monkeypatch.setenv("POLYCRM_REDIS_URL", "redis://:redis-password@cache:6379/0")
    monkeypatch.setenv("POLYCRM_WEBHOOK_MAX_ATTEMPTS", "4")
    logging.getLogger("polycrm.server").info("starting", extra=startup_fields(load_config(), 2))
    line = logs.one("starting")
    assert line["database"] == "postgresql://crm:***@db.example/crm?sslpassword=***"
    assert line["redis"] == "redis://:***@cache:6379/0"
    assert (line["server_workers"], line["webhook_max_attempts"], line["data_dir"]) == (2, 4, str(tmp_path))
    for secret in ("the-secret-key-value", "db-password", "ssl-pw", "redis-password"):
        assert secret not in logs.text
