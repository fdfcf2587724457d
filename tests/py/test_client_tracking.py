"""CLIENT TRACKING (client-side caching): raw RESP3 pushes, RESP2 REDIRECT to a subscriber of
__redis__:invalidate, BCAST prefixes, OPTIN, NOLOOP, expiry, flushes, and the
push sequences compared with redis-server."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from rawresp import RawConn


def conn(port, token=None, resp3=True) -> RawConn:
    c = RawConn(port, timeout=5)
    if resp3:
        c.cmd("HELLO", "3", *(["AUTH", "default", token] if token else []))
    elif token:
        c.cmd("AUTH", token)
    return c


def nothing_pending(c: RawConn, wait=0.2) -> bool:
    c.sock.settimeout(wait)
    try:
        data = c.sock.recv(1 << 16)
    except socket.timeout:
        return not c.buf
    finally:
        c.sock.settimeout(5)
    c.buf += data
    return False


def scenario(port, token=None):
    """The same steps against a server; returns everything the tracking client received."""
    a, w = conn(port, token), conn(port, token)
    w.cmd("FLUSHALL")
    got = []
    a.cmd("CLIENT", "TRACKING", "ON")
    w.cmd("SET", "k1", "1")
    got.append(a.cmd("GET", "k1"))
    got.append(a.cmd("MGET", "k2", "k3"))
    w.cmd("SET", "k1", "2")
    got.append(a.read_reply())  # push for k1
    w.cmd("MSET", "k2", "x", "k3", "y")
    got.append(a.read_reply())
    got.append(a.read_reply())
    w.cmd("SET", "k1", "3")  # not read since: no push
    got.append(a.cmd("GET", "k1"))
    got.append(a.cmd("SET", "k1", "own"))  # own write: reply, then the push
    got.append(a.read_reply())
    got.append(a.cmd("GET", "k1"))
    w.cmd("FLUSHALL")
    got.append(a.read_reply())
    got.append(a.cmd("CLIENT", "TRACKING", "OFF"))
    got.append(a.cmd("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "cfg:"))
    w.cmd("MSET", "user:2", "a", "user:1", "b", "other", "c", "cfg:x", "d")
    got.append(a.read_reply())
    got.append(a.read_reply())
    got.append(a.cmd("CLIENT", "TRACKINGINFO"))
    got.append(nothing_pending(a))
    a.close()
    w.close()
    return got


def test_push_sequences_match_redis_server(server, reference_redis):
    ref_port = reference_redis.connection_pool.connection_kwargs["port"]
    ours = scenario(server.port, server.token)
    theirs = scenario(ref_port)
    assert ours == theirs
    assert [b"invalidate", [b"k1"]] in [list(x) if isinstance(x, list) else x for x in ours]


def test_resp2_redirect_to_invalidate_subscriber(server, r):
    sub = conn(server.port, server.token, resp3=False)
    sub_id = sub.cmd("CLIENT", "ID")
    sub.cmd("SUBSCRIBE", "__redis__:invalidate")
    t = conn(server.port, server.token, resp3=False)
    assert t.cmd("CLIENT", "TRACKING", "ON", "REDIRECT", sub_id) == "OK"
    assert t.cmd("CLIENT", "GETREDIR") == sub_id
    t.cmd("GET", "rk")
    r.set("rk", "v")
    assert sub.read_reply() == [b"message", b"__redis__:invalidate", [b"rk"]]
    r.flushall()
    assert sub.read_reply() == [b"message", b"__redis__:invalidate", None]
    assert nothing_pending(t)  # RESP2 without a push channel gets nothing itself
    with pytest.raises(redis.ResponseError, match="does not exist"):
        r.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", 987654)


def test_optin_and_noloop(server, r):
    a = conn(server.port, server.token)
    a.cmd("CLIENT", "TRACKING", "ON", "OPTIN")
    a.cmd("GET", "o1")  # not cached: no CACHING yes
    assert a.cmd("CLIENT", "CACHING", "YES") == "OK"
    a.cmd("GET", "o2")
    r.mset({"o1": "x", "o2": "y"})
    assert a.read_reply() == [b"invalidate", [b"o2"]]
    assert nothing_pending(a)
    a.cmd("CLIENT", "TRACKING", "OFF")
    a.cmd("CLIENT", "TRACKING", "ON", "NOLOOP")
    a.cmd("GET", "n1")
    assert a.cmd("SET", "n1", "mine") == "OK"
    assert nothing_pending(a)
    a.close()


def test_expiry_invalidates(server, r):
    a = conn(server.port, server.token)
    a.cmd("CLIENT", "TRACKING", "ON")
    r.set("ek", "v", px=50)
    a.cmd("GET", "ek")
    time.sleep(0.1)
    assert r.get("ek") is None  # lazy expiry deletes it
    assert a.read_reply() == [b"invalidate", [b"ek"]]
    a.close()
