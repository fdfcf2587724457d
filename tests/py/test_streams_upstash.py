"""Streams and consumer groups through the official `upstash-redis` Python SDK (REST face):
every x* method, with the shapes the SDK hands back."""

from __future__ import annotations

import pytest
from upstash_redis.errors import UpstashError

from test_rest_upstash import up


@pytest.fixture
def u(server, r):
    client = up(server)
    yield client
    client.close()


def test_stream_basics(u):
    for i in range(1, 5):
        assert u.xadd("s", f"{i}-0", {"n": str(i)}) == f"{i}-0"
    assert u.xadd("s", "*", {"n": "5"}, maxlen=5, approximate_trim=False).endswith("-0")
    assert u.xdel("s", u.xrevrange("s", "+", "-", count=1)[0][0]) == 1
    assert u.xlen("s") == 4
    assert u.xrange("s", "-", "+", count=2) == [["1-0", ["n", "1"]], ["2-0", ["n", "2"]]]
    assert u.xrevrange("s", "+", "-", count=1) == [["4-0", ["n", "4"]]]
    assert u.xdel("s", "1-0", "9-0") == 1
    assert u.xtrim("s", maxlen=2, approximate=False) == 1
    assert u.xread({"s": "0"}, count=1) == [["s", [["3-0", ["n", "3"]]]]]
    with pytest.raises(UpstashError, match="equal or smaller"):
        u.xadd("s", "1-0", {"n": "x"})


def test_consumer_groups(u):
    for i in range(1, 5):
        u.xadd("g", f"{i}-0", {"job": f"j{i}"})
    assert u.xgroup_create("g", "workers", "0") == "OK"
    assert u.xgroup_create("fresh", "workers", "$", mkstream=True) == "OK"
    assert u.xgroup_createconsumer("g", "workers", "spare") == 1
    assert u.xreadgroup("workers", "w1", {"g": ">"}, count=2) == [["g", [["1-0", ["job", "j1"]], ["2-0", ["job", "j2"]]]]]
    assert u.xreadgroup("workers", "w2", {"g": ">"}, count=1, noack=True) == [["g", [["3-0", ["job", "j3"]]]]]
    summary = u.xpending("g", "workers")
    assert summary == [2, "1-0", "2-0", [["w1", "2"]]]
    ext = u.xpending("g", "workers", "-", "+", 10, consumer="w1")
    assert [(e[0], e[1], e[3]) for e in ext] == [("1-0", "w1", 1), ("2-0", "w1", 1)]
    assert u.xclaim("g", "workers", "w3", 0, "1-0") == [["1-0", ["job", "j1"]]]
    assert u.xclaim("g", "workers", "w3", 0, "2-0", justid=True) == ["2-0"]
    assert u.xautoclaim("g", "workers", "w4", 0, "0-0", count=1, justid=True) == ["2-0", ["1-0"], []]
    assert u.xack("g", "workers", "1-0") == 1
    groups = u.xinfo_groups("g")
    assert groups == [["name", "workers", "consumers", 4, "pending", 1, "last-delivered-id", "3-0", "entries-read", 3, "lag", 1]]
    consumers = u.xinfo_consumers("g", "workers")
    assert [c[1] for c in consumers] == ["spare", "w1", "w3", "w4"]  # no "w2": its read was NOACK
    assert u.xinfo_consumers("g", "nope") == []
    assert u.xackdel("g", "workers", "2-0", option="KEEPREF") == [1]
    assert u.xdelex("g", "3-0", "4-0", option="ACKED") == [1, 2]
    assert u.xgroup_setid("g", "workers", "0") == "OK"
    assert u.xgroup_delconsumer("g", "workers", "w3") == 0
    assert u.xgroup_destroy("g", "workers") == 1
    with pytest.raises(UpstashError, match="NOGROUP"):
        u.xreadgroup("workers", "w1", {"g": ">"})
