"""QStash test support: a scripted HTTP receiver and a stashd serving QStash.

* `Sink` is a local HTTP server on 127.0.0.1 that records every request (method, path with
  query, headers, raw body) and answers from a per-path script: status codes, extra headers
  (e.g. `Retry-After`), bodies, and holding a request open for a while (or until released).
* `start_qstash_server()` starts the real binary through `conftest.StashdServer`, adding the
  QStash flags as extra arguments (token, fixed signing keys, `--qstash-allow loopback`).
* `QStashEnv` bundles a running server with SDK clients, the signing keys, the engine clock
  (`DEBUG JUMP-CLOCK`, tracked so that signatures stamped on a moved clock still verify) and
  signature checks.

Test modules import the fixtures: `from qstash_support import qs, sink  # noqa: F401`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import dataclasses
import email.message
import hashlib
import http.server
import json
import secrets
import socketserver
import threading
import time
from pathlib import Path
from typing import Callable, Optional, Union

import jwt
import pytest
from qstash import AsyncQStash, QStash, Receiver
from qstash.errors import SignatureError

from conftest import StashdServer, new_token

QSTASH_TOKEN_PREFIX = "qst"
WAIT = 10.0  # default bound for waiting on deliveries (seconds)


def new_signing_key() -> str:
    return "sig_" + secrets.token_urlsafe(21).replace("-", "a").replace("_", "b")[:28]


def qstash_args(token: str, keys: Optional[tuple[str, str]] = None, allow_loopback: bool = True) -> list[str]:
    a = ["--qstash-token", token]
    if keys is not None:
        a += ["--qstash-current-signing-key", keys[0], "--qstash-next-signing-key", keys[1]]
    if allow_loopback:
        a += ["--qstash-allow", "loopback"]
    return a


def start_qstash_server(
    *,
    data_dir: Optional[Path] = None,
    qstash_token: Optional[str] = None,
    keys: Optional[tuple[str, str]] = None,
    extra_args: Optional[list[str]] = None,
    **kw,
) -> StashdServer:
    """A started stashd with QStash configured (in memory unless `data_dir` is given)."""
    qt = qstash_token or QSTASH_TOKEN_PREFIX + secrets.token_hex(16)
    s = StashdServer(
        token=new_token(),
        data_dir=data_dir,
        extra_args=qstash_args(qt, keys) + list(extra_args or []),
        **kw,
    )
    s.qstash_token = qt  # type: ignore[attr-defined]
    return s.start()


# --------------------------------------------------------------------------- the receiver


@dataclasses.dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Union[bytes, str] = b"ok"
    headers: dict = dataclasses.field(default_factory=dict)
    hold: Union[float, threading.Event, None] = None  # seconds, or held until the event is set


@dataclasses.dataclass
class Recorded:
    method: str
    target: str  # path + "?" + query, as on the request line
    headers: email.message.Message
    body: bytes
    at: float  # time.monotonic() when the request arrived
    status: Optional[int] = None  # what the sink answered (None while held / if cut off)
    finished: Optional[float] = None

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)

    @property
    def message_id(self) -> Optional[str]:
        return self.headers.get("Upstash-Message-Id")

    def json(self):
        return json.loads(self.body)


class Sink:
    """A scripted HTTP receiver on 127.0.0.1."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._default = Reply()
        self._cond = threading.Condition()
        self._active: dict[str, int] = {}
        self._max_active: dict[str, int] = {}
        self.closing = threading.Event()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                rec = Recorded(self.command, self.path, self.headers, body, time.monotonic())
                reply = sink._take(rec)
                try:
                    if isinstance(reply.hold, threading.Event):
                        reply.hold.wait(timeout=60)
                    elif reply.hold:
                        sink.closing.wait(reply.hold)
                    payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, str(v))
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                    rec.status = reply.status
                except OSError:
                    self.close_connection = True  # the caller went away (timeout)
                finally:
                    sink._done(rec)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address) -> None:
                pass  # a peer that vanished (e.g. a server killed with -9) is not an error here

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="qstash-sink", daemon=True
        )
        self._thread.start()

    # ---- script ---------------------------------------------------------------
    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply, then: Optional[Reply] = None) -> None:
        """Requests to `path` get `replies` in order, then `then` (default: the sink default)."""
        with self._cond:
            self._scripts[path] = list(replies)
            if then is not None:
                self._defaults[path] = then

    def default(self, reply: Reply) -> None:
        with self._cond:
            self._default = reply

    def _take(self, rec: Recorded) -> Reply:
        with self._cond:
            self.requests.append(rec)
            p = rec.path
            self._active[p] = self._active.get(p, 0) + 1
            self._max_active[p] = max(self._max_active.get(p, 0), self._active[p])
            self._cond.notify_all()
            queue = self._scripts.get(p)
            if queue:
                return queue.pop(0)
            return self._defaults.get(p, self._default)

    def _done(self, rec: Recorded) -> None:
        with self._cond:
            rec.finished = time.monotonic()
            self._active[rec.path] -= 1
            self._cond.notify_all()

    # ---- inspection -------------------------------------------------------------
    def received(self, path: Optional[str] = None, pred: Optional[Callable[[Recorded], bool]] = None) -> list[Recorded]:
        with self._cond:
            return [r for r in self.requests if (path is None or r.path == path) and (pred is None or pred(r))]

    def max_concurrent(self, path: str) -> int:
        with self._cond:
            return self._max_active.get(path, 0)

    def wait(
        self,
        path: Optional[str] = None,
        count: int = 1,
        timeout: float = WAIT,
        pred: Optional[Callable[[Recorded], bool]] = None,
        answered: bool = False,
    ) -> list[Recorded]:
        """Waits until `count` matching requests arrived (and were answered, if `answered`)."""
        deadline = time.monotonic() + timeout

        def match() -> list[Recorded]:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (pred is None or pred(r)) and (not answered or r.finished is not None)
            ]

        with self._cond:
            while True:
                got = match()
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(r.method, r.target, r.status) for r in self.requests]
                    raise AssertionError(f"waited {timeout}s for {count} request(s) to {path!r}, got {len(got)}; all: {seen}")
                self._cond.wait(min(left, 0.2))

    def quiet(self, path: Optional[str], seconds: float, already: int = 0) -> None:
        """Asserts that no more than `already` requests to `path` arrive within `seconds`."""
        time.sleep(seconds)
        got = self.received(path)
        assert len(got) <= already, f"unexpected request(s) to {path}: {[(r.method, r.target) for r in got[already:]]}"

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()


# --------------------------------------------------------------------------- the server + clients


class QStashEnv:
    """A running stashd with QStash, its SDK clients, signing keys and clock."""

    def __init__(self, server: StashdServer, keys: tuple[str, str]):
        self.server = server
        self.token: str = server.qstash_token  # type: ignore[attr-defined]
        self.keys = keys
        self.jumped_ms = 0
        # Clock history: (monotonic start, monotonic end, offset before, offset after) per move.
        self._moves: list[tuple[float, float, int, int]] = []
        self.client = QStash(self.token, base_url=self.url)

    @property
    def url(self) -> str:
        return self.server.url

    def async_client(self) -> AsyncQStash:
        return AsyncQStash(self.token, base_url=self.url)

    def receiver(self, keys: Optional[tuple[str, str]] = None) -> Receiver:
        k = keys or self.keys
        return Receiver(current_signing_key=k[0], next_signing_key=k[1])

    # ---- clock ----------------------------------------------------------------
    def jump(self, seconds: float) -> None:
        """Moves the engine clock forward (deliveries, retries and cron run on it)."""
        ms = int(seconds * 1000)
        t0 = time.monotonic()
        self.server.debug_jump(ms)
        self._moves.append((t0, time.monotonic(), self.jumped_ms, self.jumped_ms + ms))
        self.jumped_ms += ms

    def restarted(self) -> None:
        """The server was restarted: its clock is the system clock again."""
        t = time.monotonic()
        self._moves.append((t, t, self.jumped_ms, 0))
        self.jumped_ms = 0

    def offsets_at(self, t: float) -> list[int]:
        """How far (ms) the engine clock was ahead of ours at monotonic time `t` (both
        candidates when `t` falls while the clock was being moved)."""
        offset = 0
        for start, end, before, after in self._moves:
            if t < start:
                break
            if t <= end:
                return [after, before]
            offset = after
        return [offset]

    def now_ms(self) -> int:
        """The engine clock (which `jump` moves), read with the RESP TIME command."""
        c = self.server.client()
        try:
            s, us = c.time()
        finally:
            c.close()
        return s * 1000 + us // 1000

    @property
    def clock_tolerance(self) -> int:
        return 2

    # ---- signatures -------------------------------------------------------------
    def verify(self, rec: Recorded, url: Optional[str] = None, keys: Optional[tuple[str, str]] = None) -> dict:
        """`Receiver.verify` on a delivery's raw body, with the URL it was sent to (by default
        the sink URL it arrived at), by a receiver whose clock agrees with QStash's at the time
        the delivery arrived; returns the claims."""
        sig = rec.header("Upstash-Signature")
        assert sig, f"delivery without Upstash-Signature: {rec.method} {rec.target}"
        url = url if url is not None else f"http://127.0.0.1:{_port_of(rec)}{rec.target}"
        err: Optional[Exception] = None
        for offset in self.offsets_at(rec.at):
            try:
                with receiver_clock(offset / 1000):
                    self.receiver(keys).verify(
                        signature=sig, body=rec.body.decode("utf-8"), url=url, clock_tolerance=self.clock_tolerance
                    )
                return jwt.decode(sig, options={"verify_signature": False})
            except SignatureError as e:
                err = e
        raise err  # type: ignore[misc]

    def verify_binary(self, rec: Recorded, url: str) -> dict:
        """The same checks for a body that is not UTF-8 (Receiver.verify takes `str`)."""
        sig = rec.header("Upstash-Signature")
        with receiver_clock(self.offsets_at(rec.at)[0] / 1000):
            claims = jwt.decode(
                sig,
                self.keys[0],
                algorithms=["HS256"],
                issuer="Upstash",
                options={"require": ["iss", "sub", "exp", "nbf"]},
            )
        assert claims["sub"] == url
        want = base64.urlsafe_b64encode(hashlib.sha256(rec.body).digest()).decode().rstrip("=")
        assert claims["body"].rstrip("=") == want
        return claims

    def verify_all(self, sink: "Sink") -> int:
        """Verifies every signed request `sink` received; returns how many."""
        n = 0
        for rec in sink.received():
            if not rec.header("Upstash-Signature"):
                continue
            url = f"http://127.0.0.1:{sink.port}{rec.target}"
            try:
                rec.body.decode("utf-8")
            except UnicodeDecodeError:
                self.verify_binary(rec, url)
            else:
                self.verify(rec, url=url)
            n += 1
        return n

    def close(self) -> None:
        try:
            self.client.http._client.close()
        except Exception:
            pass
        self.server.kill()


@contextlib.contextmanager
def receiver_clock(offset_s: float):
    """Runs PyJWT's time checks on a clock `offset_s` ahead of the system clock.

    stashd stamps `iat`/`nbf`/`exp` with its engine clock, which `DEBUG JUMP-CLOCK` moves
    ahead of the wall clock; a real receiver's clock agrees with QStash's, so the receiver
    here is moved the same way. (`Receiver.verify(clock_tolerance=...)` cannot absorb the
    difference: qstash 3.4.0 passes it inside PyJWT's `options`, where PyJWT ignores it.)
    """
    if not offset_s:
        yield
        return
    real = jwt.api_jwt.datetime

    class Shifted(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + datetime.timedelta(seconds=offset_s)

    jwt.api_jwt.datetime = Shifted
    try:
        yield
    finally:
        jwt.api_jwt.datetime = real


def _port_of(rec: Recorded) -> int:
    host = rec.header("Host") or ""
    return int(host.rsplit(":", 1)[1])


def make_env(**kw) -> QStashEnv:
    keys = (new_signing_key(), new_signing_key())
    server = start_qstash_server(keys=keys, **kw)
    return QStashEnv(server, keys)


# --------------------------------------------------------------------------- helpers


def wait_until(fn: Callable[[], object], timeout: float = WAIT, interval: float = 0.05, what: str = "condition"):
    """Polls `fn` until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def states_of(env: QStashEnv, message_id: str) -> list[str]:
    """The event states of one message, oldest first."""
    logs = env.client.log.list(filter={"message_id": message_id}).logs
    return [l.state.value for l in reversed(logs)]


def all_dlq(env: QStashEnv, **filter) -> list:
    out, cursor = [], None
    for _ in range(1000):
        page = env.client.dlq.list(cursor=cursor, count=100, filter=filter or None)
        out += page.messages
        cursor = page.cursor
        if not cursor:
            return out
    raise AssertionError("DLQ paging did not end")


def decode_b64(s: Optional[str]) -> bytes:
    return base64.b64decode(s) if s else b""


def delivered_ids(sink: Sink, path: Optional[str] = None) -> set[str]:
    return {r.message_id for r in sink.received(path) if r.status is not None and 200 <= r.status < 300}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def sink(request):
    """A scripted receiver. In a test that also uses `qs`, every signed request it received is
    checked at the end with `Receiver.verify` on its raw body and URL."""
    env = request.getfixturevalue("qs") if "qs" in request.fixturenames else None  # set up first, torn down last
    s = Sink()
    yield s
    s.close()
    if env is not None:
        env.verify_all(s)


@pytest.fixture
def qs():
    """A fresh in-memory stashd serving QStash (fixed keys, loopback deliveries allowed)."""
    env = make_env()
    yield env
    env.close()


