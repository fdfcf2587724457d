"""Lua scripting with real clients: redis-py over RESP and `upstash-ratelimit` over REST."""

from __future__ import annotations

import hashlib
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


def test_runaway_script_is_stopped_and_server_recovers(server, r):
    start = time.monotonic()
    with pytest.raises(redis.exceptions.ResponseError, match="Script killed"):
        r.eval("while true do end", 0)
    assert time.monotonic() - start < 30
    assert r.ping() is True


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
