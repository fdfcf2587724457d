"""Lua scripting with real clients: redis-py over RESP and `upstash-ratelimit` over REST."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
import redis
from upstash_ratelimit import FixedWindow, Ratelimit, SlidingWindow, TokenBucket
from upstash_redis import Redis


def test_register_script_evalsha_and_fallback(r):
    script = r.register_script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
    assert script(keys=["cnt"], args=["a"]) == ["cnt", "a", 1]
    r.script_flush()
    # redis-py retries with SCRIPT LOAD after NOSCRIPT
    assert script(keys=["cnt"], args=["b"]) == ["cnt", "b", 2]
    assert script.sha == hashlib.sha1(script.script.encode()).hexdigest()
    assert r.script_exists(script.sha) == [True]


def test_noscript_and_error_texts(r):
    with pytest.raises(redis.exceptions.NoScriptError, match="No matching script. Please use EVAL."):
        r.evalsha("0" * 40, 0)
    r.set("s", "abc")
    body = "local x = 1\nreturn redis.call('INCR', KEYS[1])"
    sha = hashlib.sha1(body.encode()).hexdigest()
    with pytest.raises(redis.exceptions.ResponseError) as e:
        r.eval(body, 1, "s")
    assert str(e.value) == f"value is not an integer or out of range script: {sha}, on @user_script:2."
    with pytest.raises(redis.exceptions.ResponseError, match="Script attempted to access nonexistent global variable 'os'"):
        r.eval("return os.getenv('HOME')", 0)
    # the connection and the VM keep working
    assert r.eval("return 1 + 1", 0) == 2


def test_script_is_atomic_and_logged_commands_replicate(r):
    r.eval("for i = 1, 100 do redis.call('RPUSH', KEYS[1], i) end", 1, "l")
    assert r.llen("l") == 100
    assert r.lrange("l", 0, 2) == ["1", "2", "3"]


@pytest.fixture
def busy_threshold(r):
    """Lowers busy-reply-threshold for one test (the server is shared), restoring it after."""
    old = r.config_get("busy-reply-threshold")["busy-reply-threshold"]
    r.config_set("busy-reply-threshold", 300)
    yield 300
    r.config_set("busy-reply-threshold", old)


def run_in_thread(fn):
    out: dict = {}

    def target():
        try:
            out["result"] = fn()
        except Exception as e:  # noqa: BLE001 - the test inspects it
            out["error"] = e

    th = threading.Thread(target=target, daemon=True)
    th.start()
    return th, out


def wait_until_busy(c, deadline_s: float = 10) -> str:
    """Pings until the server answers BUSY; returns the error text."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            c.ping()
        except redis.exceptions.ResponseError as e:
            return str(e)
        time.sleep(0.05)
    raise AssertionError("the server never answered BUSY")


def test_runaway_script_answers_busy_and_script_kill_stops_it(server, r, busy_threshold):
    looping = server.client()
    th, out = run_in_thread(lambda: looping.eval("while true do end", 0))
    other = server.client()
    assert wait_until_busy(other) == "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    # As Redis's scriptKill: FUNCTION KILL refuses a script with the BUSY text naming SCRIPT KILL.
    with pytest.raises(redis.exceptions.ResponseError, match="BUSY Redis is busy running a script. You can only call SCRIPT KILL"):
        other.function_kill()
    # A new connection is served (AUTH, then BUSY) while the script runs.
    late = server.client()
    with pytest.raises(redis.exceptions.ResponseError, match="BUSY"):
        late.ping()
    late.close()
    assert other.script_kill() is True
    th.join(10)
    assert not th.is_alive()
    assert "Script killed by user with SCRIPT KILL" in str(out.get("error"))
    assert other.ping() is True
    with pytest.raises(redis.exceptions.ResponseError, match="NOTBUSY No scripts in execution right now."):
        other.script_kill()


def test_script_that_wrote_is_unkillable_and_finishes(server, r, busy_threshold):
    body = """
    redis.call('SET', KEYS[1], 'written')
    local t0 = redis.call('TIME')
    local start = t0[1] * 1000000 + t0[2]
    repeat
      local t = redis.call('TIME')
    until (t[1] * 1000000 + t[2]) - start > 1500000
    return 'done'
    """
    looping = server.client()
    th, out = run_in_thread(lambda: looping.eval(body, 1, "unkillable"))
    other = server.client()
    wait_until_busy(other)
    with pytest.raises(redis.exceptions.ResponseError, match="UNKILLABLE Sorry the script already executed write commands"):
        other.script_kill()
    th.join(10)
    assert out.get("result") == "done", out
    assert other.get("unkillable") == "written"


def test_runaway_function_is_killed_with_function_kill(server, r, busy_threshold):
    r.function_load("#!lua name=spin\nredis.register_function('spin', function() while true do end end)", replace=True)
    looping = server.client()
    th, out = run_in_thread(lambda: looping.fcall("spin", 0))
    other = server.client()
    assert "You can only call FUNCTION KILL" in wait_until_busy(other)
    with pytest.raises(redis.exceptions.ResponseError, match="BUSY Redis is busy running a script. You can only call FUNCTION KILL"):
        other.script_kill()
    assert other.function_kill() in (True, "OK")
    th.join(10)
    # Redis 7.0 names SCRIPT KILL in this error whichever command killed it.
    assert "Script killed by user with SCRIPT KILL" in str(out.get("error"))
    r.function_delete("spin")


def test_functions_with_redis_py(r):
    code = """#!lua name=pylib
local function incr_by(keys, args)
  return redis.call('INCRBY', keys[1], args[1])
end
redis.register_function('py_incr', incr_by)
redis.register_function{function_name='py_get', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}, description='reads'}
"""
    assert r.function_load(code, replace=True) == "pylib"
    assert r.fcall("py_incr", 1, "fn-counter", 5) == 5
    assert r.fcall_ro("py_get", 1, "fn-counter") == "5"
    with pytest.raises(redis.exceptions.ResponseError, match="Write commands are not allowed from read-only scripts"):
        r.fcall_ro("py_incr", 1, "fn-counter", 1)
    libs = r.function_list(library="pylib", withcode=True)
    assert len(libs) == 1
    lib = dict(zip(libs[0][::2], libs[0][1::2]))
    assert lib["library_name"] == "pylib" and lib["engine"] == "LUA" and lib["library_code"] == code
    fns = {dict(zip(f[::2], f[1::2]))["name"]: dict(zip(f[::2], f[1::2])) for f in lib["functions"]}
    assert fns["py_get"]["description"] == "reads" and fns["py_get"]["flags"] == ["no-writes"]
    with pytest.raises(redis.exceptions.ResponseError, match="Library 'pylib' already exists"):
        r.function_load(code)
    assert r.function_delete("pylib") in (True, "OK")
    with pytest.raises(redis.exceptions.ResponseError, match="Function not found"):
        r.fcall("py_incr", 1, "fn-counter", 1)


def test_lua_libraries_bit_struct_cmsgpack(r):
    assert r.eval("return bit.tohex(bit.bor(0xf0, 0x0f))", 0) == "000000ff"
    assert r.eval("return {struct.unpack('>H', struct.pack('>H', 513))}", 0) == [513, 3]
    assert r.eval("return cmsgpack.unpack(cmsgpack.pack({1, 'two', {x = 3}}))[3].x", 0) == 3


def ratelimit(server, limiter, prefix: str) -> Ratelimit:
    client = Redis(url=server.url, token=server.token, rest_retries=0, allow_telemetry=False)
    return Ratelimit(redis=client, limiter=limiter, prefix=prefix)


@pytest.mark.parametrize(
    "name,limiter",
    [
        ("fixed", FixedWindow(max_requests=5, window=60)),
        ("sliding", SlidingWindow(max_requests=5, window=60)),
        ("bucket", TokenBucket(max_tokens=5, refill_rate=1, interval=60)),
    ],
)
def test_upstash_ratelimit_exact_counts(server, r, name, limiter):
    rl = ratelimit(server, limiter, prefix=f"py-{name}")
    allowed = [rl.limit("user").allowed for _ in range(7)]
    assert allowed == [True] * 5 + [False] * 2
    assert rl.get_remaining("user") == 0
    # the window (or the next token) resets within the next 60 s; the SDK reports Unix seconds
    assert time.time() - 1 < rl.get_reset("user") <= time.time() + 61
    # another identifier has its own budget
    assert rl.limit("other").allowed is True


def test_upstash_ratelimit_block_until_ready(server, r):
    rl = ratelimit(server, FixedWindow(max_requests=1, window=60), prefix="py-block")
    assert rl.block_until_ready("u", timeout=0.2).allowed is True
    start = time.monotonic()
    assert rl.block_until_ready("u", timeout=0.3).allowed is False
    assert time.monotonic() - start < 5
