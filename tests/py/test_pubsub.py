"""Pub/sub over RESP with redis-py (RESP2 and RESP3) and raw sockets."""

from __future__ import annotations

import socket
import time

import pytest

from rawresp import RawConn, RespError, encode


def next_message(p, timeout: float = 5.0):
    """The next non-None message from a redis-py PubSub, bounded in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.2)
        if m is not None:
            return m
    raise AssertionError("no pub/sub message within the timeout")


@pytest.mark.parametrize("protocol", [2, 3])
def test_subscribe_publish_patterns_and_unsubscribe(server, r, protocol):
    sub_client = server.client(protocol=protocol)
    p = sub_client.pubsub()
    p.subscribe("news")
    assert next_message(p) == {"type": "subscribe", "pattern": None, "channel": "news", "data": 1}
    p.psubscribe("n*")
    assert next_message(p)["type"] == "psubscribe"
    assert r.publish("news", "hello") == 2  # the channel and the pattern
    got = [next_message(p), next_message(p)]
    assert {"type": "message", "pattern": None, "channel": "news", "data": "hello"} in got
    assert {"type": "pmessage", "pattern": "n*", "channel": "news", "data": "hello"} in got
    assert r.pubsub_numsub("news", "none") == [("news", 1), ("none", 0)]
    assert r.pubsub_numpat() == 1
    assert "news" in r.pubsub_channels()
    p.unsubscribe("news")
    assert next_message(p)["type"] == "unsubscribe"
    p.punsubscribe("n*")
    assert next_message(p)["type"] == "punsubscribe"
    assert r.publish("news", "again") == 0
    p.close()
    sub_client.close()


def test_subscribed_resp2_connection_allows_only_pubsub_commands(server):
    with RawConn(server.port) as c:
        assert c.cmd("AUTH", server.token) == "OK"
        c.send(encode("SUBSCRIBE", "a"))
        assert c.read_reply() == [b"subscribe", b"a", 1]
        c.send(encode("GET", "k"))
        err = c.read_reply()
        assert isinstance(err, RespError)
        assert str(err) == (
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        )
        c.send(encode("PING"))
        assert c.read_reply() == [b"pong", b""]
        c.send(encode("UNSUBSCRIBE"))
        assert c.read_reply() == [b"unsubscribe", b"a", 0]
        assert c.cmd("SET", "k", "v") == "OK"


def test_disconnected_subscriber_is_dropped(server, r):
    c = RawConn(server.port)
    assert c.cmd("AUTH", server.token) == "OK"
    c.send(encode("SUBSCRIBE", "gone"))
    assert c.read_reply() == [b"subscribe", b"gone", 1]
    c.close()
    deadline = time.monotonic() + 5
    while r.pubsub_numsub("gone") != [("gone", 0)] and time.monotonic() < deadline:
        r.publish("gone", "x")  # the server notices the closed socket when it reads or writes
        time.sleep(0.05)
    assert r.pubsub_numsub("gone") == [("gone", 0)]


def test_slow_subscriber_is_disconnected_and_publishers_never_wait(server, r):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(encode("AUTH", server.token) + encode("SUBSCRIBE", "firehose"))
    time.sleep(0.2)
    payload = "x" * 2048
    start = time.monotonic()
    pipe = r.pipeline(transaction=False)
    for i in range(30000):
        pipe.publish("firehose", payload)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    # 60 MB published to a client that reads nothing: publishing stayed fast...
    assert time.monotonic() - start < 60
    # ...and the subscriber was evicted: unsubscribed, and its connection closed.
    assert r.pubsub_numsub("firehose") == [("firehose", 0)]
    s.settimeout(10)
    deadline = time.monotonic() + 20
    closed = False
    while time.monotonic() < deadline:
        chunk = s.recv(4 << 20)
        if not chunk:
            closed = True
            break
    s.close()
    assert closed
    assert r.ping() is True
