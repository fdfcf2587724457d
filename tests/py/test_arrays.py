"""Redis 8.8 arrays (AR* commands) through redis-py over RESP2 and RESP3, and their durability."""

from __future__ import annotations

import pytest
import redis

from test_durability import restart_client, rewrite_kill_restart
from test_resp_redispy import err_text

TOP = 2**64 - 2  # the highest index


def ex(c, *args):
    return c.execute_command(*args)


def test_set_get_len_count_and_big_indexes(r):
    assert ex(r, "ARSET", "a", 0, "hello") == 1
    assert ex(r, "ARSET", "a", 2, "x", "y", "z") == 3
    assert ex(r, "ARGET", "a", 0) == "hello"
    assert ex(r, "ARGET", "a", 1) is None
    assert ex(r, "ARMGET", "a", 0, 1, 4) == ["hello", None, "z"]
    assert ex(r, "ARLEN", "a") == 5
    assert ex(r, "ARCOUNT", "a") == 4
    assert r.type("a") == "array"
    # Indexes past 2^63 travel as RESP integers, exactly.
    assert ex(r, "ARSET", "big", TOP, "top") == 1
    assert ex(r, "ARLEN", "big") == 2**64 - 1
    assert ex(r, "ARSCAN", "big", 0, TOP) == [[TOP, "top"]]
    assert ex(r, "ARGREP", "big", "-", "+", "EXACT", "top") == [TOP]
    assert ex(r, "ARCOUNT", "big") == 1


def test_redis_py_array_methods(r):
    """redis-py 8's own array methods (its argument forms and reply parsing)."""
    assert r.arset("p", 0, "a", "b") == 2
    assert r.armset("p", {5: "f", 9: "j"}) == 2
    assert r.arget("p", 5) == "f"
    assert r.armget("p", 0, 1, 2) == ["a", "b", None]
    assert r.argetrange("p", 4, 5) == [None, "f"]
    assert r.arscan("p", 0, 100, limit=3) == [[0, "a"], [1, "b"], [5, "f"]]
    assert r.arlen("p") == 10
    assert r.arcount("p") == 4
    assert r.ardel("p", 0, 42) == 1
    assert r.ardelrange("p", (8, 9)) == 1
    assert r.arinsert("p", "n") == 0
    assert r.arnext("p") == 1
    assert r.arseek("p", 20) == 1
    assert r.arring("q", 2, "x", "y", "z") == 0
    assert r.arinfo("p")["len"] == 6


def test_errors_match_redis(server, r):
    t = server.token
    assert err_text(server.port, t, "ARSET", "a", "-1", "v") == "ERR invalid array index"
    assert err_text(server.port, t, "ARSET", "a", str(2**64 - 1), "v") == "ERR invalid array index"
    assert err_text(server.port, t, "ARSET", "a", str(TOP), "v", "w") == "ERR array index overflow"
    assert err_text(server.port, t, "ARSET", "a", "1") == "ERR wrong number of arguments for 'arset' command"
    assert err_text(server.port, t, "ARMSET", "a", "1", "x", "2") == "ERR wrong number of arguments for 'armset' command"
    assert err_text(server.port, t, "ARGETRANGE", "a", "0", "1000000") == "ERR range exceeds maximum of 1000000 items"
    assert err_text(server.port, t, "AROP", "a", "0", "1", "AVG") == "ERR unknown operation"
    assert err_text(server.port, t, "ARINFO", "nokey") == "ERR no such key"
    assert err_text(server.port, t, "ARRING", "a", "0", "v") == "ERR size must be positive"
    assert err_text(server.port, t, "ARGREP", "a", "-", "+", "RE", "(x)\\1") == (
        "ERR regular expression backreferences are not supported"
    )
    # Bad input changed nothing.
    assert r.exists("a") == 0
    r.set("s", "v")
    assert err_text(server.port, t, "ARSET", "s", "0", "v").startswith("WRONGTYPE")
    assert err_text(server.port, t, "ARLEN", "s").startswith("WRONGTYPE")
    with pytest.raises(redis.ResponseError, match="invalid array index"):
        ex(r, "ARDEL", "a", "x")


def test_ranges_scan_grep_op(r):
    ex(r, "ARMSET", "m", 1, "apple", 3, "banana", 10, "7", 11, "2.5")
    assert ex(r, "ARGETRANGE", "m", 0, 3) == [None, "apple", None, "banana"]
    assert ex(r, "ARGETRANGE", "m", 3, 1) == ["banana", None, "apple"]
    assert ex(r, "ARSCAN", "m", 0, 100, "LIMIT", 2) == [[1, "apple"], [3, "banana"]]
    assert ex(r, "ARGREP", "m", "-", "+", "GLOB", "*an*", "OR", "MATCH", "pp") == [1, 3]
    assert ex(r, "ARGREP", "m", "+", "-", "RE", "^[0-9.]+$", "WITHVALUES") == [[11, "2.5"], [10, "7"]]
    assert ex(r, "ARGREP", "m", 0, 5, "EXACT", "APPLE", "NOCASE") == [1]
    assert ex(r, "AROP", "m", 0, 100, "SUM") == "9.5"
    assert ex(r, "AROP", "m", 0, 100, "MAX") == "7"
    assert ex(r, "AROP", "m", 0, 100, "OR") == 7 | 2
    assert ex(r, "AROP", "m", 0, 100, "USED") == 4
    assert ex(r, "AROP", "m", 0, 100, "MATCH", "apple") == 1
    assert ex(r, "AROP", "m", 0, 2, "MIN") is None
    assert ex(r, "ARDELRANGE", "m", 0, 5, 11, 10) == 4
    assert r.exists("m") == 0


def test_cursor_ring_and_lastitems(r):
    assert ex(r, "ARINSERT", "c", "a", "b") == 1
    assert ex(r, "ARNEXT", "c") == 2
    assert ex(r, "ARSEEK", "c", 10) == 1
    assert ex(r, "ARINSERT", "c", "x") == 10
    assert ex(r, "ARSEEK", "nokey", 10) == 0
    assert ex(r, "ARLASTITEMS", "c", 3) == [None, None, "x"]
    assert ex(r, "ARRING", "ring", 3, "1", "2", "3", "4") == 0
    assert ex(r, "ARLASTITEMS", "ring", 3) == ["2", "3", "4"]
    assert ex(r, "ARLASTITEMS", "ring", 3, "REV") == ["4", "3", "2"]
    assert ex(r, "ARRING", "ring", 2, "5") == 0
    assert ex(r, "ARGETRANGE", "ring", 0, 1) == ["5", "4"]
    assert ex(r, "ARSEEK", "c", 2**64 - 1) == 1
    assert ex(r, "ARNEXT", "c") is None
    with pytest.raises(redis.ResponseError, match="insert index overflow"):
        ex(r, "ARINSERT", "c", "y")


def test_arinfo_resp2_and_resp3(server, r):
    ex(r, "ARINSERT", "i", "a", "b", "c")
    info = r.arinfo("i")  # redis-py 8's own parser (RESP2 flat pairs to a dict)
    assert list(info) == ["count", "len", "next-insert-index", "slices", "directory-size", "super-dir-entries", "slice-size"]
    assert info["count"] == 3
    c3 = server.client(protocol=3)
    try:
        full = c3.execute_command("ARINFO", "i", "FULL")
        assert isinstance(full, dict) and len(full) == 12
        assert full["next-insert-index"] == 3
        assert full["slice-size"] == 4096
        assert full["avg-sparse-size"] == 4.0
        assert c3.execute_command("ARGET", "i", 9) is None
        assert c3.execute_command("ARSCAN", "i", 0, 1) == [[0, "a"], [1, "b"]]
        assert c3.execute_command("ARLEN", "i") == 3
    finally:
        c3.close()


def test_dump_refuses_and_copy_rename_work(r):
    ex(r, "ARSET", "d", 5, "v")
    with pytest.raises(redis.ResponseError, match="DUMP of an array value is not supported"):
        r.dump("d")
    assert r.copy("d", "d2") is True
    assert r.rename("d2", "d3") is True
    assert ex(r, "ARGET", "d3", 5) == "v"
    assert r.object("encoding", "d") == "sliced-array"


def test_arrays_survive_restart_and_rewrite(durable_server):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    ex(c, "ARSET", "a", 0, "x", "y")
    ex(c, "ARMSET", "a", TOP, "top", 1_000_000, "mid")
    ex(c, "ARINSERT", "q", "1", "2", "3")
    ex(c, "ARSEEK", "q", 7)
    ex(c, "ARRING", "ring", 3, "r1", "r2", "r3", "r4")
    ex(c, "ARDEL", "a", 1)
    ex(c, "ARSET", "ttl", 3, "t")
    c.expire("ttl", 1000)
    ex(c, "ARSET", "gone", 1, "g")
    ex(c, "ARDEL", "gone", 1)
    for _ in range(2):
        c.close()
        s.kill()
        c = restart_client(s)
        assert ex(c, "ARSCAN", "a", 0, TOP) == [[0, "x"], [1_000_000, "mid"], [TOP, "top"]]
        assert ex(c, "ARNEXT", "q") == 7
        assert ex(c, "ARNEXT", "ring") == 1
        assert ex(c, "ARLASTITEMS", "ring", 3) == ["r2", "r3", "r4"]
        assert 900 <= c.ttl("ttl") <= 1000
        assert c.exists("gone") == 0
        c = rewrite_kill_restart(s, c)
        assert ex(c, "ARSCAN", "a", 0, TOP) == [[0, "x"], [1_000_000, "mid"], [TOP, "top"]]
        assert ex(c, "ARNEXT", "q") == 7
        assert ex(c, "ARNEXT", "ring") == 1
        assert ex(c, "ARLASTITEMS", "ring", 3) == ["r2", "r3", "r4"]
        assert ex(c, "ARGET", "a", 1) is None
        assert 900 <= c.ttl("ttl") <= 1000
    c.close()
