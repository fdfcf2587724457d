"""The official `upstash-redis` Python SDK against the REST face."""

from __future__ import annotations

import pytest
from upstash_redis import Redis
from upstash_redis.errors import UpstashError


def up(server, token: str | None = None, **kw) -> Redis:
    kw.setdefault("rest_retries", 0)
    kw.setdefault("allow_telemetry", False)
    return Redis(url=server.url, token=token if token is not None else server.token, **kw)


@pytest.fixture(params=["base64", None], ids=["base64", "plain"])
def u(request, server, r):
    """Both encodings: `Upstash-Encoding: base64` (SDK default) and none."""
    client = up(server, rest_encoding=request.param)
    yield client
    client.close()


def test_set_get_incr(u, r):
    assert u.set("k", "v") is True
    assert u.get("k") == "v"
    assert u.get("missing") is None
    assert u.incr("n") == 1
    assert u.incrby("n", 41) == 42
    assert u.get("n") == "42"
    # the same data is visible over RESP
    assert r.get("k") == "v"
    assert r.get("n") == "42"


def test_unicode_and_tricky_strings(u):
    for i, v in enumerate(["héllo wörld ✓ 日本", "OK", "PONG", "T0s=", "", "  spaces  ", '{"a":1}', "1.50"]):
        assert u.set(f"t{i}", v) is True
        assert u.get(f"t{i}") == v, v


def test_set_options(u):
    assert u.set("o", "1", nx=True) is True
    assert u.set("o", "2", nx=True) is False
    assert u.set("o", "3", xx=True, get=True) == "1"
    assert u.set("o", "4", ex=100) is True
    assert u.ttl("o") == 100
    assert u.get("o") == "4"


def test_hashes(u):
    assert u.hset("h", values={"a": "1", "b": "2"}) == 2
    assert u.hset("h", "c", "3") == 1
    assert u.hget("h", "a") == "1"
    assert u.hgetall("h") == {"a": "1", "b": "2", "c": "3"}
    assert u.hincrby("h", "a", 9) == 10
    assert u.hdel("h", "b") == 1
    assert u.hgetall("h") == {"a": "10", "c": "3"}


def test_zsets(u):
    assert u.zadd("z", {"a": 1, "b": 2.5, "c": -3}) == 3
    assert u.zrange("z", 0, -1) == ["c", "a", "b"]
    assert u.zrange("z", 0, -1, withscores=True) == [("c", -3.0), ("a", 1.0), ("b", 2.5)]
    assert u.zscore("z", "b") == 2.5
    assert u.zcard("z") == 3


def test_lists(u):
    assert u.lpush("l", "a", "b", "c") == 3
    assert u.rpush("l", "z") == 4
    assert u.lrange("l", 0, -1) == ["c", "b", "a", "z"]
    assert u.lpop("l") == "c"
    assert u.llen("l") == 3


def test_keys_and_expire(u, server):
    u.set("e", "v")
    assert u.expire("e", 50) is True
    assert u.ttl("e") == 50
    assert u.exists("e", "nope") == 1
    server.debug_jump(50_001)
    assert u.get("e") is None
    assert u.ttl("e") == -2
    u.set("d1", "x")
    u.set("d2", "y")
    assert u.mget("d1", "nope", "d2") == ["x", None, "y"]
    assert u.delete("d1", "d2", "nope") == 2


def test_pipeline(u):
    p = u.pipeline()
    p.set("pk", "1")
    p.incr("pk")
    p.get("pk")
    p.hset("ph", values={"f": "v"})
    p.hgetall("ph")
    p.lpush("pl", "x", "y")
    p.lrange("pl", 0, -1)
    assert p.exec() == [True, 2, "2", 1, {"f": "v"}, 2, ["y", "x"]]


def test_pipeline_error_raises(u):
    u.set("str", "x")
    p = u.pipeline()
    p.set("a", "1")
    p.incr("str")
    p.get("a")
    with pytest.raises(UpstashError, match="ERR value is not an integer or out of range"):
        p.exec()
    # not atomic: the first command ran
    assert u.get("a") == "1"


def test_multi(u):
    m = u.multi()
    m.set("mk", "10")
    m.incrby("mk", 5)
    m.get("mk")
    m.zadd("mz", {"m": 2})
    m.zrange("mz", 0, -1, withscores=True)
    assert m.exec() == [True, 15, "15", 1, [("m", 2.0)]]


def test_execute_raw(u):
    assert u.execute(["set", "raw", "value"]) == "OK"  # lowercase: no SDK formatter
    assert u.execute(["GET", "raw"]) == "value"
    assert u.execute(["PING"]) == "PONG"
    assert u.execute(["TYPE", "raw"]) == "string"
    assert u.execute(["ECHO", "héllo"]) == "héllo"
    with pytest.raises(UpstashError, match=r"^ERR unknown command 'NOPE'"):
        u.execute(["NOPE", "x"])
    with pytest.raises(UpstashError, match=r"^ERR wrong number of arguments for 'get' command$"):
        u.execute(["GET"])


def test_sync_token_is_tracked(server, r):
    c = up(server)
    try:
        c.set("sync", "1")
        t1 = c._sync_token
        assert t1, "no upstash-sync-token received"
        c.incr("sync")
        t2 = c._sync_token
        assert t2 and t2 != t1
        assert c.get("sync") == "2"
    finally:
        c.close()


def test_wrong_token_is_refused(server):
    c = up(server, token="not-the-token")
    try:
        with pytest.raises(UpstashError, match="^WRONGPASS"):
            c.get("k")
        with pytest.raises(UpstashError, match="^WRONGPASS"):
            c.set("k", "v")
    finally:
        c.close()


def test_readonly_token(ro_server, ro_r):
    ro_r.set("rk", "rv")
    ro = up(ro_server, token=ro_server.readonly_token)
    rw = up(ro_server)
    try:
        assert ro.get("rk") == "rv"
        assert ro.exists("rk") == 1
        with pytest.raises(UpstashError, match="^NOPERM"):
            ro.set("rk", "changed")
        with pytest.raises(UpstashError, match="^NOPERM"):
            ro.delete("rk")
        with pytest.raises(UpstashError, match="^NOPERM"):
            ro.incr("counter")
        p = ro.pipeline()
        p.get("rk")
        p.set("rk", "x")
        with pytest.raises(UpstashError, match="^NOPERM"):
            p.exec()
        assert ro_r.get("rk") == "rv"
        assert ro_r.exists("counter") == 0
        assert rw.set("rk", "new") is True
        assert ro.get("rk") == "new"
    finally:
        ro.close()
        rw.close()
