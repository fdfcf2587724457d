"""Hash field expiration (Redis 7.4/8): HEXPIRE & co, HTTL & co, HPERSIST, HGETDEL, HGETEX,
HSETEX through redis-py (RESP2 and RESP3) and the upstash-redis SDK (REST), lazy and active
expiry under DEBUG JUMP-CLOCK, keyspace events, and durability across restart and BGREWRITEAOF.

Debian's redis-server 7.0 has none of these commands, so the expected replies and error texts
are Redis 8's (t_hash.c), written out here."""

from __future__ import annotations

import time

import pytest
import redis
from redis.commands.core import HashDataPersistOptions
from upstash_redis import Redis as Upstash
from upstash_redis.errors import UpstashError

from rawresp import RespError, auth_conn
from test_durability import restart_client, rewrite_kill_restart


def now_ms(r) -> int:
    """The server's clock (DEBUG JUMP-CLOCK moves it ahead of the host's)."""
    s, us = r.time()
    return s * 1000 + us // 1000


def err_text(server, *args) -> str:
    with auth_conn(server.port, server.token) as c:
        rep = c.cmd(*args)
    assert isinstance(rep, RespError), f"{args!r} did not fail: {rep!r}"
    return str(rep)


def wait_for(cond, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


# ---- redis-py over RESP ----------------------------------------------------


def test_expire_ttl_persist_replies(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hexpire("h", 100, "a", "b", "zz") == [1, 1, -2]
    assert r.httl("h", "a", "c", "zz") == [100, -1, -2]
    assert 99_000 < r.hpttl("h", "a")[0] <= 100_000
    t = now_ms(r)
    assert abs(r.hpexpiretime("h", "a")[0] - (t + 100_000)) < 2000
    assert abs(r.hexpiretime("h", "b")[0] - (t + 100_000) / 1000) < 3
    assert r.hexpiretime("h", "c", "zz") == [-1, -2]
    assert r.httl("nokey", "a") == [-2]
    # NX / XX / GT / LT; a field without TTL is an infinite TTL for GT and LT.
    assert r.hexpire("h", 50, "a", "c", nx=True) == [0, 1]
    assert r.hexpire("h", 60, "c", "zz", xx=True) == [1, -2]
    r.hset("h", "d", "4")
    assert r.hexpire("h", 500, "a", "d", gt=True) == [1, 0]
    assert r.hexpire("h", 400, "a", "d", lt=True) == [1, 1]
    assert r.httl("h", "a", "d") == [400, 400]
    assert r.hpexpireat("h", t + 5_000, "b") == [1]
    assert r.hexpireat("h", t // 1000 + 700, "c") == [1]
    assert 4_000 < r.hpttl("h", "b")[0] <= 5_000
    assert 690 < r.httl("h", "c")[0] <= 700
    assert r.hpersist("h", "a", "b", "zz") == [1, 1, -2]
    assert r.hpersist("h", "a") == [-1]
    assert r.hpersist("nokey", "a") == [-2]
    assert r.object("encoding", "h") == "listpackex"
    assert r.object("encoding", "h") == "listpackex"
    # A time already past deletes the field (2), and the key with its last field.
    assert r.hexpire("h", 0, "a", "b", "c") == [2, 2, 2]
    assert r.hgetall("h") == {"d": "4"}
    assert r.hpexpireat("h", 1, "d") == [2]
    assert r.exists("h") == 0


def test_writes_keep_or_drop_field_ttls(r):
    r.hset("h", mapping={"a": "1", "n": "1", "f": "1.5"})
    r.hexpire("h", 100, "a", "n", "f")
    r.hset("h", "a", "2")  # an overwrite drops the TTL
    assert r.hincrby("h", "n", 2) == 3  # increments keep it
    assert r.hincrbyfloat("h", "f", 1) == 2.5
    assert r.httl("h", "a", "n", "f") == [-1, 100, 100]
    r.rename("h", "h2")
    r.copy("h2", "h3")
    assert r.httl("h2", "n") == [100] and r.httl("h3", "f") == [100]


def test_hgetdel_hgetex_hsetex(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hgetdel("h", "a", "zz") == ["1", None]
    assert sorted(r.hkeys("h")) == ["b", "c"]
    assert r.hgetdel("nokey", "a") == [None]
    assert r.hgetex("h", "b", "zz", ex=100) == ["2", None]
    assert r.httl("h", "b") == [100]
    assert r.hgetex("h", "b", px=5000) == ["2"]
    assert 4000 < r.hpttl("h", "b")[0] <= 5000
    t = now_ms(r)
    assert r.hgetex("h", "c", exat=t // 1000 + 50) == ["3"]
    assert r.hgetex("h", "c", pxat=t + 60_000) == ["3"]
    assert r.hgetex("h", "b", "c", persist=True) == ["2", "3"]
    assert r.httl("h", "b", "c") == [-1, -1]
    assert r.hgetex("h", "b") == ["2"]
    assert r.hgetex("nokey", "a", ex=10) == [None]
    assert r.hgetex("h", "b", pxat=1) == ["2"]  # past: returned, then deleted
    assert r.hgetdel("h", "b", "c") == [None, "3"]
    assert r.exists("h") == 0
    # HSETEX: 1 when set, 0 when FNX/FXX refuse.
    assert r.hsetex("s", mapping={"a": "1", "b": "2"}, ex=100) == 1
    assert r.httl("s", "a", "b") == [100, 100]
    assert r.hsetex("s", "a", "9", data_persist_option=HashDataPersistOptions.FNX) == 0
    assert r.hsetex("s", mapping={"a": "9", "z": "0"}, data_persist_option=HashDataPersistOptions.FXX) == 0
    assert r.hsetex("nokey", "a", "1", data_persist_option=HashDataPersistOptions.FXX) == 0
    assert r.exists("nokey") == 0
    assert r.hsetex("s", "a", "10", keepttl=True, data_persist_option=HashDataPersistOptions.FXX) == 1
    assert r.httl("s", "a") == [100]
    assert r.hsetex("s", "a", "11") == 1
    assert r.httl("s", "a") == [-1]
    assert r.hsetex("s", "c", "3", px=2500, data_persist_option=HashDataPersistOptions.FNX) == 1
    assert 2000 < r.hpttl("s", "c")[0] <= 2500
    assert r.hmget("s", "a", "b", "c") == ["11", "2", "3"]


def test_resp3_reply_shapes(server, r):
    c = server.client(protocol=3)
    try:
        c.hset("h3", mapping={"a": "1", "b": "2"})
        assert c.hexpire("h3", 100, "a", "zz") == [1, -2]
        assert c.httl("h3", "a", "b") == [100, -1]
        assert c.hgetex("h3", "a", "zz", persist=True) == ["1", None]
        assert c.hgetdel("h3", "a") == ["1"]
        assert c.hsetex("h3", "x", "y", ex=5) == 1
    finally:
        c.close()


def test_lazy_expiry_hides_and_reclaims_fields(server, r):
    r.hset("lz", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hexpire("lz", 10, "a", "b") == [1, 1]
    server.debug_jump(11_000)
    assert r.hget("lz", "a") is None
    assert r.hlen("lz") == 1
    assert r.hgetall("lz") == {"c": "3"}
    assert r.hexists("lz", "b") == 0
    assert r.hkeys("lz") == ["c"] and r.hvals("lz") == ["3"]
    assert r.hmget("lz", "a", "c") == [None, "3"]
    assert r.hscan("lz", 0) == (0, {"c": "3"})
    assert r.hrandfield("lz", 10) == ["c"]
    assert r.httl("lz", "a", "c") == [-2, -1]
    r.hpexpire("lz", 100, "c")
    server.debug_jump(200)
    assert r.hstrlen("lz", "c") == 0
    assert r.exists("lz") == 0  # the last field took the key with it


def test_active_expiry_reclaims_untouched_hashes(server, r):
    for i in range(20):
        r.hset(f"act:{i}", mapping={"a": "1", "b": "2"})
        r.hpexpire(f"act:{i}", 500, "a", "b" if i % 2 else "a")
    before = int(r.info("stats")["expired_subkeys"])
    server.debug_jump(1_000)
    # Only DBSIZE and INFO: never touch the hashes, so only the active cycle can reclaim them.
    assert wait_for(lambda: r.dbsize() == 10), r.dbsize()
    assert int(r.info("stats")["expired_subkeys"]) - before == 30


def test_errors_and_wrongtype(server, r):
    r.hset("h", "a", "1")
    r.set("str", "x")
    cases = [
        (("HEXPIRE", "h", "10", "FIELDS", "1"), "ERR wrong number of arguments for 'hexpire' command"),
        (("HEXPIRE", "h", "x", "FIELDS", "1", "a"), "ERR value is not an integer or out of range"),
        (("HEXPIRE", "h", "-1", "FIELDS", "1", "a"), "ERR invalid expire time, must be >= 0"),
        (("HPEXPIREAT", "h", "281474976710656", "FIELDS", "1", "a"), "ERR invalid expire time in 'hpexpireat' command"),
        (("HEXPIRE", "h", "10", "FOO", "FIELDS", "1", "a"), "ERR Mandatory argument FIELDS is missing or not at the right position"),
        (("HEXPIRE", "h", "10", "FIELDS", "0", "a"), "ERR Parameter `numFields` should be greater than 0"),
        (("HEXPIRE", "h", "10", "FIELDS", "2", "a"), "ERR The `numfields` parameter must match the number of arguments"),
        (("HTTL", "h", "FIELDS", "-1", "a"), "ERR Number of fields must be a positive integer"),
        (("HPERSIST", "h", "FIELDS", "2", "a"), "ERR The `numfields` parameter must match the number of arguments"),
        (("HGETDEL", "h", "FIELD", "1", "a"), "ERR Mandatory argument FIELDS is missing or not at the right position"),
        (("HGETEX", "h", "EX", "-1", "FIELDS", "1", "a"), "ERR invalid expire time, must be >= 0"),
        (("HSETEX", "h", "FIELDS", "1", "a", "1", "b"), "ERR wrong number of arguments for 'hsetex' command"),
        (("HSETEX", "h", "FIELDS", "0", "a", "1"), "ERR invalid number of fields"),
        (("HSETEX", "h", "EX", "1", "KEEPTTL", "FIELDS", "1", "a", "1"), "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"),
        (("HSETEX", "h", "FXX", "FNX", "FIELDS", "1", "a", "1"), "ERR Only one of FXX or FNX arguments can be specified"),
        (("HSETEX", "h", "NOPE", "FIELDS", "1", "a", "1"), "ERR unknown argument: NOPE"),
    ]
    for args, want in cases:
        assert err_text(server, *args) == want, args
    wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value"
    for args in [
        ("HEXPIRE", "str", "10", "FIELDS", "1", "a"),
        ("HTTL", "str", "FIELDS", "1", "a"),
        ("HPERSIST", "str", "FIELDS", "1", "a"),
        ("HGETDEL", "str", "FIELDS", "1", "a"),
        ("HGETEX", "str", "FIELDS", "1", "a"),
        ("HSETEX", "str", "FIELDS", "1", "a", "1"),
    ]:
        assert err_text(server, *args) == wrongtype, args
    # Nothing changed.
    assert r.hgetall("h") == {"a": "1"} and r.httl("h", "a") == [-1] and r.get("str") == "x"
    assert r.object("encoding", "h") == "listpack"


def test_keyspace_events(server, r):
    r.config_set("notify-keyspace-events", "KEA")
    sub = server.client()
    p = sub.pubsub()
    try:
        p.psubscribe("__keyspace@0__:ev:*")
        assert p.get_message(timeout=2)["type"] == "psubscribe"
        r.hset("ev:h", mapping={"a": "1", "b": "2", "c": "3"})
        r.hexpire("ev:h", 100, "a", "b")
        r.hexpire("ev:h", 100, "zz")  # changed nothing: no event
        r.hpersist("ev:h", "a")
        r.hpexpire("ev:h", 10, "b")
        server.debug_jump(20)
        r.hget("ev:h", "b")  # reclaimed on access
        r.hgetdel("ev:h", "a")
        r.hsetex("ev:h", "d", "4", ex=100)
        r.hexpire("ev:h", 0, "d")
        r.hgetex("ev:h", "c", px=0)  # the last field: the key goes too
        got = []
        while (m := p.get_message(timeout=0.5)) is not None:
            got.append(m["data"])
        assert got == [
            "hset",
            "hexpire",
            "hpersist",
            "hexpire",
            "hexpired",
            "hdel",
            "hset", "hexpire",
            "hdel",
            "hdel", "del",
        ]  # fmt: skip
    finally:
        p.close()
        sub.close()
        r.config_set("notify-keyspace-events", "")


def test_scripts_and_transactions(r):
    r.hset("sx", mapping={"a": "1", "b": "2"})
    assert r.eval("return redis.call('HEXPIRE', KEYS[1], 100, 'FIELDS', 1, 'a')", 1, "sx") == [1]
    assert r.eval("return redis.call('HTTL', KEYS[1], 'FIELDS', 2, 'a', 'b')", 1, "sx") == [100, -1]
    p = r.pipeline(transaction=True)
    p.hsetex("sx", "c", "3", px=1000)
    p.hgetdel("sx", "b")
    p.hpttl("sx", "c")
    res = p.execute()
    assert res[0] == 1 and res[1] == ["2"] and 900 < res[2][0] <= 1000


# ---- the upstash-redis SDK over REST -----------------------------------------


@pytest.fixture(params=["base64", None], ids=["base64", "plain"])
def u(request, server, r):
    client = Upstash(url=server.url, token=server.token, rest_encoding=request.param, rest_retries=0, allow_telemetry=False)
    yield client
    client.close()


def test_upstash_sdk_field_ttls(u, r):
    assert u.hset("uh", values={"a": "1", "b": "2", "c": "3"}) == 3
    assert u.hexpire("uh", "a", 100) == [1]
    assert u.hexpire("uh", ["a", "zz"], 50, nx=True) == [0, -2]
    assert u.hpexpire("uh", ["b"], 200_000) == [1]
    t = now_ms(r)
    assert u.hexpireat("uh", "c", t // 1000 + 300) == [1]
    assert u.hpexpireat("uh", "c", t + 400_000, gt=True) == [1]
    assert u.httl("uh", ["a", "zz"]) == [100, -2]
    assert 199_000 < u.hpttl("uh", "b")[0] <= 200_000
    assert abs(u.hexpiretime("uh", "c")[0] - (t + 400_000) // 1000) <= 2
    assert abs(u.hpexpiretime("uh", ["c"])[0] - (t + 400_000)) < 2000
    assert u.hpersist("uh", ["a", "b", "zz"]) == [1, 1, -2]
    assert u.hgetex("uh", "a", "zz", ex=60) == ["1", None]
    assert r.httl("uh", "a") == [60]
    assert u.hgetex("uh", "a", persist=True) == ["1"]
    assert u.hgetdel("uh", "a", "b") == ["1", "2"]
    assert u.hsetex("uh", "x", "y", px=5000) == 1
    assert u.hsetex("uh", values={"x": "z", "n": "1"}, fnx=True) == 0
    assert u.hsetex("uh", values={"x": "z"}, fxx=True, keepttl=True) == 1
    assert 4000 < r.hpttl("uh", "x")[0] <= 5000
    assert u.hgetall("uh") == {"c": "3", "x": "z"}
    r.set("ustr", "v")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        u.hexpire("ustr", "a", 10)
    with pytest.raises(UpstashError, match="must be >= 0"):
        u.hexpire("uh", "c", -5)


# ---- durability ----------------------------------------------------------------


def test_field_ttls_survive_restart_and_rewrite(durable_server):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    c.hset("d", mapping={"a": "1", "b": "2", "c": "3", "n": "5"})
    c.hpexpire("d", 600_000, "a", "n")
    c.hexpire("d", 900, "b")
    c.hincrby("d", "n", 1)  # keeps its TTL, also on replay
    c.hsetex("d", "x", "y", ex=800)
    c.hgetex("d", "c", px=700_000)
    c.hset("gone", mapping={"f": "1", "g": "2"})
    c.hpexpire("gone", 50_000, "f")
    c.hset("active", mapping={"f": "1", "g": "2"})
    c.hpexpire("active", 50_000, "f", "g")
    times = c.hpexpiretime("d", "a", "b", "c", "n", "x")
    assert -1 not in times and -2 not in times
    # Past its TTL on the (jumped) clock: reclaimed on access and logged as HDEL, so the field
    # stays gone after a restart brings the clock back.
    s.debug_jump(60_000)
    assert c.hget("gone", "f") is None
    # "active" is never touched: the active cycle reclaims it (and logs it).
    assert wait_for(lambda: c.dbsize() == 2), c.dbsize()  # d and gone; DBSIZE touches no key
    c.close()
    s.kill()
    c = restart_client(s)
    assert c.hpexpiretime("d", "a", "b", "c", "n", "x") == times  # absolute times were logged
    assert c.hget("d", "n") == "6"
    assert c.hgetall("gone") == {"g": "2"}
    assert c.exists("active") == 0
    c = rewrite_kill_restart(s, c)
    assert c.hpexpiretime("d", "a", "b", "c", "n", "x") == times
    assert c.hgetall("d") == {"a": "1", "b": "2", "c": "3", "n": "6", "x": "y"}
    assert c.httl("gone", "f", "g") == [-2, -1]
    assert c.object("encoding", "d") == "listpackex"
    c.close()


def test_hosted_rules_for_field_expiry_times(server, r):
    """Where the hosted service differs from Redis (the SDKs' own suites expect it): HEXPIRETIME
    truncates to whole seconds, and HEXPIREAT accepts any far-future Unix time in seconds."""
    u = Upstash(url=server.url, token=server.token, rest_retries=0, allow_telemetry=False)
    r.hset("hosted", mapping={"a": "1", "b": "2"})
    now = now_ms(r)
    at = (now // 1000 + 10) * 1000 + 900  # 900 ms into a second
    assert r.hpexpireat("hosted", at, "a") == [1]
    assert u.hexpiretime("hosted", ["a"]) == [at // 1000]
    assert u.hexpireat("hosted", "b", now * 1000) == [1]  # a time in ms passed as seconds
    assert r.hget("hosted", "b") == "2"
    u.close()
