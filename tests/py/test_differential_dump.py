"""DUMP/RESTORE against redis-server 7: payloads DUMPed by redis-server RESTORE into stashd and
the other way round, for every type in the encodings Redis picks by size (LZF and integer
strings, listpack/intset/hashtable sets, listpack and quicklist lists, listpack and skiplist
hashes and sorted sets, streams with consumer groups and deleted entries); then the values read
back through ordinary commands must be the same on both servers. Bad payloads get the same
errors."""

from __future__ import annotations

import random

import pytest
import redis

from differential import run


def populate(c, rng: random.Random) -> list[str]:
    c.set("s:short", "hello")
    c.set("s:int", "123456")
    c.set("s:neg", "-70000")
    c.set("s:big", "x" * 300 + "y" * 300)  # LZF-compressed by Redis
    c.set("s:rand", bytes(rng.randrange(256) for _ in range(200)))
    c.rpush("l:small", *[rng.choice(["a", "1", "-5", "é", ""]) for _ in range(10)])
    c.rpush("l:big", *[f"item-{i}-" + "z" * rng.randint(0, 90) for i in range(700)])
    c.sadd("set:int", *range(-20, 40))
    c.sadd("set:bigint", 1, 2**40, -(2**35))
    c.sadd("set:small", "a", "b", "3")
    c.sadd("set:big", *[f"m{i}" for i in range(600)])
    c.hset("h:small", mapping={"f1": "1", "f2": "two", "f3": ""})
    c.hset("h:big", mapping={f"field{i}": "v" * (i % 80) for i in range(300)})
    c.zadd("z:small", {"a": 1, "b": -2.5, "c": 3e10})
    c.zadd("z:big", {f"m{i}": rng.uniform(-1000, 1000) for i in range(300)})
    c.zadd("z:inf", {"lo": float("-inf"), "hi": float("inf"), "mid": 0})
    for i in range(1, 260):
        fields = {"f": str(i)} if i % 7 else {"other": "x", "n": str(i)}
        c.xadd("x:stream", fields, id=f"{i}-{i % 3}")
    c.xdel("x:stream", "5-2", "100-1")
    c.xgroup_create("x:stream", "g1", id="0")
    c.xgroup_create("x:stream", "g2", id="$")
    c.xreadgroup("g1", "alice", {"x:stream": ">"}, count=5)
    c.xreadgroup("g1", "bob", {"x:stream": ">"}, count=3)
    c.xack("x:stream", "g1", "2-2")
    c.xadd("x:empty", {"a": "1"}, id="9-9")
    c.xdel("x:empty", "9-9")
    return [k.decode() for k in c.keys("*")]


def read_value(c, key: str):
    t = c.type(key).decode()
    if t == "string":
        return t, c.get(key)
    if t == "list":
        return t, c.lrange(key, 0, -1)
    if t == "set":
        return t, sorted(c.smembers(key))
    if t == "hash":
        return t, sorted(c.hgetall(key).items())
    if t == "zset":
        return t, c.zrange(key, 0, -1, withscores=True)
    if t == "stream":
        groups = [
            (g["name"], g["consumers"], g["pending"], g["last-delivered-id"], g["entries-read"], g["lag"]) for g in c.xinfo_groups(key)
        ]
        pending = [
            (g[0], [(p["message_id"], p["consumer"], p["times_delivered"]) for p in c.xpending_range(key, g[0], "-", "+", 100)]) for g in groups
        ]
        info = c.xinfo_stream(key)
        meta = (info["length"], info["last-generated-id"], info["max-deleted-entry-id"], info["entries-added"])
        return t, c.xrange(key), groups, pending, meta
    return t, None


@pytest.mark.parametrize("direction", ["redis-to-stashd", "stashd-to-redis"])
def test_payloads_cross_restore(server, reference_redis, direction):
    ours = server.client(decode_responses=False)
    theirs = redis.Redis(connection_pool=reference_redis.connection_pool)
    for c in (ours, theirs):
        c.flushall()
    src, dst = (theirs, ours) if direction == "redis-to-stashd" else (ours, theirs)
    keys = populate(src, random.Random(7))
    assert len(keys) > 15
    for key in keys:
        payload = src.dump(key)
        assert payload is not None, key
        assert dst.restore(key, 0, payload) in (True, b"OK"), key
        assert read_value(dst, key) == read_value(src, key), key


def test_restore_options_and_errors_match_redis(server, reference_redis):
    ours = server.client(decode_responses=False)
    theirs = redis.Redis(connection_pool=reference_redis.connection_pool)
    for c in (ours, theirs):
        c.flushall()
        c.rpush("l", "a", "b")
    payload = theirs.dump("l")
    broken = payload[:-1] + bytes([payload[-1] ^ 0xFF])
    for cmd in [
        ["RESTORE", "l", 0, payload],
        ["RESTORE", "n", -5, payload],
        ["RESTORE", "n", 0, broken],
        ["RESTORE", "n", 0, b"x"],
        ["RESTORE", "n", 0, payload, "IDLETIME", -1],
        ["RESTORE", "n", 0, payload, "FREQ", 300],
        ["RESTORE", "n", 0, payload, "IDLETIME", 5, "FREQ", 5],
        ["RESTORE", "n", 0, payload, "BOGUS"],
        ["RESTORE", "n", "abc", payload],
        ["RESTORE", "l", 0, payload, "REPLACE", "IDLETIME", 50],
        ["OBJECT", "IDLETIME", "l"],
        ["RESTORE", "e", 1, payload, "ABSTTL"],
        ["EXISTS", "e"],
        ["RESTORE", "t", 100000, payload],
        ["DUMP", "missing"],
        ["LRANGE", "l", 0, -1],
    ]:
        assert run(ours, cmd) == run(theirs, cmd), cmd
    assert 99_000 < ours.pttl("t") <= 100_000


LIB_A = "#!lua name=liba\nredis.register_function('fa', function(keys, args) return 'a' end)"
LIB_B = "#!lua name=libb\nredis.register_function('fb', function(keys, args) return 'b' end)"
LIB_A2 = "#!lua name=liba\nredis.register_function('fa', function(keys, args) return 'a2' end)"


@pytest.mark.parametrize("direction", ["redis-to-stashd", "stashd-to-redis"])
def test_function_dump_restore_policies_match_redis(server, reference_redis, direction):
    ours = server.client(decode_responses=False)
    theirs = redis.Redis(connection_pool=reference_redis.connection_pool)
    src = theirs if direction == "redis-to-stashd" else ours
    for c in (ours, theirs):
        c.function_flush()
    src.function_load(LIB_A)
    src.function_load(LIB_B)
    payload = src.function_dump()
    src.function_load(LIB_A2, replace=True)
    newer = src.function_dump()

    def state(c):
        return [c.fcall("fa", 0), c.fcall("fb", 0)] if c.function_list() else []

    for c in (ours, theirs):
        c.function_flush()
        c.function_load(LIB_A2)
    for cmd in [
        ["FUNCTION", "RESTORE", payload],  # APPEND: liba exists
        ["FUNCTION", "RESTORE", payload, "BOGUS"],
        ["FUNCTION", "RESTORE", payload[:-1] + b"\x00"],
        ["FUNCTION", "RESTORE", payload, "REPLACE"],
        ["FCALL", "fa", 0],
        ["FUNCTION", "RESTORE", newer, "FLUSH"],
        ["FCALL", "fa", 0],
        ["FCALL", "fb", 0],
        ["FUNCTION", "RESTORE", payload, "APPEND", "EXTRA"],
    ]:
        assert run(ours, cmd) == run(theirs, cmd), cmd
    assert state(ours) == state(theirs) == [b"a2", b"b"]
