"""Fixtures that start the real `stashd` binary and talk to it from the outside.

Nothing is built here: the binary is taken from `$STASHD_BIN`, or else
`<repo>/target/debug/stashd` (build it with `cargo build -p stashd-server`).
Every server gets two free ports on 127.0.0.1 (RESP and HTTP), a random token,
and is killed at the end of its fixture.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

import pytest
import redis

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 20.0  # seconds to wait for both ports to accept connections
STOP_TIMEOUT = 10.0


def stashd_binary() -> Path:
    env = os.environ.get("STASHD_BIN")
    path = Path(env) if env else REPO_ROOT / "target" / "debug" / "stashd"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.exit(
            f"stashd binary not found at {path}: run `cargo build -p stashd-server` "
            "or set STASHD_BIN",
            returncode=2,
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_free_ports() -> tuple[int, int]:
    # Hold the first socket open while picking the second so they differ.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as a, socket.socket(
        socket.AF_INET, socket.SOCK_STREAM
    ) as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return a.getsockname()[1], b.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def resp_answers(port: int, token: Optional[str]) -> bool:
    """True once the RESP port answers PING with +PONG after AUTH.

    stashd binds its listeners before recovering the data dir and answers -LOADING until
    it is done, so an open port (or an error reply) does not mean it is serving yet.
    """
    request = (f"AUTH {token}\r\n" if token else "") + "PING\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(1.0)
            s.sendall(request.encode())
            data = b""
            while data.count(b"\r\n") < request.count("\r\n"):
                chunk = s.recv(256)
                if not chunk:
                    return False
                data += chunk
            return data.splitlines()[-1] == b"+PONG"
    except OSError:
        return False


class StashdServer:
    """One stashd process (restartable on the same ports and data dir)."""

    def __init__(
        self,
        *,
        token: Optional[str] = None,
        readonly_token: Optional[str] = None,
        data_dir: Optional[Path] = None,
        appendfsync: Optional[str] = None,
        debug: bool = True,
        extra_args: Optional[list[str]] = None,
        env: Optional[dict[str, str]] = None,
        use_cli_ports: bool = True,
        bare: bool = False,
    ):
        self.binary = stashd_binary()
        self.port, self.http_port = two_free_ports()
        self.token = token
        self.readonly_token = readonly_token
        self.data_dir = data_dir
        self.appendfsync = appendfsync
        self.debug = debug
        self.extra_args = list(extra_args or [])
        self.extra_env = dict(env or {})
        self.use_cli_ports = use_cli_ports
        self.bare = bare  # only extra_args on the command line (configure through env)
        self.proc: Optional[subprocess.Popen] = None
        self._logdir = Path(tempfile.mkdtemp(prefix="stashd-log-"))
        self._runs = 0
        self.stderr_path: Optional[Path] = None

    # ---- lifecycle -------------------------------------------------------
    def args(self) -> list[str]:
        if self.bare:
            return [str(self.binary)] + self.extra_args
        a = [str(self.binary), "--bind", "127.0.0.1"]
        if self.use_cli_ports:
            a += ["--port", str(self.port), "--http-port", str(self.http_port)]
        if self.data_dir is None:
            a.append("--in-memory")
        else:
            a += ["--data-dir", str(self.data_dir)]
        if self.appendfsync:
            a += ["--appendfsync", self.appendfsync]
        if self.debug:
            a.append("--enable-debug-command")
        if self.token:
            a += ["--redis-token", self.token]
        if self.readonly_token:
            a += ["--redis-readonly-token", self.readonly_token]
        return a + self.extra_args

    def start(self) -> "StashdServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._runs += 1
        self.stderr_path = self._logdir / f"stderr.{self._runs}.log"
        stdout_path = self._logdir / f"stdout.{self._runs}.log"
        env = dict(os.environ)
        # Do not let the developer's environment leak settings in.
        for k in list(env):
            if k.startswith("STASHD_") and k != "STASHD_BIN":
                del env[k]
        env.update(self.extra_env)
        self.proc = subprocess.Popen(
            self.args(),
            stdin=subprocess.DEVNULL,
            stdout=open(stdout_path, "wb"),
            stderr=open(self.stderr_path, "wb"),
            env=env,
            cwd=str(self._logdir),
        )
        self.wait_ready()
        return self

    def stderr_text(self) -> str:
        out = []
        for p in sorted(self._logdir.glob("*.log")):
            try:
                text = p.read_text(errors="replace")
            except OSError:
                continue
            if text.strip():
                out.append(f"--- {p.name} ---\n{text[-8000:]}")
        return "\n".join(out) or "(no output)"

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                pytest.fail(
                    f"stashd exited with code {rc} during startup\n"
                    f"args: {' '.join(self.args())}\n{self.stderr_text()}",
                    pytrace=False,
                )
            if port_open(self.http_port) and resp_answers(self.port, self.token):
                if self.proc.poll() is None:
                    return
                continue
            time.sleep(0.05)
        self.kill()
        pytest.fail(
            f"stashd did not accept connections on ports {self.port}/{self.http_port} "
            f"within {timeout}s\nargs: {' '.join(self.args())}\n{self.stderr_text()}",
            pytrace=False,
        )

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """Graceful stop with SIGTERM; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
            pytest.fail(f"stashd ignored SIGTERM for {timeout}s\n{self.stderr_text()}")

    def kill(self) -> None:
        """kill -9."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ---- clients ---------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def client(self, **kw) -> redis.Redis:
        kw.setdefault("decode_responses", True)
        # redis-py 8 defaults to RESP3; the RESP2 paths are the baseline here and
        # RESP3 is tested explicitly with protocol=3.
        kw.setdefault("protocol", 2)
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("socket_connect_timeout", 5)
        if self.token and "password" not in kw:
            kw["password"] = self.token
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def debug_jump(self, ms: int) -> None:
        c = self.client()
        try:
            assert c.execute_command("DEBUG", "JUMP-CLOCK", ms) in ("OK", b"OK", True)
        finally:
            c.close()


def new_token() -> str:
    return "tok" + secrets.token_hex(16)  # never starts with "-" (clap would read a flag)


@pytest.fixture(scope="session")
def server():
    """In-memory server with a standard token and the DEBUG command enabled."""
    s = StashdServer(token=new_token())
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def ro_server():
    """In-memory server with both a standard and a read-only token."""
    s = StashdServer(token=new_token(), readonly_token=new_token())
    s.start()
    yield s
    s.stop()


@pytest.fixture
def durable_server(tmp_path):
    """Factory: a server on a fresh temporary --data-dir (restartable)."""
    made: list[StashdServer] = []

    def make(appendfsync: str = "always", **kw) -> StashdServer:
        data = tmp_path / f"data{len(made)}"
        data.mkdir()
        s = StashdServer(token=new_token(), data_dir=data, appendfsync=appendfsync, **kw)
        made.append(s)
        return s.start()

    yield make
    for s in made:
        s.kill()


def _fresh_client(server):
    """A redis-py client on an emptied keyspace, closed after the test."""
    c = server.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def r(server):
    """A fresh redis-py client on an empty keyspace."""
    yield from _fresh_client(server)


@pytest.fixture
def ro_r(ro_server):
    """A full-access redis-py client of the server that also has a read-only token."""
    yield from _fresh_client(ro_server)


@pytest.fixture(scope="session")
def reference_redis():
    """Debian's redis-server 7 on a free 127.0.0.1 port, for differential tests (a client)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not found: the differential tests need it (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # SORT ... ALPHA uses strcoll(); the C locale makes that byte order, as stashd compares.
        env={**os.environ, "LC_ALL": "C"},
    )
    deadline = time.monotonic() + READY_TIMEOUT
    while not port_open(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    client = redis.Redis(host="127.0.0.1", port=port, protocol=2, socket_timeout=10)
    yield client
    client.close()
    proc.kill()
    proc.wait()
