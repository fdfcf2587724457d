"""Every `upstash_redis.Redis` command method no other upstash-redis test exercised, called
through the SDK (both response encodings) against the real binary, with assertions on what
the SDK returns after its own formatting (bools for COPY/EXPIRE*/SISMEMBER/..., floats for
INCRBYFLOAT/ZINCRBY/ZMSCORE, (member, score) tuples, int cursors for *SCAN, ...).

test_sdk_coverage_upstash.py fails when a public method is referenced by no upstash-redis test.
"""

from __future__ import annotations

import pytest
from upstash_redis import Redis
from upstash_redis.errors import UpstashError


def up(server, **kw) -> Redis:
    kw.setdefault("rest_retries", 0)
    kw.setdefault("allow_telemetry", False)
    return Redis(url=server.url, token=server.token, **kw)


@pytest.fixture(params=["base64", None], ids=["base64", "plain"])
def u(request, server, r):
    """An upstash-redis client on an emptied keyspace (`r` flushes), in both encodings."""
    client = up(server, rest_encoding=request.param)
    yield client
    client.close()


def server_now(u: Redis) -> int:
    """The server's clock (it may have been jumped by DEBUG JUMP-CLOCK)."""
    return u.time()[0]


def scan_all(fn):
    """Calls fn(cursor) until the cursor is 0 again; returns all items."""
    cursor, items, rounds = 0, [], 0
    while True:
        cursor, batch = fn(cursor)
        assert isinstance(cursor, int)
        items.extend(batch)
        rounds += 1
        assert rounds < 1000
        if cursor == 0:
            return items


# ---- strings ---------------------------------------------------------------------------------


def test_strings_getrange_setrange_getset_getdel_substr(u):
    assert u.set("s", "Hello World") is True
    assert u.getrange("s", 0, 4) == "Hello"
    assert u.getrange("s", -5, -1) == "World"
    assert u.getrange("s", 20, 30) == ""
    assert u.substr("s", 6, 8) == "Wor"
    assert u.substr("missing", 0, 3) == ""
    assert u.setrange("s", 6, "Redis") == 11
    assert u.get("s") == "Hello Redis"
    assert u.setrange("pad", 2, "x") == 3
    assert u.get("pad") == "\0\0x"
    assert u.getset("s", "new") == "Hello Redis"
    assert u.getset("fresh", "v") is None
    assert u.getdel("s") == "new"
    assert u.getdel("s") is None
    assert u.exists("s") == 0
    u.lpush("l", "x")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        u.getdel("l")
    with pytest.raises(UpstashError, match="ERR offset is out of range"):
        u.setrange("pad", -1, "x")


def test_strings_getex_setex_psetex_setnx_msetnx(u):
    u.set("g", "v")
    assert u.getex("g") == "v"
    assert u.getex("g", ex=100) == "v"
    assert u.ttl("g") == 100
    assert u.getex("g", px=50_000) == "v"
    assert 49_000 < u.pttl("g") <= 50_000
    assert u.getex("g", persist=True) == "v"
    assert u.ttl("g") == -1
    now = server_now(u)
    assert u.getex("g", exat=now + 1000) == "v"
    assert 998 <= u.ttl("g") <= 1000
    assert u.getex("g", pxat=(now + 2000) * 1000) == "v"
    assert 1998 <= u.ttl("g") <= 2000
    assert u.getex("missing", ex=5) is None
    with pytest.raises(Exception, match="Exactly one of the expiration settings"):
        u.getex("g", ex=1, px=1)

    assert u.setex("se", 60, "val") is True
    assert u.ttl("se") == 60
    assert u.get("se") == "val"
    with pytest.raises(UpstashError, match="invalid expire time in 'setex' command"):
        u.setex("se", 0, "val")
    assert u.psetex("pse", 60_000, "pval") is True
    assert 59_000 < u.pttl("pse") <= 60_000
    assert u.get("pse") == "pval"

    assert u.setnx("nx", "first") is True
    assert u.setnx("nx", "second") is False
    assert u.get("nx") == "first"
    assert u.msetnx({"m1": "a", "m2": 2}) is True
    assert u.msetnx({"m2": "x", "m3": "y"}) is False
    assert u.exists("m3") == 0
    assert u.mget("m1", "m2") == ["a", "2"]


def test_strings_incrbyfloat_decr_decrby(u):
    u.set("f", "10.5")
    assert u.incrbyfloat("f", 0.1) == 10.6
    assert u.incrbyfloat("f", -5) == 5.6
    assert u.get("f") == "5.6"
    assert u.incrbyfloat("new", 3) == 3.0
    u.set("word", "abc")
    with pytest.raises(UpstashError, match="ERR value is not a valid float"):
        u.incrbyfloat("word", 1)
    assert u.decr("d") == -1
    assert u.decrby("d", 10) == -11
    assert u.decrby("d", -20) == 9
    assert u.get("d") == "9"
    with pytest.raises(UpstashError, match="ERR value is not an integer or out of range"):
        u.decr("word")


# ---- bitmaps ---------------------------------------------------------------------------------


def test_bitmaps_setbit_getbit_bitcount_bitpos_bitop(u):
    assert u.setbit("b", 7, 1) == 0
    assert u.setbit("b", 7, 1) == 1
    assert u.getbit("b", 7) == 1
    assert u.getbit("b", 6) == 0
    assert u.getbit("missing", 100) == 0
    u.set("word", "foobar")
    assert u.bitcount("word") == 26
    assert u.bitcount("word", 0, 0) == 4
    assert u.bitcount("word", 1, 1) == 6
    assert u.bitcount("word", -2, -1) == 7
    assert u.bitcount("missing") == 0
    with pytest.raises(Exception, match='Both "start" and "end"'):
        u.bitcount("word", 0)
    u.set("ones", "\x00\x7f")  # ASCII only: the SDK sends UTF-8 JSON
    assert u.bitpos("ones", 1) == 9
    assert u.bitpos("ones", 1, 1) == 9
    assert u.bitpos("ones", 0, 1, 1) == 8
    assert u.bitpos("ones", 1, 0, 0) == -1
    assert u.bitpos("ones", 0) == 0
    assert u.bitpos("missing", 1) == -1
    assert u.bitpos("missing", 0) == 0

    u.set("k1", "foobar")
    u.set("k2", "abcdef")
    assert u.bitop("AND", "dest", "k1", "k2") == 6
    assert u.get("dest") == "`bc`ab"
    assert u.bitop("OR", "dest", "k1", "k2") == 6
    assert u.get("dest") == "goofev"
    assert u.bitop("XOR", "dest", "k1", "missing") == 6
    assert u.get("dest") == "foobar"
    u.set("a", "\x00")
    assert u.bitop("NOT", "dest", "a") == 1
    assert u.getbit("dest", 0) == 1
    with pytest.raises(Exception, match="NOT"):
        u.bitop("NOT", "dest", "a", "b")


def test_bitmaps_bitfield_and_bitfield_ro(u):
    res = u.bitfield("bf").set("u8", 0, 255).get("u8", 0).incrby("u8", 0, 10).get("i8", 8).execute()
    assert res == [0, 255, 9, 0]
    res = u.bitfield("bf").overflow("SAT").incrby("u8", 0, 300).overflow("FAIL").incrby("u8", 0, 1).execute()
    assert res == [255, None]
    assert u.bitfield("bf").set("u4", "#1", 7).get("u4", "#1").execute() == [15, 7]  # bits 4..7 of 0xff
    assert u.bitfield_ro("bf").get("u8", 0).get("u4", "#1").execute() == [0xF7, 7]
    assert u.bitfield_ro("missing").get("u16", 0).execute() == [0]


# ---- keys ------------------------------------------------------------------------------------


def test_keys_expireat_pexpire_pexpireat_persist_pttl(u):
    u.set("e", "v")
    now = server_now(u)
    assert u.expireat("e", now + 100) is True
    assert 98 <= u.ttl("e") <= 100
    assert u.expireat("e", now + 50, gt=True) is False
    assert u.expireat("e", now + 200, gt=True) is True
    assert u.expireat("e", now + 300, nx=True) is False
    assert u.expireat("e", now + 150, lt=True) is True
    assert u.expireat("e", now + 160, xx=True) is True
    assert u.expireat("missing", now + 100) is False

    assert u.pexpire("e", 5000) is True
    assert 4000 < u.pttl("e") <= 5000
    assert u.pexpire("e", 10_000, lt=True) is False
    assert u.pexpire("e", 1000, lt=True) is True
    assert u.pexpire("e", 9000, xx=True) is True
    assert u.pexpire("e", 9000, nx=True) is False
    assert u.pexpire("e", 20_000, gt=True) is True
    assert u.pexpire("missing", 1000) is False

    assert u.pexpireat("e", now * 1000 + 30_000) is True
    assert 27_000 < u.pttl("e") <= 30_000
    assert u.pexpireat("e", now * 1000 + 60_000, nx=True) is False
    assert u.pexpireat("e", now * 1000 + 60_000, xx=True) is True
    assert u.pexpireat("e", now * 1000 + 10_000, gt=True) is False
    assert u.pexpireat("e", now * 1000 + 10_000, lt=True) is True

    assert u.persist("e") is True
    assert u.persist("e") is False
    assert u.pttl("e") == -1
    assert u.pttl("missing") == -2
    assert u.persist("missing") is False

    assert u.pexpireat("e", (now - 10) * 1000) is True
    assert u.exists("e") == 0
    u.set("e2", "v")
    assert u.expireat("e2", now - 10) is True
    assert u.get("e2") is None


def test_keys_renamenx_touch_unlink_keys_randomkey_dbsize(u, server):
    u.set("a", "1")
    u.set("b", "2")
    assert u.renamenx("a", "b") is False
    assert u.renamenx("a", "c") is True
    assert u.get("c") == "1"
    with pytest.raises(UpstashError, match="ERR no such key"):
        u.renamenx("a", "z")
    assert u.touch("b", "c", "missing") == 2
    assert sorted(u.keys("*")) == ["b", "c"]
    assert u.keys("c*") == ["c"]
    assert u.keys("nothing*") == []
    assert u.dbsize() == 2
    assert u.randomkey() in ("b", "c")
    assert u.unlink("b", "c", "missing") == 2
    assert u.dbsize() == 0
    assert u.randomkey() is None
    assert u.keys("*") == []


def test_server_echo_client_setinfo_publish_flushdb_flushall(u):
    assert u.echo("hello") == "hello"
    assert u.echo("OK") == "OK"
    assert u.echo("") == ""
    assert u.client_setinfo("LIB-NAME", "stashd-tests") == "OK"
    assert u.client_setinfo("lib-ver", "1.2.3") == "OK"
    with pytest.raises(UpstashError):
        u.client_setinfo("LIB-NAME", "has space")
    assert u.publish("nobody-listens", "msg") == 0

    u.set("x", "1")
    assert u.flushdb() is True
    assert u.dbsize() == 0
    u.set("x", "1")
    assert u.flushdb("ASYNC") is True
    assert u.dbsize() == 0
    u.set("x", "1")
    assert u.flushall() is True
    assert u.dbsize() == 0
    u.set("x", "1")
    assert u.flushall("SYNC") is True
    assert u.dbsize() == 0


# ---- hashes ----------------------------------------------------------------------------------


def test_hashes_hmset_hsetnx(u):
    assert u.hmset("h", {"a": "1", "b": "two"}) is True
    assert u.hgetall("h") == {"a": "1", "b": "two"}
    assert u.hsetnx("h", "a", "x") is False
    assert u.hsetnx("h", "c", "3") is True
    assert u.hmget("h", "a", "c", "zz") == ["1", "3", None]
    u.set("str", "s")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        u.hmset("str", {"a": "1"})


# ---- lists -----------------------------------------------------------------------------------


def test_lists_lindex_linsert_lpos_lrem_lset_ltrim(u):
    assert u.rpush("l", "a", "b", "c", "b", "a") == 5
    assert u.lindex("l", 0) == "a"
    assert u.lindex("l", -2) == "b"
    assert u.lindex("l", 99) is None
    assert u.linsert("l", "BEFORE", "c", "X") == 6
    assert u.linsert("l", "AFTER", "c", "Y") == 7
    assert u.linsert("l", "BEFORE", "nope", "Z") == -1
    assert u.linsert("missing", "AFTER", "a", "Z") == 0
    assert u.lrange("l", 0, -1) == ["a", "b", "X", "c", "Y", "b", "a"]

    assert u.lpos("l", "b") == 1
    assert u.lpos("l", "b", rank=2) == 5
    assert u.lpos("l", "b", rank=-1) == 5
    assert u.lpos("l", "b", count=0) == [1, 5]
    assert u.lpos("l", "a", rank=-1, count=5) == [6, 0]
    assert u.lpos("l", "b", maxlen=1) is None
    assert u.lpos("l", "b", count=5, maxlen=3) == [1]
    assert u.lpos("l", "nope") is None
    assert u.lpos("l", "nope", count=2) == []

    assert u.lrem("l", 1, "a") == 1
    assert u.lrem("l", -1, "b") == 1
    assert u.lrem("l", 0, "nope") == 0
    assert u.lrange("l", 0, -1) == ["b", "X", "c", "Y", "a"]
    assert u.lset("l", 1, "x2") is True
    with pytest.raises(UpstashError, match="ERR index out of range"):
        u.lset("l", 99, "v")
    with pytest.raises(UpstashError, match="ERR no such key"):
        u.lset("missing", 0, "v")
    assert u.ltrim("l", 1, -2) == "OK"
    assert u.lrange("l", 0, -1) == ["x2", "c", "Y"]
    assert u.ltrim("l", 5, 10) == "OK"
    assert u.exists("l") == 0


def test_lists_lpushx_rpushx_rpop_lmove_rpoplpush(u):
    assert u.lpushx("l", "p") == 0
    assert u.rpushx("l", "p") == 0
    u.rpush("l", "m")
    assert u.lpushx("l", "p1", "p2") == 3
    assert u.rpushx("l", "q", "r") == 5
    assert u.lrange("l", 0, -1) == ["p2", "p1", "m", "q", "r"]
    assert u.rpop("l") == "r"
    assert u.rpop("l", 2) == ["q", "m"]
    assert u.rpop("missing") is None
    assert u.rpop("missing", 2) is None

    assert u.lmove("l", "l2") == "p2"  # defaults: LEFT → RIGHT
    assert u.lmove("l", "l2", "RIGHT", "LEFT") == "p1"
    assert u.exists("l") == 0
    assert u.lrange("l2", 0, -1) == ["p1", "p2"]
    assert u.lmove("missing", "l2", "LEFT", "LEFT") is None

    assert u.rpoplpush("l2", "l3") == "p2"
    assert u.rpoplpush("l2", "l2") == "p1"  # rotation of a one-element list
    assert u.lrange("l3", 0, -1) == ["p2"]
    assert u.rpoplpush("missing", "l3") is None
    u.set("str", "s")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        u.rpoplpush("l3", "str")
    assert u.lrange("l3", 0, -1) == ["p2"], "nothing popped when the destination has the wrong type"


# ---- sets ------------------------------------------------------------------------------------


def test_sets_basic(u):
    assert u.sadd("s1", "a", "b", "c") == 3
    assert u.sadd("s1", "a", "d") == 1
    assert u.scard("s1") == 4
    assert u.scard("missing") == 0
    assert u.sismember("s1", "a") is True
    assert u.sismember("s1", "z") is False
    assert u.smismember("s1", "a", "z", "d") == [True, False, True]
    assert sorted(u.smembers("s1")) == ["a", "b", "c", "d"]
    assert u.smembers("missing") == []
    assert u.srem("s1", "b", "zz") == 1
    assert u.smove("s1", "s2", "a") is True
    assert u.smove("s1", "s2", "zz") is False
    assert u.smembers("s2") == ["a"]
    assert sorted(u.smembers("s1")) == ["c", "d"]
    with pytest.raises(Exception, match="At least one member"):
        u.sadd("s1")


def test_sets_algebra(u):
    u.sadd("s1", "a", "b", "c", "d")
    u.sadd("s2", "c", "d", "e")
    assert sorted(u.sdiff("s1", "s2")) == ["a", "b"]
    assert sorted(u.sinter("s1", "s2")) == ["c", "d"]
    assert u.sinter("s1", "missing") == []
    assert sorted(u.sunion("s1", "s2")) == ["a", "b", "c", "d", "e"]
    assert u.sdiffstore("d", "s1", "s2") == 2
    assert sorted(u.smembers("d")) == ["a", "b"]
    assert u.sinterstore("i", "s1", "s2") == 2
    assert sorted(u.smembers("i")) == ["c", "d"]
    assert u.sunionstore("un", "s1", "s2") == 5
    assert u.scard("un") == 5
    assert u.sunionstore("un", "missing") == 0
    assert u.exists("un") == 0


def test_sets_spop_srandmember_sscan(u):
    u.sadd("n", "1", "2", "3")
    first = u.spop("n")
    assert first in ("1", "2", "3")
    rest = u.spop("n", 5)
    assert sorted([first, *rest]) == ["1", "2", "3"]
    assert u.spop("missing") is None
    assert u.spop("missing", 2) == []

    u.sadd("s", "a", "b", "c")
    assert u.srandmember("s") in ("a", "b", "c")
    two = u.srandmember("s", 2)
    assert len(two) == 2 and len(set(two)) == 2
    assert sorted(u.srandmember("s", 10)) == ["a", "b", "c"]
    many = u.srandmember("s", -10)
    assert len(many) == 10 and set(many) <= {"a", "b", "c"}
    assert u.srandmember("missing") is None
    assert u.srandmember("missing", 3) == []

    cursor, members = u.sscan("s", 0)
    assert cursor == 0 and sorted(members) == ["a", "b", "c"]
    assert u.sscan("s", 0, match="b*", count=100) == (0, ["b"])
    assert u.sscan("missing", 0) == (0, [])
    big = {f"m{i}" for i in range(300)}
    u.sadd("big", *big)
    assert set(scan_all(lambda c: u.sscan("big", c, count=25))) == big


# ---- sorted sets -----------------------------------------------------------------------------


def test_zsets_counts_scores_ranks(u):
    assert u.zadd("z", {"a": 1, "b": 2, "c": 3}) == 3
    assert u.zcount("z", 2, 3) == 2
    assert u.zcount("z", "(1", "+inf") == 2
    assert u.zcount("z", "-inf", "(3") == 2
    assert u.zincrby("z", 2.5, "a") == 3.5
    assert u.zincrby("z", -1, "new") == -1.0
    assert u.zmscore("z", ["a", "b", "zz"]) == [3.5, 2.0, None]
    assert u.zrank("z", "new") == 0
    assert u.zrank("z", "a") == 3
    assert u.zrank("z", "zz") is None
    assert u.zrevrank("z", "a") == 0
    assert u.zrevrank("z", "b") == 2
    assert u.zrevrank("missing", "b") is None
    assert u.zrem("z", "new", "zz") == 1
    assert u.zrange("z", 0, -1, withscores=True) == [("b", 2.0), ("c", 3.0), ("a", 3.5)]


def test_zsets_union_inter_diff(u):
    u.zadd("z1", {"a": 1, "b": 2, "c": 3})
    u.zadd("z2", {"b": 10, "c": 20, "d": 30})
    assert u.zunion(["z1", "z2"]) == ["a", "b", "c", "d"]
    assert u.zunion(["z1", "z2"], withscores=True) == [("a", 1.0), ("b", 12.0), ("c", 23.0), ("d", 30.0)]
    assert u.zunion(["z1", "z2"], weights=[2, 1], aggregate="MIN", withscores=True) == [
        ("a", 2.0),
        ("b", 4.0),
        ("c", 6.0),
        ("d", 30.0),
    ]
    assert u.zinter(["z1", "z2"]) == ["b", "c"]
    assert u.zinter(["z1", "z2"], withscores=True) == [("b", 12.0), ("c", 23.0)]
    assert u.zinter(["z1", "z2"], weights=[1, 0.5], aggregate="MAX", withscores=True) == [("b", 5.0), ("c", 10.0)]
    assert u.zinter(["z1", "missing"]) == []
    assert u.zdiff(["z1", "z2"]) == ["a"]
    assert u.zdiff(["z2", "z1"], withscores=True) == [("d", 30.0)]
    assert u.zdiff(["missing", "z1"]) == []

    assert u.zunionstore("u", ["z1", "z2"]) == 4
    assert u.zrange("u", 0, -1, withscores=True) == [("a", 1.0), ("b", 12.0), ("c", 23.0), ("d", 30.0)]
    assert u.zunionstore("u2", ["z1", "z2"], weights=[1, 2], aggregate="MAX") == 4
    assert u.zrange("u2", 0, -1, withscores=True) == [("a", 1.0), ("b", 20.0), ("c", 40.0), ("d", 60.0)]
    assert u.zinterstore("i", ["z1", "z2"]) == 2
    assert u.zrange("i", 0, -1, withscores=True) == [("b", 12.0), ("c", 23.0)]
    assert u.zinterstore("i2", ["z1", "z2"], weights=[1, 0.5], aggregate="SUM") == 2
    assert u.zrange("i2", 0, -1, withscores=True) == [("b", 7.0), ("c", 13.0)]
    assert u.zinterstore("i", ["z1", "missing"]) == 0
    assert u.exists("i") == 0
    assert u.zdiffstore("d", ["z1", "z2"]) == 1
    assert u.zrange("d", 0, -1, withscores=True) == [("a", 1.0)]
    assert u.zdiffstore("d", ["missing", "z1"]) == 0
    assert u.exists("d") == 0


def test_zsets_by_lex_and_score_ranges(u):
    u.zadd("lex", {m: 0 for m in "abcde"})
    assert u.zlexcount("lex", "[b", "[d") == 3
    assert u.zlexcount("lex", "-", "+") == 5
    assert u.zlexcount("lex", "(a", "(c") == 1
    assert u.zrangebylex("lex", "-", "(c") == ["a", "b"]
    assert u.zrangebylex("lex", "[b", "+", offset=1, count=2) == ["c", "d"]
    assert u.zrevrangebylex("lex", "+", "[c") == ["e", "d", "c"]
    assert u.zrevrangebylex("lex", "+", "-", offset=0, count=2) == ["e", "d"]

    u.zadd("z", {f"m{i}": i for i in range(1, 6)})
    assert u.zrangebyscore("z", 2, 4) == ["m2", "m3", "m4"]
    assert u.zrangebyscore("z", "(2", "+inf", withscores=True) == [("m3", 3.0), ("m4", 4.0), ("m5", 5.0)]
    assert u.zrangebyscore("z", "-inf", "+inf", offset=1, count=2) == ["m2", "m3"]
    assert u.zrevrangebyscore("z", 4, 2) == ["m4", "m3", "m2"]
    assert u.zrevrangebyscore("z", "+inf", "(3", withscores=True, offset=0, count=1) == [("m5", 5.0)]
    assert u.zrevrange("z", 0, 1) == ["m5", "m4"]
    assert u.zrevrange("z", -1, -1, withscores=True) == [("m1", 1.0)]

    assert u.zrangestore("dst", "z", 1, 2) == 2
    assert u.zrange("dst", 0, -1) == ["m2", "m3"]
    assert u.zrangestore("dst", "z", 4, 5, sortby="BYSCORE") == 2
    assert u.zrange("dst", 0, -1) == ["m4", "m5"]
    assert u.zrangestore("dst", "z", "+inf", "-inf", sortby="BYSCORE", rev=True, offset=0, count=2) == 2
    assert u.zrange("dst", 0, -1) == ["m4", "m5"]
    assert u.zrangestore("dst", "lex", "[b", "[c", sortby="BYLEX") == 2
    assert u.zrange("dst", 0, -1) == ["b", "c"]

    assert u.zremrangebylex("lex", "[a", "(c") == 2
    assert u.zremrangebyrank("lex", 0, 0) == 1
    assert u.zrange("lex", 0, -1) == ["d", "e"]
    assert u.zremrangebyscore("z", 2, "(4") == 2
    assert u.zrange("z", 0, -1) == ["m1", "m4", "m5"]


def test_zsets_pop_randmember_scan(u):
    u.zadd("z", {"m1": 1, "m2": 2, "m3": 3})
    assert u.zpopmin("z") == [("m1", 1.0)]
    assert u.zpopmax("z") == [("m3", 3.0)]
    u.zadd("z", {"m1": 1, "m3": 3, "m4": 4})
    assert u.zpopmin("z", 2) == [("m1", 1.0), ("m2", 2.0)]
    assert u.zpopmax("z", 5) == [("m4", 4.0), ("m3", 3.0)]
    assert u.exists("z") == 0
    assert u.zpopmin("missing") == []
    assert u.zpopmax("missing", 2) == []

    u.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert u.zrandmember("z") in ("a", "b", "c")
    two = u.zrandmember("z", 2)
    assert len(two) == 2 and len(set(two)) == 2
    assert dict(u.zrandmember("z", 10, withscores=True)) == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert len(u.zrandmember("z", -6)) == 6
    assert u.zrandmember("missing") is None
    assert u.zrandmember("missing", 2) == []
    with pytest.raises(Exception, match="withscores"):
        u.zrandmember("z", withscores=True)

    cursor, pairs = u.zscan("z", 0)
    assert cursor == 0 and sorted(pairs) == [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    assert u.zscan("z", 0, match="b*") == (0, [("b", 2.0)])
    assert u.zscan("missing", 0, count=5) == (0, [])
    big = {f"big{i}": i / 2 for i in range(300)}
    u.zadd("big", big)
    assert dict(scan_all(lambda c: u.zscan("big", c, count=40))) == big


# ---- HyperLogLog -----------------------------------------------------------------------------


def test_hyperloglog(u):
    assert u.pfadd("h1", "x", "y", "z") is True
    assert u.pfadd("h1", "x") is False
    assert u.pfadd("h2", "z", "w") is True
    assert u.pfcount("h1") == 3
    assert u.pfcount("h1", "h2") == 4
    assert u.pfmerge("hm", "h1", "h2") is True
    assert u.pfcount("hm") == 4
    u.set("str", "plain")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        u.pfadd("str", "x")


# ---- geo -------------------------------------------------------------------------------------

PALERMO = (13.361389, 38.115556, "Palermo")
CATANIA = (15.087269, 37.502669, "Catania")


def test_geo_add_dist_hash_pos(u):
    assert u.geoadd("Sicily", PALERMO, CATANIA) == 2
    assert u.geoadd("Sicily", (13.361389, 38.115556, "Palermo"), nx=True) == 0
    assert u.geoadd("Sicily", (13.5, 38.0, "Palermo"), xx=True, ch=True) == 1
    assert u.geoadd("Sicily", PALERMO, xx=True, ch=True) == 1
    assert u.geoadd("Sicily", (0.0, 0.0, "Nowhere"), xx=True) == 0
    with pytest.raises(UpstashError, match="invalid longitude,latitude pair"):
        u.geoadd("Sicily", (200.0, 100.0, "bad"))

    assert u.geodist("Sicily", "Palermo", "Catania") == 166274.1516
    assert u.geodist("Sicily", "Palermo", "Catania", "KM") == 166.2742
    assert u.geodist("Sicily", "Palermo", "Catania", "MI") == 103.3182
    assert u.geodist("Sicily", "Palermo", "Nowhere") is None
    assert u.geohash("Sicily", "Palermo", "Catania", "Nowhere") == ["sqc8b49rny0", "sqdtr74hyu0", None]
    pos = u.geopos("Sicily", "Palermo", "Catania", "Nowhere")
    assert pos[0] == pytest.approx((13.361389338970184, 38.1155563954963), abs=1e-12)
    assert pos[1] == pytest.approx((15.087267458438873, 37.50266842333162), abs=1e-12)
    assert pos[2] is None


def test_geo_radius_family(u):
    u.geoadd("Sicily", PALERMO, CATANIA)
    assert u.georadius("Sicily", 15, 37, 200, "KM", order="ASC") == ["Catania", "Palermo"]
    res = u.georadius("Sicily", 15, 37, 200, "KM", withdist=True, withcoord=True, withhash=True, order="ASC")
    assert [(g.member, g.distance, g.hash) for g in res] == [
        ("Catania", 56.4413, 3479447370796909),
        ("Palermo", 190.4424, 3479099956230698),
    ]
    assert res[0].longitude == pytest.approx(15.087267458438873, abs=1e-12)
    assert res[0].latitude == pytest.approx(37.50266842333162, abs=1e-12)
    assert u.georadius("Sicily", 15, 37, 100, "KM") == ["Catania"]
    assert u.georadius("Sicily", 15, 37, 200, "KM", count=1, order="DESC") == ["Palermo"]
    assert u.georadius("Sicily", 15, 37, 200, "KM", store="stored") == 2
    assert u.zrange("stored", 0, -1) == ["Palermo", "Catania"]
    assert u.georadius("Sicily", 15, 37, 200, "KM", storedist="sdist") == 2
    assert u.zrange("sdist", 0, -1, withscores=True) == [
        ("Catania", pytest.approx(56.4413, abs=1e-4)),
        ("Palermo", pytest.approx(190.4424, abs=1e-4)),
    ]
    assert u.georadius_ro("Sicily", 15, 37, 200, "KM", withdist=True, order="DESC")[0].member == "Palermo"
    assert [g.distance for g in u.georadius_ro("Sicily", 15, 37, 200, "KM", withdist=True, order="ASC")] == [56.4413, 190.4424]
    assert u.georadius_ro("Sicily", 15, 37, 1, "M") == []

    assert u.georadiusbymember("Sicily", "Palermo", 200, "KM", order="ASC") == ["Palermo", "Catania"]
    res = u.georadiusbymember("Sicily", "Palermo", 200, "KM", withdist=True, order="ASC")
    assert [(g.member, g.distance) for g in res] == [("Palermo", 0.0), ("Catania", 166.2742)]
    assert u.georadiusbymember("Sicily", "Palermo", 200, "KM", store="bm") == 2
    assert u.georadiusbymember_ro("Sicily", "Catania", 100, "KM") == ["Catania"]
    res = u.georadiusbymember_ro("Sicily", "Catania", 200, "KM", withhash=True, count=2, any=True, order="ASC")
    assert sorted((g.member, g.hash) for g in res) == [("Catania", 3479447370796909), ("Palermo", 3479099956230698)]
    with pytest.raises(UpstashError, match="could not decode requested zset member"):
        u.georadiusbymember("Sicily", "Nowhere", 10, "KM")


def test_geo_search_and_store(u):
    u.geoadd("Sicily", PALERMO, CATANIA, (12.758489, 38.788135, "edge1"), (17.241510, 38.788135, "edge2"))
    assert u.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="KM", order="ASC") == ["Catania", "Palermo"]
    res = u.geosearch(
        "Sicily", longitude=15, latitude=37, width=400, height=400, unit="KM", order="ASC", withcoord=True, withdist=True, withhash=True
    )
    assert [(g.member, g.distance, g.hash) for g in res] == [
        ("Catania", 56.4413, 3479447370796909),
        ("Palermo", 190.4424, 3479099956230698),
        ("edge2", 279.7403, 3481342659049484),
        ("edge1", 279.7405, 3479273021651468),
    ]
    assert res[3].longitude == pytest.approx(12.75848776102066, abs=1e-12)
    assert u.geosearch("Sicily", member="Palermo", radius=100, unit="KM", order="ASC") == ["Palermo", "edge1"]
    assert u.geosearch("Sicily", member="Catania", radius=300, unit="KM", order="ASC", count=2) == ["Catania", "Palermo"]
    assert len(u.geosearch("Sicily", member="Catania", radius=300, unit="KM", count=1, any=True)) == 1

    assert u.geosearchstore("dst", "Sicily", longitude=15, latitude=37, radius=200, unit="KM", order="ASC") == 2
    assert sorted(u.zrange("dst", 0, -1)) == ["Catania", "Palermo"]
    assert u.geosearchstore("dst", "Sicily", member="Palermo", width=200, height=200, unit="KM", storedist=True) == 2
    # redis-server 7.0 stores 91.400658605814272 for edge1
    assert u.zrange("dst", 0, -1, withscores=True) == [("Palermo", 0.0), ("edge1", pytest.approx(91.400658605814272, rel=1e-12))]
    assert u.geosearchstore("dst", "Sicily", longitude=0, latitude=0, radius=1, unit="M") == 0
    assert u.exists("dst") == 0
    with pytest.raises(Exception):
        u.geosearch("Sicily", member="Palermo", longitude=1, latitude=1, radius=1)


# ---- scripting -------------------------------------------------------------------------------


def test_scripting_script_load_eval_ro_evalsha_ro(u):
    script = "return {KEYS[1], ARGV[1], redis.call('GET', KEYS[1])}"
    sha = u.script_load(script)
    assert len(sha) == 40 and all(ch in "0123456789abcdef" for ch in sha)
    assert u.script_load(script) == sha
    assert u.script_exists(sha) == [True]
    u.set("sk", "42")
    assert u.eval_ro(script, ["sk"], ["x"]) == ["sk", "x", "42"]
    assert u.evalsha_ro(sha, ["sk"], ["y"]) == ["sk", "y", "42"]
    assert u.eval_ro("return 7") == 7
    assert u.evalsha_ro(u.script_load("return #KEYS + #ARGV")) == 0
    with pytest.raises(UpstashError, match="Write commands are not allowed from read-only scripts"):
        u.eval_ro("return redis.call('SET', KEYS[1], 'v')", ["sk"])
    with pytest.raises(UpstashError, match="NOSCRIPT"):
        u.evalsha_ro("0" * 40, [], [])
    assert u.get("sk") == "42"


# ---- JSON namespace --------------------------------------------------------------------------

DOC = {"name": "stashd", "n": 2, "arr": [1, 2, 3], "obj": {"a": 1, "b": "x"}, "s": "ab"}


def test_json_arrays(u):
    j = u.json
    assert j.set("d", "$", DOC) is True
    assert j.arrlen("d") == [None]
    assert j.arrlen("d", "$.arr") == [3]
    assert j.arrindex("d", "$.arr", 2) == [1]
    assert j.arrindex("d", "$.arr", 9) == [-1]
    assert j.arrindex("d", "$.arr", 3, 0, 2) == [-1]
    assert j.arrinsert("d", "$.arr", 1, "s", 1.5) == [5]
    assert j.get("d", "$.arr") == [[1, "s", 1.5, 2, 3]]
    assert j.arrindex("d", "$.arr", "s") == [1]
    assert j.arrpop("d", "$.arr") == [3]
    assert j.arrpop("d", "$.arr", 1) == ["s"]
    assert j.arrpop("d", "$.obj") == [None]
    assert j.arrtrim("d", "$.arr", 0, 1) == [2]
    assert j.get("d", "$.arr") == [[1, 1.5]]


def test_json_objects_strings_numbers(u):
    j = u.json
    j.set("d", "$", DOC)
    assert j.objkeys("d", "$.obj") == [["a", "b"]]
    assert j.objkeys("d") == [["name", "n", "arr", "obj", "s"]]
    assert j.objlen("d", "$.obj") == [2]
    assert j.objlen("d", "$.arr") == [None]
    assert j.strlen("d", "$.s") == [2]
    assert j.strappend("d", "$.s", "cd") == [4]
    assert j.get("d", "$.s") == ["abcd"]
    assert j.strlen("d", "$.n") == [None]
    assert j.nummultby("d", "$.n", 3) == [6]
    assert j.nummultby("d", "$.s", 3) == [None]
    assert j.resp("d", "$.obj") == [["{", "a", 1, "b", "x"]]
    assert j.resp("d", "$.arr") == [["[", 1, 2, 3]]


def test_json_merge_mget_mset_clear_delete_forget(u):
    j = u.json
    assert j.mset([("a", "$", {"x": 1, "y": [1, 2]}), ("b", "$", "text")]) is True
    assert j.mget(["a", "b", "missing"], "$") == [[{"x": 1, "y": [1, 2]}], ["text"], None]
    assert j.mget(["a", "b"], "$.x") == [[1], []]
    assert j.merge("a", "$", {"x": None, "z": {"w": True}}) is True
    assert j.get("a") == [{"y": [1, 2], "z": {"w": True}}]
    assert j.merge("a", "$.z.w", "str") is True
    assert j.get("a", "$.z.w") == ["str"]
    assert j.clear("a", "$.y") == 1
    assert j.get("a", "$.y") == [[]]
    assert j.clear("a") == 1
    assert j.get("a") == [{}]
    j.set("c", "$", {"p": 1, "q": 2, "r": 3})
    assert j.delete("c", "$.p") == 1
    assert j.forget("c", "$.q") == 1
    assert j.get("c") == [{"r": 3}]
    assert j.delete("c", "$.nope") == 0
    assert j.forget("c") == 1
    assert u.exists("c") == 0
    assert j.delete("c") == 0


# ---- pipelines and transactions -------------------------------------------------------------


def test_pipeline_mixing_families(u):
    p = u.pipeline()
    p.setex("p:s", 100, "1")
    p.incrbyfloat("p:s", 0.5)
    p.getrange("p:s", 0, -1)
    p.sadd("p:set", "a", "b")
    p.smismember("p:set", "a", "x")
    p.zadd("p:z", {"one": 1, "two": 2})
    p.zincrby("p:z", 5, "one")
    p.zpopmax("p:z")
    p.hmset("p:h", {"f": "1"})
    p.hsetnx("p:h", "f", "2")
    p.rpush("p:l", "x", "y")
    p.lpos("p:l", "y")
    p.lmove("p:l", "p:l2", "RIGHT", "LEFT")
    p.pfadd("p:hll", "a")
    p.geoadd("p:g", PALERMO)
    p.geodist("p:g", "Palermo", "Palermo")
    p.expireat("p:l", 1)
    p.echo("done")
    assert p.exec() == [
        True,
        1.5,
        "1.5",
        2,
        [True, False],
        2,
        6.0,
        [("one", 6.0)],
        True,
        False,
        2,
        1,
        "y",
        True,
        1,
        0.0,
        True,
        "done",
    ]
    assert u.exists("p:l") == 0


def test_multi_mixing_families_and_runtime_error(u):
    tx = u.multi()
    tx.set("m:s", "v")
    tx.getex("m:s", ex=100)
    tx.ttl("m:s")
    tx.sadd("m:set", "1", "2", "3")
    tx.sismember("m:set", "2")
    tx.zadd("m:z", {"a": 1, "b": 2})
    tx.zrank("m:z", "b")
    tx.zmscore("m:z", ["a", "b"])
    tx.decrby("m:n", 5)
    tx.renamenx("m:n", "m:n2")
    tx.dbsize()
    assert tx.exec() == [True, "v", 100, 3, True, 2, 1, [1.0, 2.0], -5, True, 4]

    bad = u.multi()
    bad.set("m:x", "1")
    bad.hincrbyfloat("m:s", "f", 1)
    bad.incr("m:x")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        bad.exec()
    assert u.get("m:x") == "2", "MULTI does not roll back the commands around a runtime error"


# ---- long double arithmetic, as Redis -------------------------------------------------------


def test_incrbyfloat_small_decimals_like_redis(u):
    """Redis adds in x86-64 long double and prints "%.17Lf" trimmed: 0.3 and 3.3, not
    0.30000000000000004 and 3.3000000000000003."""
    u.set("f", "0.1")
    u.hset("h", "f", "1.1")
    assert (u.incrbyfloat("f", 0.2), u.hincrbyfloat("h", "f", 2.2)) == (0.3, 3.3)
