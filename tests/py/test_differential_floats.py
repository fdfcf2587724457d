"""Differential test: INCRBYFLOAT and HINCRBYFLOAT with random operands against redis-server 7;
replies compared exactly (Redis computes in long double and prints "%.17Lf" trimmed)."""

from __future__ import annotations

import random

import pytest
import redis

from differential import run


def operand(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return f"{rng.uniform(-100, 100):.{rng.randint(0, 6)}f}"
    if kind < 0.6:
        return rng.choice(["0.1", "0.2", "0.3", "-0.1", "1.1", "2.2", "1e3", "5.0e-3", "3", "-7", "1e10", "0.000001"])
    if kind < 0.75:
        return f"{rng.uniform(-1e15, 1e15):.3f}"
    if kind < 0.85:
        return str(rng.randint(-(10**12), 10**12))
    return rng.choice(["abc", "", " 1", "1 ", "inf", "-inf", "nan", "1e5000", "0x10", "1,5"])


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_float_increments_match_redis(server, reference_redis, seed):
    ours = server.client(decode_responses=False)
    theirs = redis.Redis(connection_pool=reference_redis.connection_pool)
    for c in (ours, theirs):
        c.flushall()
    rng = random.Random(seed)
    for step in range(300):
        key = rng.choice(["f1", "f2", "f3"])
        if rng.random() < 0.5:
            cmd = ["INCRBYFLOAT", key, operand(rng)]
        else:
            cmd = ["HINCRBYFLOAT", "h", key, operand(rng)]
        if rng.random() < 0.05:
            cmd = ["SET", key, operand(rng)] if cmd[0] == "INCRBYFLOAT" else ["HSET", "h", key, operand(rng)]
        assert run(ours, cmd) == run(theirs, cmd), f"seed {seed} step {step}: {cmd}"
    for key in ("f1", "f2", "f3"):
        assert ours.get(key) == theirs.get(key)
    assert ours.hgetall("h") == theirs.hgetall("h")
