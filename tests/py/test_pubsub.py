"""Pub/sub over RESP with redis-py (RESP2 and RESP3) and raw sockets."""

from __future__ import annotations

import socket
import time

import pytest
import redis

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


@pytest.fixture
def notifications(server, r):
    """Keyspace notifications on (all classes, K and E, plus new-key and key-miss events) for one test."""
    r.config_set("notify-keyspace-events", "KEAnm")
    yield
    r.config_set("notify-keyspace-events", "")


def drain(p, quiet: float = 0.3) -> list:
    """Every message a redis-py PubSub receives until it stays quiet for `quiet` seconds."""
    out = []
    while True:
        m = p.get_message(timeout=quiet)
        if m is None:
            return out
        out.append(m)


def test_keyspace_notification_config_round_trips_and_rejects_bad_classes(server, r):
    r.config_set("notify-keyspace-events", "KEA")
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
    r.config_set("notify-keyspace-events", "Ex")
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "xE"}
    with pytest.raises(redis.ResponseError, match="Invalid event class character"):
        r.config_set("notify-keyspace-events", "KEq")
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "xE"}
    r.config_set("notify-keyspace-events", "")
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": ""}


def test_keyspace_notifications_for_writes_expiry_and_misses(server, r, notifications):
    sub = server.client()
    p = sub.pubsub()
    p.psubscribe("__keyspace@0__:ks:*", "__keyevent@0__:*")
    assert len(drain(p)) == 2
    r.set("ks:s", "v", ex=100)
    r.incr("ks:n")
    r.rpush("ks:l", "a")
    r.lpop("ks:l")  # empties the list: lpop then del
    r.hset("ks:h", "f", "1")
    r.rename("ks:h", "ks:h2")
    r.eval("redis.call('sadd', KEYS[1], 'm')", 1, "ks:set")  # scripts notify too
    r.delete("ks:set", "ks:absent")  # only the key that existed fires
    r.get("ks:missing")
    got = drain(p)
    space = [(m["channel"].split(":", 1)[1], m["data"]) for m in got if m["channel"].startswith("__keyspace")]
    event = [(m["channel"].split(":", 1)[1], m["data"]) for m in got if m["channel"].startswith("__keyevent")]
    assert space == [
        ("ks:s", "new"), ("ks:s", "set"), ("ks:s", "expire"),
        ("ks:n", "new"), ("ks:n", "incrby"),
        ("ks:l", "new"), ("ks:l", "rpush"),
        ("ks:l", "lpop"), ("ks:l", "del"),
        ("ks:h", "new"), ("ks:h", "hset"),
        ("ks:h", "rename_from"), ("ks:h2", "new"), ("ks:h2", "rename_to"),
        ("ks:set", "new"), ("ks:set", "sadd"),
        ("ks:set", "del"),
        ("ks:missing", "keymiss"),
    ]  # fmt: skip
    assert ("set", "ks:s") in event and ("lpop", "ks:l") in event and ("keymiss", "ks:missing") in event
    assert ("del", "ks:absent") not in event
    # Expiry: the key reclaimed on access after the (injected) clock passed its TTL.
    server.debug_jump(200_000)
    assert r.get("ks:s") is None
    got = drain(p)
    assert {"type": "pmessage", "pattern": "__keyspace@0__:ks:*", "channel": "__keyspace@0__:ks:s", "data": "expired"} in got
    assert {"type": "pmessage", "pattern": "__keyevent@0__:*", "channel": "__keyevent@0__:expired", "data": "ks:s"} in got
    # Keys a command finds at run time (LMPOP's numkeys list) and keys in another db (MOVE).
    p.psubscribe("__keyevent@1__:*")
    drain(p)
    r.rpush("ks:m", "a")
    r.lmpop(1, "ks:m", direction="LEFT")
    r.set("ks:mv", "1")
    r.move("ks:mv", 1)
    events = [(m["channel"], m["data"]) for m in drain(p) if m["channel"].startswith("__keyevent")]
    assert events == [
        ("__keyevent@0__:new", "ks:m"), ("__keyevent@0__:rpush", "ks:m"),
        ("__keyevent@0__:lpop", "ks:m"), ("__keyevent@0__:del", "ks:m"),
        ("__keyevent@0__:new", "ks:mv"), ("__keyevent@0__:set", "ks:mv"),
        ("__keyevent@0__:move_from", "ks:mv"), ("__keyevent@1__:move_to", "ks:mv"),
    ]  # fmt: skip
    p.close()
    sub.close()


def test_no_notifications_when_disabled(server, r):
    sub = server.client()
    p = sub.pubsub()
    p.psubscribe("__key*")
    drain(p)
    r.set("quiet", "1")
    r.delete("quiet")
    assert drain(p) == []
    p.close()
    sub.close()


def test_monitor_over_resp_with_redis_py(server, r):
    mon_client = server.client()
    with mon_client.monitor() as m:
        r.set("mon:key", 'a "quoted"\nvalue')
        r.eval("return redis.call('get', KEYS[1])", 1, "mon:key")
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(c["command"].startswith("EVAL") for c in seen):
            seen.append(m.next_command())
    cmds = [c["command"] for c in seen]
    # Redis escapes arguments like sdscatrepr; redis-py undoes only the \" escapes.
    assert 'SET mon:key a "quoted"\\nvalue' in cmds
    lua = [c for c in seen if c["client_type"] == "lua"]
    assert [c["command"] for c in lua] == ["get mon:key"]
    set_line = next(c for c in seen if c["command"].startswith("SET"))
    assert set_line["db"] == 0 and set_line["client_type"] == "tcp" and set_line["client_address"] == "127.0.0.1"
    mon_client.close()


def test_monitor_over_sse(server, r):
    import requests

    headers = {"Authorization": f"Bearer {server.token}", "Accept": "text/event-stream"}
    with requests.post(f"{server.url}/monitor", headers=headers, stream=True, timeout=10) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.iter_lines(decode_unicode=True)
        data = (line[len("data: "):] for line in lines if line.startswith("data: "))
        assert next(data) == '"OK"'
        requests.post(server.url, json=["SET", "sse:mon", "v1"], headers={"Authorization": f"Bearer {server.token}"}, timeout=10)
        line = next(data)
        ts, rest = line.split(" ", 1)
        assert float(ts) > 1.7e9
        assert rest == '[0 0.0.0.0:0] "SET" "sse:mon" "v1"'
    # The stream closed: the server dropped the monitor and goes on serving.
    assert r.set("after", "1") is True


def test_monitor_needs_the_full_token(ro_server):
    import requests

    resp = requests.post(f"{ro_server.url}/monitor", headers={"Authorization": f"Bearer {ro_server.readonly_token}"}, timeout=10)
    assert resp.status_code == 403
    assert "NOPERM" in resp.text
