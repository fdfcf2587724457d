"""Differential test: HSCAN/SSCAN/ZSCAN of small collections (Redis's listpack and intset
encodings) against redis-server 7 — the whole collection in one reply, in Redis's order, with
cursor 0, whatever COUNT says; MATCH forms compared exactly. Small sets of strings are left out:
Redis 7.0 keeps them in a hash table, 7.2+ (and the hosted service) in a listpack, which stashd
follows (tested in test_small_string_sets_scan_in_one_call)."""

from __future__ import annotations

import random

import pytest
import redis

from differential import run


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_collection_scans_match_redis(server, reference_redis, seed):
    ours = server.client(decode_responses=False)
    theirs = redis.Redis(connection_pool=reference_redis.connection_pool)
    rng = random.Random(seed)
    for c in (ours, theirs):
        c.flushall()
    words = [f"w{rng.randint(0, 60)}" for _ in range(40)]
    ints = [str(rng.randint(-1000, 1000)) for _ in range(30)]
    for c in (ours, theirs):
        for w in words:
            c.hset("h", w, rng.choice(["1", "x", "yy"]) if False else w.upper())
            c.sadd("s", w)
            c.zadd("z", {w: len(w) + int(w[1:]) % 7})
        c.sadd("i", *ints)
    # Deletions, then more additions (order after removal matters for listpacks).
    doomed = words[:8]
    for c in (ours, theirs):
        c.hdel("h", *doomed)
        c.srem("s", *doomed)
        c.zrem("z", *doomed)
        c.srem("i", *ints[:5])
        c.hset("h", "late", "L")
        c.sadd("s", "late")
        c.zadd("z", {"late": 3})
    for cmd in [
        ["HSCAN", "h", 0],
        ["HSCAN", "h", 0, "COUNT", 1],
        ["HSCAN", "h", 0, "MATCH", "w1*"],
        ["SSCAN", "i", 0],
        ["SSCAN", "i", 0, "MATCH", "-*"],
        ["ZSCAN", "z", 0],
        ["ZSCAN", "z", 0, "COUNT", 1, "MATCH", "*5"],
    ]:
        assert run(ours, cmd) == run(theirs, cmd), cmd


def test_small_string_sets_scan_in_one_call(r):
    r.sadd("ss", "a", "b", "c", "d")
    r.srem("ss", "b")
    r.sadd("ss", "e")
    assert r.sscan("ss", 0, count=1) == (0, ["a", "c", "d", "e"])
