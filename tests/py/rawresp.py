"""A tiny RESP client over a raw socket, for checking exact wire bytes and error text."""

from __future__ import annotations

import socket
import time
from typing import Any, Optional


class RespError(Exception):
    """An error reply; str() is the full line without the leading '-'."""


def encode(*args: Any) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        else:
            b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class RawConn:
    def __init__(self, port: int, timeout: float = 10.0, host: str = "127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RawConn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def read_reply(self) -> Any:
        """Parses one RESP2/RESP3 reply. Errors are returned as RespError instances."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        if t == b"%":
            n = int(rest)
            return {self._key(self.read_reply()): self.read_reply() for _ in range(n)}
        if t == b"_":
            return None
        if t == b",":
            return float(rest)
        if t == b"#":
            return rest == b"t"
        if t == b"(":
            return int(rest)
        if t in (b"=", b"!"):
            n = int(rest)
            data = self._exact(n)
            return RespError(data.decode(errors="replace")) if t == b"!" else data
        raise AssertionError(f"unexpected reply line {line!r}")

    @staticmethod
    def _key(k: Any) -> Any:
        return k if not isinstance(k, list) else tuple(k)

    def cmd(self, *args: Any) -> Any:
        self.send(encode(*args))
        return self.read_reply()

    def read_raw_until_close(self, timeout: float = 5.0) -> bytes:
        """Reads everything until the server closes the connection (bounded)."""
        deadline = time.monotonic() + timeout
        data, self.buf = self.buf, b""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                return data + b"<RST>"
            if not chunk:
                return data + b"<EOF>"
            data += chunk
        return data + b"<OPEN>"


def auth_conn(port: int, token: Optional[str], timeout: float = 10.0) -> RawConn:
    c = RawConn(port, timeout=timeout)
    if token:
        rep = c.cmd("AUTH", token)
        assert rep == "OK", rep
    return c
