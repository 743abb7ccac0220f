"""The first `polycrm init`/`serve` creates user 'admin' and an API key: printed on a terminal, otherwise (a log)
written to an owner-only file in the data directory, the log naming only the file."""

from __future__ import annotations

import os
import pty
import re
import select
import stat
import subprocess
import sys

import pytest

import polycrm.cli.server
from polycrm.cli.server import INITIAL_ADMIN_FILE, bootstrap as _bootstrap

POLYCRM = [sys.executable, "-m", "polycrm"]


def credentials(text: str) -> tuple[str, str]:
    password = re.search(r"admin password : (\S+)", text)
    key = re.search(r"API key        : (\S+)", text)
    assert password and key, text
    return password.group(1), key.group(1)


def test_without_a_terminal_the_credentials_go_to_an_owner_only_file(config, directory, capsys, monkeypatch):
    monkeypatch.setattr(polycrm.cli.server, "stdout_is_terminal", lambda: False)
    _bootstrap(config, directory)
    path = config.data_dir / INITIAL_ADMIN_FILE
    written = path.read_text()
    password, key = credentials(written)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logged = capsys.readouterr().out
    assert str(path) in logged and password not in logged and key not in logged
    assert directory.verify_password("admin", password) is not None
    assert directory.find_api_key(key) is not None
    _bootstrap(config, directory)  # later starts create nothing, and say nothing
    assert capsys.readouterr().out == "" and path.read_text() == written


def test_a_stale_file_is_replaced_not_reused(config, directory, monkeypatch):
    monkeypatch.setattr(polycrm.cli.server, "stdout_is_terminal", lambda: False)
    path = config.data_dir / INITIAL_ADMIN_FILE
    path.write_text("left over")
    path.chmod(0o644)
    _bootstrap(config, directory)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "left over" not in path.read_text()


def test_no_admin_is_made_when_the_file_cannot_be_written(config, directory, monkeypatch):
    monkeypatch.setattr(polycrm.cli.server, "stdout_is_terminal", lambda: False)
    (config.data_dir / INITIAL_ADMIN_FILE).mkdir()  # in the way (permissions would not stop root)
    with pytest.raises(polycrm.cli.server.CliError, match=INITIAL_ADMIN_FILE):
        _bootstrap(config, directory)
    assert not directory.has_users()


def test_on_a_terminal_the_credentials_are_printed(config, directory, capsys, monkeypatch):
    monkeypatch.setattr(polycrm.cli.server, "stdout_is_terminal", lambda: True)
    _bootstrap(config, directory)
    password, key = credentials(capsys.readouterr().out)
    assert directory.verify_password("admin", password) is not None and directory.find_api_key(key) is not None
    assert not (config.data_dir / INITIAL_ADMIN_FILE).exists()


@pytest.fixture
def cli_env(tmp_path):
    env = dict(os.environ, POLYCRM_DATA_DIR=str(tmp_path), POLYCRM_SECRET_KEY="first-start-secret")
    env.pop("POLYCRM_DATABASE_URL", None)
    return env


def test_polycrm_init_in_a_pipe_and_on_a_terminal(cli_env, tmp_path):
    piped = subprocess.run(POLYCRM + ["init"], env=cli_env, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    password, key = credentials((tmp_path / INITIAL_ADMIN_FILE).read_text())
    assert password not in piped.stdout + piped.stderr and key not in piped.stdout + piped.stderr
    assert INITIAL_ADMIN_FILE in piped.stdout

    terminal_dir = tmp_path / "terminal"
    terminal_env = dict(cli_env, POLYCRM_DATA_DIR=str(terminal_dir))
    leader, follower = pty.openpty()
    process = subprocess.Popen(POLYCRM + ["init"], env=terminal_env, stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        assert ready, "polycrm init printed nothing for a minute"
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal is closed once the process exits
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0
    credentials(output.decode())
    assert not (terminal_dir / INITIAL_ADMIN_FILE).exists()
