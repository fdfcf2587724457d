"""Differential test: GEOSEARCH / GEOSEARCHSTORE / GEORADIUS[BYMEMBER][_RO] against
redis-server 7 on random points, replies compared exactly, including the order of unsorted
results (it follows Redis's cell scan) and stored results."""

from __future__ import annotations

import random

import pytest

from differential import run


def random_query(rng: random.Random, members: list[str]) -> list:
    unit = rng.choice(["m", "km", "mi", "ft"])
    radius = {"m": rng.uniform(0, 300000), "km": rng.uniform(0, 400), "mi": rng.uniform(0, 200), "ft": rng.uniform(0, 500000)}[unit]
    lon, lat = repr(rng.uniform(-20, 20)), repr(rng.uniform(30, 50))
    opts = []
    for o in rng.sample(["WITHDIST", "WITHHASH", "WITHCOORD"], rng.randint(0, 3)):
        opts.append(o)
    if rng.random() < 0.5:
        opts.append(rng.choice(["ASC", "DESC"]))
    if rng.random() < 0.4:
        opts += ["COUNT", rng.choice([1, 3, 10, 0])]
        if rng.random() < 0.3:
            opts.append("ANY")
    kind = rng.random()
    if kind < 0.45:
        src = ["FROMMEMBER", rng.choice(members + ["nobody"])] if rng.random() < 0.4 else ["FROMLONLAT", lon, lat]
        shape = ["BYRADIUS", repr(radius), unit] if rng.random() < 0.5 else ["BYBOX", repr(radius * 2), repr(radius * rng.uniform(0.3, 2)), unit]
        if rng.random() < 0.25:
            return ["GEOSEARCHSTORE", "dst", "pts", *src, *shape, *[o for o in opts if not str(o).startswith("WITH")], *(["STOREDIST"] if rng.random() < 0.5 else [])]
        return ["GEOSEARCH", "pts", *src, *shape, *opts]
    name = rng.choice(["GEORADIUS", "GEORADIUS_RO", "GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"])
    center = [rng.choice(members)] if "MEMBER" in name else [lon, lat]
    cmd = [name, "pts", *center, repr(radius), unit]
    if not name.endswith("_RO") and rng.random() < 0.25:
        return cmd + [o for o in opts if not str(o).startswith("WITH")] + [rng.choice(["STORE", "STOREDIST"]), "dst"]
    return cmd + opts


def mangle(rng: random.Random, cmd: list) -> list:
    """Sometimes a missing key, a repeated or conflicting option, or a misplaced one."""
    cmd = list(cmd)
    r = rng.random()
    if r < 0.1:
        cmd[2 if cmd[0] == "GEOSEARCHSTORE" else 1] = "nokey"
    elif r < 0.15:
        cmd.append("ANY")
    elif r < 0.2:
        cmd += rng.choice([["FROMMEMBER", "p1"], ["FROMLONLAT", "1", "40"], ["BYRADIUS", "10", "km"], ["BYBOX", "1", "1", "km"]])
    elif r < 0.25:
        cmd += [rng.choice(["WITHDIST", "STOREDIST", "COUNT", "BOGUS"])]
    elif r < 0.28:
        del cmd[rng.randrange(2, len(cmd))]
    return cmd


@pytest.mark.parametrize("seed", list(range(1, 9)))
def test_geo_search_matches_redis(server, reference_redis, seed):
    ours = server.client(decode_responses=False)
    rng = random.Random(seed)
    points = []
    for i in range(150):
        points += [repr(rng.uniform(-25, 25)), repr(rng.uniform(25, 55)), f"p{i}"]
    for c in (ours, reference_redis):
        c.flushall()
        c.execute_command("GEOADD", "pts", *points)
    members = [f"p{i}" for i in range(150)]
    for i in range(120):
        cmd = mangle(rng, random_query(rng, members))
        want, got = run(reference_redis, cmd), run(ours, cmd)
        assert got == want, f"command {i}: {cmd}"
        if "dst" in cmd:
            assert ours.zrange("dst", 0, -1, withscores=True) == reference_redis.zrange("dst", 0, -1, withscores=True), cmd
    ours.close()
