"""Differential test: random stream and consumer-group command sequences against stashd and
redis-server 7, replies compared exactly after masking what depends on the clock (idle times,
delivery and seen times) and on Redis's storage layout (radix-tree counters).

Left out because the hosted service (which stashd follows) differs from Redis there: NOACK
reads (no consumer is created) and XINFO CONSUMERS on a missing group (`[]`). Redis 7.0 also
lacks XDELEX/XACKDEL/KEEPREF and XINFO's `inactive`/`active-time` fields; those are covered by
unit tests and test_stream_groups.py."""

from __future__ import annotations

import random

import pytest
import redis

from differential import run

GROUPS = [b"g1", b"g2", b"g3"]
CONSUMERS = [b"alice", b"bob", b"carol"]


def pairs(flat):
    return dict(zip(flat[::2], flat[1::2]))


def mask(cmd, reply):
    """Drops the clock- and layout-dependent parts of a reply."""
    kind, value = reply
    if kind != "ok":
        return reply
    name = cmd[0].upper()
    sub = cmd[1].upper() if len(cmd) > 1 and isinstance(cmd[1], str) else ""
    if name == "XPENDING" and len(cmd) > 3 and isinstance(value, list):
        return kind, [[e[0], e[1], "idle", e[3]] for e in value]
    if name == "XINFO" and sub == "CONSUMERS" and isinstance(value, list):
        return kind, [{k: v for k, v in pairs(c).items() if k in (b"name", b"pending")} for c in value]
    if name == "XINFO" and sub == "STREAM" and isinstance(value, list):
        d = pairs(value)
        d.pop(b"radix-tree-keys", None)
        d.pop(b"radix-tree-nodes", None)
        return kind, d
    return reply


class Model:
    """Tracks just enough of the stream to generate mostly meaningful commands."""

    def __init__(self):
        self.next_ms = 1
        self.ids: list[str] = []

    def new_id(self, rng):
        self.next_ms += rng.randint(0, 2)
        seq = rng.randint(0, 3)
        i = f"{self.next_ms}-{seq}"
        self.next_ms += 1
        self.ids.append(i)
        return i

    def some_id(self, rng):
        if self.ids and rng.random() < 0.85:
            return rng.choice(self.ids)
        return rng.choice(["0-0", "0", "1", f"{self.next_ms + 5}-0", "bad-id", "-", "+"])


def random_command(rng: random.Random, m: Model) -> list:
    g = rng.choice(GROUPS)
    c = rng.choice(CONSUMERS)
    r = rng.random()
    if r < 0.22:
        cmd = ["XADD", "s"]
        if rng.random() < 0.1:
            cmd += ["MAXLEN", rng.randint(3, 12)]
        return cmd + [m.new_id(rng), "f", str(rng.randint(0, 99))]
    if r < 0.27:
        return ["XDEL", "s"] + [m.some_id(rng) for _ in range(rng.randint(1, 2))]
    if r < 0.36:
        which = rng.choice(["CREATE", "CREATE", "SETID", "DESTROY", "CREATECONSUMER", "DELCONSUMER"])
        if which == "CREATE":
            cmd = ["XGROUP", "CREATE", rng.choice(["s", "s", "missing"]), g, rng.choice(["$", "0", m.some_id(rng)])]
            if rng.random() < 0.3:
                cmd.append("MKSTREAM")
            if rng.random() < 0.2:
                cmd += ["ENTRIESREAD", rng.choice([-1, 0, 2, 5])]
            return cmd
        if which == "SETID":
            cmd = ["XGROUP", "SETID", "s", g, rng.choice(["$", "0", m.some_id(rng)])]
            if rng.random() < 0.3:
                cmd += ["ENTRIESREAD", rng.choice([-1, 0, 3])]
            return cmd
        if which == "DESTROY":
            return ["XGROUP", "DESTROY", "s", g]
        return ["XGROUP", which, "s", g, c]
    if r < 0.55:
        cmd = ["XREADGROUP", "GROUP", g, c]
        if rng.random() < 0.6:
            cmd += ["COUNT", rng.randint(0, 4)]
        return cmd + ["STREAMS", "s", rng.choice([">", ">", ">", "0", m.some_id(rng)])]
    if r < 0.65:
        return ["XACK", "s", g] + [m.some_id(rng) for _ in range(rng.randint(1, 3))]
    if r < 0.74:
        if rng.random() < 0.4:
            return ["XPENDING", "s", g]
        cmd = ["XPENDING", "s", g]
        if rng.random() < 0.2:
            cmd += ["IDLE", 0]
        cmd += [rng.choice(["-", "0", m.some_id(rng), "(" + m.some_id(rng)]), rng.choice(["+", m.some_id(rng)]), rng.randint(-1, 5)]
        if rng.random() < 0.4:
            cmd.append(c)
        return cmd
    if r < 0.83:
        cmd = ["XCLAIM", "s", g, c, 0] + [m.some_id(rng) for _ in range(rng.randint(1, 3))]
        for opt in ["JUSTID", "FORCE"]:
            if rng.random() < 0.25:
                cmd.append(opt)
        if rng.random() < 0.2:
            cmd += ["RETRYCOUNT", rng.randint(0, 5)]
        if rng.random() < 0.15:
            cmd += ["LASTID", m.some_id(rng)]
        return cmd
    if r < 0.9:
        cmd = ["XAUTOCLAIM", "s", g, c, 0, rng.choice(["0", "-", m.some_id(rng)])]
        if rng.random() < 0.5:
            cmd += ["COUNT", rng.randint(1, 3)]
        if rng.random() < 0.3:
            cmd.append("JUSTID")
        return cmd
    if r < 0.95:
        return ["XINFO", "GROUPS", rng.choice(["s", "s", "missing"])]
    if r < 0.98:
        return ["XINFO", "STREAM", "s"]
    return ["XINFO", "CONSUMERS", "s", g]


@pytest.mark.parametrize("seed", list(range(1, 17)))
def test_consumer_groups_match_redis(server, reference_redis, seed):
    ours = server.client(decode_responses=False)
    reference_redis = redis.Redis(connection_pool=reference_redis.connection_pool)
    for client in (ours, reference_redis):
        client.response_callbacks.clear()  # compare raw replies, not redis-py's parsed forms
        client.flushall()
    rng = random.Random(seed)
    m = Model()
    existing_groups: set = set()
    for step in range(250):
        cmd = random_command(rng, m)
        # XINFO CONSUMERS on a missing group is a hosted-service difference; skip it.
        if cmd[:2] == ["XINFO", "CONSUMERS"] and cmd[3] not in existing_groups:
            continue
        theirs = mask(cmd, run(reference_redis, cmd))
        mine = mask(cmd, run(ours, cmd))
        assert mine == theirs, f"seed {seed} step {step}: {cmd}"
        groups = run(reference_redis, ["XINFO", "GROUPS", "s"])
        existing_groups = {pairs(g)[b"name"] for g in groups[1]} if groups[0] == "ok" else set()
    for probe in (["XINFO", "GROUPS", "s"], ["XRANGE", "s", "-", "+"], ["XINFO", "STREAM", "s"]):
        assert mask(probe, run(ours, probe)) == mask(probe, run(reference_redis, probe)), probe
