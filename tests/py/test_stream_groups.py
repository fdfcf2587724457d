"""Stream consumer groups over RESP with redis-py: blocking XREADGROUP, claim, pending, XINFO,
the hosted service's NOACK behaviour, Redis 8.2's XDELEX/XACKDEL, and durability."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from test_durability import restart_client, rewrite_kill_restart


def test_group_lifecycle_read_ack_pending(r):
    for i in range(1, 6):
        r.xadd("jobs", {"n": str(i)}, id=f"{i}-0")
    assert r.xgroup_create("jobs", "workers", id="0") is True
    with pytest.raises(redis.ResponseError, match="BUSYGROUP"):
        r.xgroup_create("jobs", "workers", id="0")
    got = r.xreadgroup("workers", "w1", {"jobs": ">"}, count=2)
    assert [e[0] for e in got[0][1]] == ["1-0", "2-0"]
    got = r.xreadgroup("workers", "w2", {"jobs": ">"})
    assert [e[0] for e in got[0][1]] == ["3-0", "4-0", "5-0"]
    assert r.xpending("jobs", "workers") == {
        "pending": 5,
        "min": "1-0",
        "max": "5-0",
        "consumers": [{"name": "w1", "pending": 2}, {"name": "w2", "pending": 3}],
    }
    assert r.xack("jobs", "workers", "1-0", "3-0") == 2
    rng = r.xpending_range("jobs", "workers", min="-", max="+", count=10, consumername="w2")
    assert [(p["message_id"], p["consumer"], p["times_delivered"]) for p in rng] == [("4-0", "w2", 1), ("5-0", "w2", 1)]
    # History: w1's own pending entries, delivered again.
    got = r.xreadgroup("workers", "w1", {"jobs": "0"})
    assert [e[0] for e in got[0][1]] == ["2-0"]
    assert r.xpending_range("jobs", "workers", "2-0", "2-0", 1)[0]["times_delivered"] == 2
    groups = r.xinfo_groups("jobs")
    assert [(g["name"], g["consumers"], g["pending"], g["last-delivered-id"], g["entries-read"], g["lag"]) for g in groups] == [
        ("workers", 2, 3, "5-0", 5, 0)
    ]
    consumers = {c["name"]: c for c in r.xinfo_consumers("jobs", "workers")}
    assert consumers["w1"]["pending"] == 1 and consumers["w2"]["pending"] == 2
    assert consumers["w1"]["inactive"] >= 0
    assert r.xgroup_delconsumer("jobs", "workers", "w2") == 2
    assert r.xgroup_destroy("jobs", "workers") == 1
    with pytest.raises(redis.ResponseError, match="NOGROUP"):
        r.xreadgroup("workers", "w1", {"jobs": ">"})


def test_claim_and_autoclaim(server, r):
    for i in range(1, 5):
        r.xadd("q", {"n": str(i)}, id=f"{i}-0")
    r.xgroup_create("q", "g", id="0")
    r.xreadgroup("g", "dead", {"q": ">"})
    assert r.xclaim("q", "g", "alive", min_idle_time=60_000, message_ids=["1-0"]) == []
    server.debug_jump(61_000)  # idle time without sleeping
    claimed = r.xclaim("q", "g", "alive", min_idle_time=60_000, message_ids=["1-0", "2-0"])
    assert [e[0] for e in claimed] == ["1-0", "2-0"]
    assert r.xclaim("q", "g", "alive", min_idle_time=0, message_ids=["3-0"], justid=True) == ["3-0"]
    r.xdel("q", "4-0")
    nxt, entries, deleted = r.xautoclaim("q", "g", "other", min_idle_time=0, start_id="0-0", count=10)
    assert nxt == "0-0"
    assert [e[0] for e in entries] == ["1-0", "2-0", "3-0"]
    assert deleted == ["4-0"]
    assert r.xpending("q", "g")["consumers"] == [{"name": "other", "pending": 3}]


@pytest.mark.parametrize("protocol", [2, 3])
def test_blocking_xreadgroup_wakes_on_xadd(server, r, protocol):
    c = server.client(protocol=protocol)
    r.xgroup_create("b", "g", id="$", mkstream=True)
    result: list = []
    t = threading.Thread(target=lambda: result.append(c.xreadgroup("g", "c1", {"b": ">"}, block=5000)))
    t.start()
    time.sleep(0.2)
    r.xadd("b", {"hello": "world"}, id="7-0")
    t.join(10)
    assert not t.is_alive()
    got = result[0]
    entries = got["b"][0] if isinstance(got, dict) else dict(got)["b"]
    assert [(e[0], e[1]) for e in entries] == [("7-0", {"hello": "world"})]
    assert r.xpending("b", "g")["pending"] == 1
    start = time.monotonic()
    assert not c.xreadgroup("g", "c1", {"b": ">"}, block=150)
    assert time.monotonic() - start >= 0.1
    c.close()


def test_noack_reads_do_not_create_consumers(r):
    r.xadd("n", {"a": "1"}, id="1-0")
    r.xgroup_create("n", "g", id="0")
    got = r.xreadgroup("g", "ghost", {"n": ">"}, noack=True)
    assert [e[0] for e in got[0][1]] == ["1-0"]
    assert r.xinfo_consumers("n", "g") == []
    assert r.xinfo_consumers("n", "missing-group") == []
    assert r.xpending("n", "g")["pending"] == 0


def test_xinfo_stream_full(r):
    for i in range(1, 4):
        r.xadd("f", {"i": str(i)}, id=f"{i}-0")
    r.xgroup_create("f", "g", id="0")
    r.xreadgroup("g", "c", {"f": ">"}, count=2)
    info = r.xinfo_stream("f", full=True)
    assert info["length"] == 3 and info["entries-added"] == 3 and info["last-generated-id"] == "3-0"
    assert list(info["entries"]) == ["1-0", "2-0", "3-0"]  # redis-py maps id -> fields
    (g,) = info["groups"]
    assert g["name"] == "g" and g["pel-count"] == 2 and g["last-delivered-id"] == "2-0" and g["lag"] == 1
    assert [p[0] for p in g["pending"]] == ["1-0", "2-0"]
    (c,) = g["consumers"]
    assert c["name"] == "c" and c["pel-count"] == 2 and c["active-time"] >= c["seen-time"] - 1
    short = r.xinfo_stream("f")
    assert short["groups"] == 1 and short["first-entry"][0] == "1-0" and short["last-entry"][0] == "3-0"


def test_xdelex_xackdel_and_ref_policies(r):
    for i in range(1, 4):
        r.xadd("p", {"i": str(i)}, id=f"{i}-0")
    r.xgroup_create("p", "g1", id="0")
    r.xgroup_create("p", "g2", id="0")
    r.xreadgroup("g1", "c", {"p": ">"})
    assert r.execute_command("XDELEX", "p", "ACKED", "IDS", 1, "1-0") == [2]
    assert r.execute_command("XACKDEL", "p", "g1", "KEEPREF", "IDS", 2, "1-0", "9-0") == [1, -1]
    assert r.execute_command("XDELEX", "p", "DELREF", "IDS", 1, "2-0") == [1]
    assert r.xpending("p", "g1")["pending"] == 1  # 3-0 is left
    assert r.execute_command("XTRIM", "p", "MAXLEN", "0", "ACKED") == 0
    assert r.xlen("p") == 1
    with pytest.raises(redis.ResponseError, match="numids"):
        r.execute_command("XDELEX", "p", "IDS", 3, "1-0")


def test_groups_survive_restart_and_rewrite(durable_server):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    for i in range(1, 7):
        c.xadd("d", {"i": str(i)}, id=f"{i}-0")
    c.xgroup_create("d", "g", id="0")
    c.xreadgroup("g", "a", {"d": ">"}, count=3)
    c.xreadgroup("g", "b", {"d": ">"}, count=1)
    c.xreadgroup("g", "a", {"d": "0"})  # second delivery of 1-0..3-0
    c.xack("d", "g", "2-0")
    c.xdel("d", "3-0")  # a pending entry whose stream entry is gone
    c.xgroup_createconsumer("d", "g", "idle")
    c.xgroup_create("d", "late", id="$")

    def snapshot(c):
        pending = [(p["message_id"], p["consumer"], p["times_delivered"]) for p in c.xpending_range("d", "g", "-", "+", 10)]
        groups = [(g["name"], g["consumers"], g["pending"], g["last-delivered-id"], g["entries-read"], g["lag"]) for g in c.xinfo_groups("d")]
        stream = c.xinfo_stream("d")
        return pending, groups, stream["length"], stream["max-deleted-entry-id"], stream["entries-added"]

    before = snapshot(c)
    assert before[0] == [("1-0", "a", 2), ("3-0", "a", 2), ("4-0", "b", 1)]
    c.close()
    s.kill()
    c = restart_client(s)
    assert snapshot(c) == before
    c = rewrite_kill_restart(s, c)
    assert snapshot(c) == before
    c.close()
