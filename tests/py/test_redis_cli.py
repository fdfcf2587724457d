"""The stock redis-cli (Debian package redis-tools) against the RESP face."""

from __future__ import annotations

import shutil
import subprocess

REDIS_CLI = shutil.which("redis-cli")

def cli(server, *args: str, stdin: bytes | None = None, timeout: float = 20) -> subprocess.CompletedProcess:
    assert REDIS_CLI, "redis-cli is not installed (apt-get install redis-tools)"
    cmd = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(server.port), "-a", server.token, "--no-auth-warning", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)


def test_cli_set_get(server, r):
    p = cli(server, "SET", "cli:k", "hello world")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"OK\n"
    p = cli(server, "GET", "cli:k")
    assert p.stdout == b"hello world\n"
    p = cli(server, "GET", "cli:missing")
    assert p.stdout == b"\n"  # nil prints as an empty line when stdout is not a tty
    p = cli(server, "INCR", "cli:n")
    assert p.stdout == b"1\n"
    p = cli(server, "RPUSH", "cli:l", "a", "b")
    assert p.stdout == b"2\n"
    p = cli(server, "LRANGE", "cli:l", "0", "-1")
    assert p.stdout == b"a\nb\n"
    assert r.get("cli:k") == "hello world"


def test_cli_error_output(server):
    p = cli(server, "GET")
    # redis-cli prints error replies as "ERR ...\n\n" when stdout is not a tty
    assert p.stdout.rstrip(b"\n") == b"ERR wrong number of arguments for 'get' command"


def test_cli_wrong_password(server):
    p = subprocess.run(
        [REDIS_CLI, "-h", "127.0.0.1", "-p", str(server.port), "-a", "wrong", "--no-auth-warning", "PING"],
        capture_output=True,
        timeout=20,
    )
    out = p.stdout + p.stderr
    assert b"WRONGPASS" in out or b"AUTH failed" in out, out


def test_cli_commands_on_stdin(server, r):
    script = b"SET cli:a 1\nINCRBY cli:a 41\nGET cli:a\nSET \"cli:spaced key\" \"two words\"\nGET \"cli:spaced key\"\n"
    p = cli(server, stdin=script)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"OK\n42\n42\nOK\ntwo words\n"
    assert r.get("cli:spaced key") == "two words"


def test_cli_pipe_mode(server, r, tmp_path):
    lines = [f"SET cli:pipe:{i} v{i}" for i in range(1000)] + ["RPUSH cli:pipe:list a b c"]
    f = tmp_path / "cmds.txt"
    f.write_text("\r\n".join(lines) + "\r\n")
    with open(f, "rb") as fh:
        p = subprocess.run(
            [REDIS_CLI, "-h", "127.0.0.1", "-p", str(server.port), "-a", server.token, "--no-auth-warning", "--pipe"],
            stdin=fh,
            capture_output=True,
            timeout=60,
        )
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert b"errors: 0, replies: 1001" in p.stdout, p.stdout
    assert r.get("cli:pipe:0") == "v0"
    assert r.get("cli:pipe:999") == "v999"
    assert r.lrange("cli:pipe:list", 0, -1) == ["a", "b", "c"]
