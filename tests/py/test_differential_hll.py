"""Differential test: HyperLogLog values must be byte-for-byte those of redis-server 7 (sparse
and dense encodings, the switch between them, merged values, cached cardinalities), and
PFCOUNT must give the same numbers."""

from __future__ import annotations

import random

import pytest

from differential import run


@pytest.mark.parametrize("seed", list(range(1, 7)))
def test_hll_bytes_and_counts_match_redis(server, reference_redis, seed):
    ours = server.client(decode_responses=False)
    for c in (ours, reference_redis):
        c.flushall()
        c.set("str", "plain")
    rng = random.Random(seed)
    keys = ["h1", "h2", "h3", "big"]
    for i in range(300):
        r = rng.random()
        if r < 0.6:
            key = rng.choice(keys)
            n = rng.choice([1, 2, 5, 40]) if key != "big" else rng.choice([50, 400])
            elems = [f"e{rng.randint(0, 30000)}" for _ in range(n)]
            cmd = ["PFADD", key, *elems]
        elif r < 0.8:
            cmd = ["PFCOUNT", *rng.sample(keys + ["missing"], rng.randint(1, 3))]
        elif r < 0.95:
            cmd = ["PFMERGE", rng.choice(keys + ["dst"]), *rng.sample(keys + ["missing"], rng.randint(0, 3))]
        else:
            cmd = [rng.choice(["PFADD", "PFCOUNT"]), "str", "x"][: 3 if rng.random() < 0.5 else 2]
        want, got = run(reference_redis, cmd), run(ours, cmd)
        assert got == want, f"command {i}: {cmd[:4]}"
        for key in keys + ["dst"]:
            assert ours.get(key) == reference_redis.get(key), f"command {i}: {cmd[:4]}, key {key}"
    ours.close()
