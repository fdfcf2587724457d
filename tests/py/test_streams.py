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
