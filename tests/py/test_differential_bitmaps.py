"""Differential test: random bitmap command streams against stashd and redis-server 7, replies
compared exactly (errors by their text). Only what both have: Redis 7.0 lacks BITOP
DIFF/DIFF1/ANDOR/ONE, which the unit tests in cmd/bitmaps.rs cover."""

from __future__ import annotations

import random

import pytest

from differential import run


def random_command(rng: random.Random) -> list:
    key = rng.choice(["b1", "b2", "b3", "missing", "str"])
    width = rng.choice(["u1", "u7", "u8", "i8", "i13", "u63", "i64", "u64", "x3"])
    offset = rng.choice([0, 1, 7, 8, 13, 63, 100, "#2", "#0", -1, 4294967296])
    start, end = rng.randint(-6, 6), rng.randint(-6, 6)
    unit = rng.choice([[], ["BYTE"], ["BIT"]])
    value = rng.choice([0, 1, -1, 5, 127, 128, 255, 256, -129, 2**40, -(2**62)])
    choices = [
        ["SETBIT", key, rng.randint(0, 80), rng.choice([0, 1, 2])],
        ["GETBIT", key, rng.randint(0, 90)],
        ["BITCOUNT", key],
        ["BITCOUNT", key, start, end, *unit],
        ["BITPOS", key, rng.choice([0, 1])],
        ["BITPOS", key, rng.choice([0, 1]), start],
        ["BITPOS", key, rng.choice([0, 1]), start, end, *unit],
        ["BITOP", rng.choice(["AND", "OR", "XOR"]), "dst", "b1", rng.choice(["b2", "missing"]), "b3"],
        ["BITOP", "NOT", "dst", key],
        ["BITFIELD", key, "GET", width, offset],
        ["BITFIELD", key, "OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"]), "INCRBY", width, offset, value],
        ["BITFIELD", key, "SET", width, offset, value, "GET", width, offset],
        ["BITFIELD_RO", key, "GET", width, offset],
        ["GET", rng.choice(["b1", "b2", "b3", "dst"])],
    ]
    return rng.choice(choices)


@pytest.mark.parametrize("seed", list(range(1, 11)))
def test_bitmap_commands_match_redis(server, reference_redis, seed):
    ours = server.client(decode_responses=False)
    ours.flushall()
    reference_redis.flushall()
    for c in (ours, reference_redis):
        c.set("str", "foobar")
        c.lpush("list", "x")
    rng = random.Random(seed)
    for i in range(400):
        cmd = random_command(rng)
        want, got = run(reference_redis, cmd), run(ours, cmd)
        assert got == want, f"command {i}: {cmd}"
    for key in ("b1", "b2", "b3", "dst", "str"):
        assert ours.get(key) == reference_redis.get(key), key
    ours.close()
