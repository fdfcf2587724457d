"""Scripting, functions and MULTI edge cases, each compared with redis-server where Redis has
the behaviour (checked against redis-server 7.0.15)."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from differential import run


def reference_resp3(reference_redis) -> redis.Redis:
    kw = reference_redis.connection_pool.connection_kwargs
    return redis.Redis(host=kw["host"], port=kw["port"], protocol=3, decode_responses=True)


ZSET_CALLS = [
    "return redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES')",
    "return redis.call('ZREVRANGE', 'z', 0, -1, 'WITHSCORES')",
    "return redis.call('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'WITHSCORES')",
    "return redis.call('ZREVRANGEBYSCORE', 'z', '+inf', '-inf', 'WITHSCORES')",
    "return redis.call('ZUNION', 2, 'z', 'z2', 'WITHSCORES')",
    "return redis.call('ZINTER', 2, 'z', 'z2', 'WITHSCORES')",
    "return redis.call('ZRANDMEMBER', 'z2', 1, 'WITHSCORES')",
    "return redis.call('HRANDFIELD', 'h', 1, 'WITHVALUES')",
    "return redis.call('HGETALL', 'h')",
    "return redis.call('XREAD', 'STREAMS', 's', '0')",
    "redis.setresp(3); local r = redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES'); return {#r, r[1][1]}",
]


def test_script_replies_keep_resp2_shapes_on_a_resp3_connection(server, r, reference_redis):
    ours = server.client(protocol=3)
    ref = reference_resp3(reference_redis)
    try:
        for c in (ours, ref):
            c.flushall()
            c.zadd("z", {"a": 1.5, "b": 2})
            c.zadd("z2", {"a": 1})
            c.hset("h", "f", "v")
            c.xadd("s", {"k": "v"}, id="1-1")
        for body in ZSET_CALLS:
            assert run(ours, ["EVAL", body, 0]) == run(ref, ["EVAL", body, 0]), body
        # The flat shape a job queue reads pairs from (node-redis speaks RESP3 by default).
        assert ours.eval(ZSET_CALLS[0], 0) == ["a", "1.5", "b", "2"]
        # The caller's own commands still get RESP3 shapes.
        assert ours.zrange("z", 0, 0, withscores=True) == ref.zrange("z", 0, 0, withscores=True)
    finally:
        ours.close()
        ref.close()


def both(server, reference_redis):
    ours = server.client(single_connection_client=True)
    kw = reference_redis.connection_pool.connection_kwargs
    ref = redis.Redis(host=kw["host"], port=kw["port"], protocol=2, decode_responses=True, single_connection_client=True)
    for c in (ours, ref):
        c.flushall()
        c.function_flush()
    return ours, ref


def norm(v):
    """Error elements of an EXEC reply as text (exception objects never compare equal)."""
    if isinstance(v, Exception):
        return ["error", str(v)]
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    return v


def same(ours, ref, cmds):
    got = [norm(run(ours, c)) for c in cmds]
    want = [norm(run(ref, c)) for c in cmds]
    assert got == want
    return got


def test_multi_config_error_and_save_refused(server, r, reference_redis):
    ours, ref = both(server, reference_redis)
    got = same(ours, ref, [["MULTI"], ["CONFIG", "SET", "nosuch", "x"], ["SET", "a", "1"], ["EXEC"]])
    assert got[-1] == ["ok", [["error", "Unknown option or number of arguments for CONFIG SET - 'nosuch'"], "OK"]]
    got = same(ours, ref, [["MULTI"], ["SAVE"], ["EXEC"]])
    assert got[1] == ["err", "Command not allowed inside a transaction"]
    assert got[2] == ["err", "Transaction discarded because of previous errors."]


def test_flushall_breaks_watch_on_several_keys(server, r, reference_redis):
    ours, ref = both(server, reference_redis)
    kw = reference_redis.connection_pool.connection_kwargs
    for c, other in ((ours, server.client()), (ref, redis.Redis(host=kw["host"], port=kw["port"]))):
        c.set("w1", "1")
        c.set("w2", "2")
        c.execute_command("WATCH", "w1", "w2", "missing")
        other.flushall()
        c.execute_command("MULTI")
        c.execute_command("SET", "w1", "x")
        assert c.execute_command("EXEC") is None
        assert c.get("w1") is None
        other.close()


def test_fcall_arguments_and_case_insensitive_names(server, r, reference_redis):
    ours, ref = both(server, reference_redis)
    lib = "#!lua name=caselib\nredis.register_function('myfunc', function(k, a) return #k end)"
    got = same(
        ours,
        ref,
        [
            ["FUNCTION", "LOAD", lib],
            ["FCALL", "myfunc", 0],
            ["FCALL", "MyFunc", 1, "k"],
            ["FCALL", "MYFUNC", -1],
            ["FCALL", "myfunc", 2, "a"],
            ["FCALL", "myfunc", "x"],
            ["FCALL", "myfunc", "1.5"],
            ["FCALL", "myfunc", "99999999999999999999"],
            ["FCALL", "nosuch", "x"],
            ["FCALL", "nosuch", -1],
            ["FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('MyFunc', function() return 1 end)"],
            ["FUNCTION", "LOAD", "#!lua name=dup\nredis.register_function('f', function() end)\nredis.register_function('F', function() end)"],
            ["EVALSHA", "0" * 40, "x"],
            ["EVALSHA", "0" * 40, -1],
        ],
    )
    assert got[2] == ["ok", 1]
    assert got[10] == ["err", "Function MyFunc already exists"]


def test_script_error_texts_match_redis(server, r, reference_redis):
    ours, ref = both(server, reference_redis)
    cmds = []
    for g in ("print", "loadfile", "dofile", "setfenv"):
        cmds += [["EVAL", f"return {g}", 0], ["EVAL", f"{g}('x')", 0]]
    # 8000 values exceed Lua's C stack in unpack; 7990 fit.
    for n in (8000, 7990):
        cmds.append(["EVAL", f"local t = {{}} for i = 1, {n} do t[i] = i end return redis.call('RPUSH', 'l{n}', unpack(t))", 0])
    got = same(ours, ref, cmds)
    assert "Script attempted to access nonexistent global variable 'print'" in got[0][1]
    assert got[-1] == ["ok", 7990] and "too many results to unpack" in got[-2][1]


def test_time_is_frozen_during_a_script(server, r, reference_redis):
    ours, ref = both(server, reference_redis)
    body = """
    local before = redis.call('GET', KEYS[1])
    local t0 = redis.call('TIME')
    repeat local t = redis.call('TIME') until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 200000
    return {before, redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[1]), redis.call('GET', KEYS[2])}
    """
    for c in (ours, ref):
        c.set("gone", "x", px=1)
    time.sleep(0.05)
    got = []
    for c in (ours, ref):
        c.set("k", "v", px=100)
        got.append(norm(run(c, ["EVAL", body, 2, "k", "gone"])))
    assert got[0] == got[1]
    # Expired before the script: invisible; expiring during it: still there (time stands still).
    assert got[0] == ["ok", ["v", "v", 1, None]]
    assert ours.get("k") is None


def test_self_referencing_table_reply_is_capped(r):
    reply = r.eval("local t = {}; t[1] = t; return t", 0)
    depth = 0
    while isinstance(reply, list):
        reply = reply[0]
        depth += 1
    # Redis nests about 8000 levels deep; stashd stops at 256, with Redis's error.
    assert depth == 256
    assert isinstance(reply, redis.exceptions.ResponseError) and "reached lua stack limit" in str(reply)
    assert r.ping() is True


def test_script_timeout_inside_exec(server, r):
    old = r.config_get("busy-reply-threshold")["busy-reply-threshold"]
    r.config_set("busy-reply-threshold", 300)
    try:
        tx = server.client(single_connection_client=True)
        out: dict = {}

        def exec_tx():
            try:
                tx.execute_command("MULTI")
                tx.execute_command("SET", "before", "1")
                tx.execute_command("EVAL", "while true do end", 0)
                out["result"] = tx.execute_command("EXEC")
            except Exception as e:  # noqa: BLE001 - the test inspects it
                out["error"] = e

        th = threading.Thread(target=exec_tx, daemon=True)
        th.start()
        other = server.client()
        end = time.monotonic() + 10
        busy = None
        while time.monotonic() < end and busy is None:
            try:
                other.ping()
                time.sleep(0.05)
            except redis.exceptions.ResponseError as e:
                busy = str(e)
        assert busy is not None and busy.startswith("BUSY")
        # Only the script's own writes make it unkillable, not the SET queued before it (as
        # redis-server 7.0.15: OK, then EXEC answers [OK, the kill error]).
        assert other.script_kill() is True
        th.join(10)
        assert not th.is_alive()
        result = out.get("result")
        assert result is not None and result[0] in (True, "OK", b"OK")
        assert "Script killed by user with SCRIPT KILL" in str(result[1])
        other.close()
        tx.close()
    finally:
        r.config_set("busy-reply-threshold", old)
