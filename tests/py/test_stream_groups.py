"""Stream consumer groups over RESP with redis-py: blocking XREADGROUP, claim, pending, XINFO,
the hosted service's NOACK behaviour, Redis 8.2's XDELEX/XACKDEL, and durability."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from test_durability import restart_client, rewrite_kill_restart
from test_streams import blocked


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


NOGROUP_TEXT = "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"


@pytest.mark.parametrize("how", ["destroy", "del", "del-recreate"])
def test_losing_the_group_unblocks_xreadgroup_with_nogroup(server, r, how):
    """Redis 7.2+ (t_stream.c) re-runs the blocked XREADGROUP, which finds no group:
    `NOGROUP No such key ... in XREADGROUP with GROUP option`. (redis-server 7.0 answered
    `NOGROUP the consumer group this client was blocked on no longer exists` after DESTROY and
    `UNBLOCKED the stream key no longer exists` after DEL.)"""
    c = server.client(single_connection_client=True)
    r.xgroup_create("s", "g", id="$", mkstream=True)
    actions = {
        "destroy": lambda: r.xgroup_destroy("s", "g"),
        "del": lambda: r.delete("s"),
        "del-recreate": lambda: (r.delete("s"), r.xadd("s", {"f": "v"}, id="9-0")),
    }
    got = blocked(c, lambda c: c.xreadgroup("g", "c", {"s": ">"}, block=5000), actions[how])
    assert isinstance(got, redis.ResponseError) and str(got) == NOGROUP_TEXT
    # The connection goes on normally.
    assert c.ping() is True
    c.close()


def test_xackdel_on_a_missing_group_answers_per_id(r):
    """Hosted-service behaviour: no NOGROUP error; nothing to acknowledge, each id deleted."""
    for i in range(1, 4):
        r.xadd("s", {"i": str(i)}, id=f"{i}-0")
    assert r.execute_command("XACKDEL", "s", "nope", "IDS", 2, "1-0", "9-0") == [1, -1]
    assert r.execute_command("XACKDEL", "s", "nope", "KEEPREF", "IDS", 1, "2-0") == [1]
    assert r.execute_command("XACKDEL", "missing", "nope", "IDS", 1, "1-0") == [-1]
    assert r.xlen("s") == 1


def test_trim_layout_survives_restart_and_rewrite(durable_server):
    """The node layout (deleted entries included) comes back from the log and from a rewrite,
    so a later `~` trim removes what it would have removed before."""
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    for i in range(1, 251):
        c.xadd("t", {"f": "v" * (i % 7)}, id=f"{i}-0")
    c.xdel("t", *[f"{i}-0" for i in range(101, 150)])
    # Nodes 1..100, 101..200 (101..149 deleted), 201..250: dropping the first node would go
    # below 120, so nothing goes.
    c.xadd("t", {"f": "x"}, id="251-0", maxlen=120, approximate=True)
    assert c.xlen("t") == 202
    c.xadd("t", {"f": "y"}, id="252-0")
    # Exact: the first node, then 150-0 and 151-0 marked deleted inside the second.
    assert c.xtrim("t", maxlen=101, approximate=False) == 102

    def layout(c):
        return c.xlen("t"), c.xinfo_stream("t")["radix-tree-keys"], c.dump("t")

    before = layout(c)
    assert before[:2] == (101, 2)
    c.close()
    s.kill()
    c = restart_client(s)
    assert layout(c) == before
    c = rewrite_kill_restart(s, c)
    assert layout(c) == before
    assert c.xtrim("t", maxlen=2, approximate=True) == 49  # the node of 101..200 (152..200 live)
    c.close()
