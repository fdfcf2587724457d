"""Differential test: GEOADD / GEOPOS / GEODIST / GEOHASH against redis-server 7 with random
coordinates (including invalid ones and the latitude limits), replies compared exactly: the
stored 52-bit scores, the decoded positions' digits, distances and geohash strings."""

from __future__ import annotations

import random

import pytest

from differential import run


def coord(rng: random.Random) -> list:
    lon = rng.choice([rng.uniform(-180, 180), 180, -180, 180.0001, round(rng.uniform(-180, 180), 2)])
    lat = rng.choice([rng.uniform(-85.05, 85.05), 85.05112878, -85.05112878, 85.06, round(rng.uniform(-80, 80), 3)])
    return [repr(lon), repr(lat)]


@pytest.mark.parametrize("seed", list(range(1, 7)))
def test_geo_matches_redis(server, reference_redis, seed):
    ours = server.client(decode_responses=False)
    for c in (ours, reference_redis):
        c.flushall()
        c.set("str", "x")
    rng = random.Random(seed)
    members = [f"m{i}" for i in range(12)]
    for i in range(250):
        r = rng.random()
        key = rng.choice(["g", "g", "missing", "str"])
        if r < 0.4:
            cmd = ["GEOADD", key, *rng.sample([[], ["NX"], ["XX"], ["CH"], ["NX", "XX"]], 1)[0]]
            for _ in range(rng.randint(1, 3)):
                cmd += [*coord(rng), rng.choice(members)]
        elif r < 0.6:
            cmd = ["GEOPOS", key, *rng.sample(members + ["none"], rng.randint(1, 4))]
        elif r < 0.8:
            cmd = ["GEODIST", key, rng.choice(members), rng.choice(members), *rng.choice([[], ["m"], ["km"], ["ft"], ["mi"], ["parsec"]])]
        elif r < 0.95:
            cmd = ["GEOHASH", key, *rng.sample(members + ["none"], rng.randint(1, 4))]
        else:
            cmd = ["ZSCORE", "g", rng.choice(members)]
        want, got = run(reference_redis, cmd), run(ours, cmd)
        assert got == want, f"command {i}: {cmd}"
    assert ours.zrange("g", 0, -1, withscores=True) == reference_redis.zrange("g", 0, -1, withscores=True)
    ours.close()
