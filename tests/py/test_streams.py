"""Streams over RESP with redis-py: the commands @upstash/realtime and simple consumers use."""

from __future__ import annotations

import threading
import time

import pytest
import redis


def test_xadd_xrange_xrevrange_xlen_xdel_xtrim(r):
    first = r.xadd("s", {"f": "1"})
    ms, seq = first.split("-")
    assert int(ms) > 1_700_000_000_000 and seq == "0"
    assert r.xadd("s", {"f": "2"}, id=f"{ms}-*") == f"{ms}-1"
    assert r.xadd("s", {"a": "x", "b": "y"}, id="99999999999999-5") == "99999999999999-5"
    assert r.xlen("s") == 3
    assert r.xrange("s", min=f"({first}", max="+") == [(f"{ms}-1", {"f": "2"}), ("99999999999999-5", {"a": "x", "b": "y"})]
    assert r.xrevrange("s", max="+", min="-", count=1) == [("99999999999999-5", {"a": "x", "b": "y"})]
    assert r.xrange("s", min=ms, max=ms) == [(first, {"f": "1"}), (f"{ms}-1", {"f": "2"})]  # bare ms ids
    with pytest.raises(redis.ResponseError, match="equal or smaller than the target stream top item"):
        r.xadd("s", {"f": "3"}, id="1-1")
    assert r.xlen("s") == 3
    assert r.xadd("s", {"f": "4"}, maxlen=2, approximate=False) is not None
    assert r.xlen("s") == 2
    assert r.xdel("s", "99999999999999-5", "1-1") == 1
    assert r.xtrim("s", maxlen=0, approximate=False) == 1
    assert r.xlen("s") == 0 and r.exists("s") == 1
    assert r.xadd("nope", {"f": "1"}, nomkstream=True) is None
    assert r.exists("nope") == 0
    r.set("str", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.xadd("str", {"f": "1"})


@pytest.mark.parametrize("protocol", [2, 3])
def test_xread_non_blocking_and_blocking(server, r, protocol):
    c = server.client(protocol=protocol)
    r.xadd("a", {"n": "1"}, id="1-0")
    r.xadd("b", {"n": "2"}, id="2-0")
    got = c.xread({"a": "0", "b": "0"})
    # redis-py shapes RESP2 as [[key, entries]] and RESP3 (a map) as {key: [entries]}.
    as_dict = {k: v[0] for k, v in got.items()} if isinstance(got, dict) else {k: v for k, v in got}
    assert set(as_dict) == {"a", "b"}
    assert [(e[0], e[1]) for e in as_dict["a"]] == [("1-0", {"n": "1"})]
    assert not c.xread({"a": "$"})
    # A blocked XREAD with $ wakes up for the next entry only.
    result: list = []
    t = threading.Thread(target=lambda: result.append(c.xread({"a": "$"}, block=5000)))
    t.start()
    time.sleep(0.2)
    r.xadd("a", {"n": "3"}, id="3-0")
    t.join(10)
    assert not t.is_alive()
    got = result[0]
    entries = got["a"][0] if isinstance(got, dict) else dict(got)["a"]
    assert [e[0] for e in entries] == ["3-0"]
    start = time.monotonic()
    assert not c.xread({"a": "$"}, block=100)
    assert time.monotonic() - start >= 0.09
    c.close()


def test_approximate_trimming_keeps_whole_nodes(r):
    """Redis packs entries into nodes of 100; `~` trimming only removes whole nodes."""
    for i in range(1, 112):
        r.xadd("s", {"f": "v"}, id=f"{i}-0")
    r.xadd("s", {"f": "v"}, id="112-0", maxlen=30, approximate=True)
    assert r.xlen("s") == 112  # removing the first node (100) would leave 12 < 30
    assert r.xtrim("s", maxlen=10, approximate=True, limit=99) == 0  # LIMIT below a node's size
    assert r.xtrim("s", maxlen=10, approximate=True) == 100
    assert r.xinfo_stream("s")["radix-tree-keys"] == 1
    r.xdel("s", "112-0")
    assert r.xtrim("s", minid="112-0", approximate=True) == 0  # the node's last id (deleted) is 112-0
    assert r.xtrim("s", minid="112-1", approximate=True) == 11
    assert r.xlen("s") == 0 and r.exists("s") == 1


def test_xadd_at_the_last_ids(r):
    r.xadd("s", {"f": "v"}, id="5-18446744073709551615")
    # Redis 7.2's text (redis-server 7.0 answered "Elements are too large to be stored").
    with pytest.raises(redis.ResponseError, match="^The ID specified in XADD is equal or smaller than the target stream top item$"):
        r.xadd("s", {"f": "v"}, id="5-*")
    assert r.xadd("s", {"f": "v"}, id="6-*") == "6-0"
    r.xadd("m", {"f": "v"}, id="18446744073709551615-18446744073709551615")
    for id in ("*", "18446744073709551615-*", "7-0"):
        with pytest.raises(redis.ResponseError, match="^The stream has exhausted the last possible ID, unable to add more items$"):
            r.xadd("m", {"f": "v"}, id=id)


def blocked(c, fn, action, delay=0.3):
    out: list = []

    def target():
        try:
            out.append(fn(c))
        except redis.ResponseError as e:
            out.append(e)

    t = threading.Thread(target=target)
    t.start()
    time.sleep(delay)
    action()
    t.join(10)
    assert not t.is_alive()
    return out[0]


def test_xread_plus_and_edge_ids_while_blocking(server, r):
    c = server.client()
    r.xadd("s", {"n": "1"}, id="1-0")
    r.xadd("s", {"n": "2"}, id="2-0")
    # `+` (Redis 7.4): the last entry, at once.
    assert c.xread({"s": "+"}, block=1000) == [["s", [("2-0", {"n": "2"})]]]
    # The last id itself: wait for the next entry.
    got = blocked(c, lambda c: c.xread({"s": "2-0"}, block=5000), lambda: r.xadd("s", {"n": "3"}, id="3-0"))
    assert got == [["s", [("3-0", {"n": "3"})]]]
    # `+` on a missing stream waits for its first entry.
    got = blocked(c, lambda c: c.xread({"new": "+"}, block=5000), lambda: r.xadd("new", {"n": "1"}, id="1-0"))
    assert got == [["new", [("1-0", {"n": "1"})]]]
    # The same stream twice: answered once per name.
    assert c.xread({"s": "1-0"}) == [["s", [("2-0", {"n": "2"}), ("3-0", {"n": "3"})]]]
    assert c.execute_command("XREAD", "STREAMS", "s", "s", "2-0", "1-0") == [
        ["s", [("3-0", {"n": "3"})]],
        ["s", [("2-0", {"n": "2"}), ("3-0", {"n": "3"})]],
    ]
    c.close()


def test_several_xadds_in_multi_reach_a_blocked_reader_together(server, r):
    c = server.client()

    def add_three():
        p = r.pipeline(transaction=True)
        for i in range(1, 4):
            p.xadd("s", {"n": str(i)}, id=f"{i}-0")
        p.execute()

    got = blocked(c, lambda c: c.xread({"s": "$"}, block=5000), add_three)
    assert got == [["s", [("1-0", {"n": "1"}), ("2-0", {"n": "2"}), ("3-0", {"n": "3"})]]]

    def add_and_delete():
        p = r.pipeline(transaction=True)
        p.xadd("s", {"n": "4"}, id="4-0")
        p.delete("s")
        p.execute()

    # Added and deleted in one transaction: nothing to answer; the reader times out.
    assert blocked(c, lambda c: c.xread({"s": "$"}, block=700), add_and_delete) == []
    c.close()
