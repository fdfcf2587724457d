"""Malformed and hostile traffic on the RESP port."""

from __future__ import annotations

import random
import socket
import time

import pytest

from rawresp import RawConn, auth_conn


def assert_protocol_error_and_close(server, payload: bytes, expected: bytes | None = None) -> None:
    with RawConn(server.port, timeout=5) as c:
        c.send(payload)
        data = c.read_raw_until_close(timeout=5)
    assert data.startswith(b"-ERR Protocol error"), f"payload {payload[:60]!r} -> {data[:200]!r}"
    if expected is not None:
        first = data.split(b"\r\n", 1)[0]
        assert first == expected, f"payload {payload[:60]!r} -> {first!r}"
    assert data.endswith(b"<EOF>") or data.endswith(b"<RST>"), f"connection left open: {data[-200:]!r}"
    # the server is still healthy for a fresh connection
    with auth_conn(server.port, server.token, timeout=5) as ok:
        assert ok.cmd("PING") == "PONG"


def test_bad_multibulk_length(server):
    assert_protocol_error_and_close(server, b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length")


def test_negative_bulk_length(server):
    assert_protocol_error_and_close(server, b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length")


def test_huge_multibulk_count(server):
    assert_protocol_error_and_close(server, b"*99999999999\r\n", b"-ERR Protocol error: invalid multibulk length")


def test_huge_bulk_length(server):
    assert_protocol_error_and_close(server, b"*1\r\n$99999999999999\r\n", b"-ERR Protocol error: invalid bulk length")


def test_expected_dollar(server):
    assert_protocol_error_and_close(server, b"*1\r\n+foo\r\n", b"-ERR Protocol error: expected '$', got '+'")


def test_binary_garbage_inside_multibulk(server):
    assert_protocol_error_and_close(server, b"*2\r\n\xff\xfe\x00\x01garbage\r\n")


def test_binary_garbage_inline_too_big(server):
    rnd = random.Random(1234)
    garbage = bytes(b for b in rnd.randbytes(80 * 1024) if b not in (0x0A, 0x0D, ord("*")))
    assert_protocol_error_and_close(server, b"\x01" + garbage, b"-ERR Protocol error: too big inline request")


def test_unbalanced_quotes_inline(server):
    assert_protocol_error_and_close(server, b'SET "abc\r\n', b"-ERR Protocol error: unbalanced quotes in request")


def test_protocol_error_before_auth_still_errors(server):
    # unauthenticated client: same behaviour, nothing executed
    assert_protocol_error_and_close(server, b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length")


def test_inline_commands_work(server):
    with RawConn(server.port) as c:
        c.send(b"AUTH " + server.token.encode() + b"\r\n")
        assert c.read_reply() == "OK"
        c.send(b"SET inline:k \"a b\"\r\nGET inline:k\r\n")
        assert c.read_reply() == "OK"
        assert c.read_reply() == b"a b"


def test_pipelined_requests_in_one_packet(server):
    with auth_conn(server.port, server.token) as c:
        assert c.cmd("DEL", "pipe:n") in (0, 1)
        c.send(b"".join(b"*2\r\n$4\r\nINCR\r\n$6\r\npipe:n\r\n" for _ in range(100)) + b"*1\r\n$4\r\nPING\r\n")
        got = [c.read_reply() for _ in range(101)]
        assert got[:100] == list(range(1, 101))
        assert got[100] == "PONG"


def test_half_request_does_not_block_others(server):
    staller = auth_conn(server.port, server.token, timeout=10)
    try:
        staller.send(b"*3\r\n$3\r\nSET\r\n$7\r\nstall:k\r\n$10\r\nhalf")  # 4 of 10 value bytes
        t0 = time.monotonic()
        for i in range(20):
            with auth_conn(server.port, server.token, timeout=5) as other:
                assert other.cmd("PING") == "PONG"
                assert other.cmd("SET", f"other:{i}", "v") == "OK"
                assert other.cmd("GET", "stall:k") is None
        assert time.monotonic() - t0 < 10
        staller.send(b"-value\r\n")
        assert staller.read_reply() == "OK"
        assert staller.cmd("GET", "stall:k") == b"half-value"
    finally:
        staller.close()


def test_byte_at_a_time(server):
    with auth_conn(server.port, server.token) as c:
        msg = b"*3\r\n$3\r\nSET\r\n$5\r\nslow:\r\n$3\r\nabc\r\n"
        for b in msg:
            c.send(bytes([b]))
        assert c.read_reply() == "OK"
        assert c.cmd("GET", "slow:") == b"abc"


def test_2000_idle_connections(server):
    n = 2000
    socks: list[socket.socket] = []
    deadline = time.monotonic() + 60
    try:
        for _ in range(n):
            assert time.monotonic() < deadline, f"opened only {len(socks)} connections in 60s"
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            socks.append(s)
        with auth_conn(server.port, server.token, timeout=10) as c:
            assert c.cmd("PING") == "PONG"
        # some of the idle connections are still usable
        for s in (socks[0], socks[n // 2], socks[-1]):
            s.settimeout(10)
            s.sendall(b"PING\r\n")
            buf = b""
            while b"\r\n" not in buf:
                chunk = s.recv(1024)
                assert chunk, "idle connection was closed by the server"
                buf += chunk
            # unauthenticated: PING is refused with NOAUTH (Redis behaviour)
            assert buf in (b"-NOAUTH Authentication required.\r\n",), buf
    finally:
        for s in socks:
            s.close()
    with auth_conn(server.port, server.token, timeout=10) as c:
        assert c.cmd("PING") == "PONG"


@pytest.mark.parametrize("size", [1024 * 1024, 8 * 1024 * 1024])
def test_large_value_roundtrip(server, size):
    value = bytes(random.Random(size).randbytes(size))
    with auth_conn(server.port, server.token, timeout=30) as c:
        assert c.cmd("SET", "big:v", value) == "OK"
        assert c.cmd("STRLEN", "big:v") == size
        assert c.cmd("GET", "big:v") == value
        assert c.cmd("DEL", "big:v") == 1
