"""redis-py against the RESP face."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from rawresp import RawConn, RespError, auth_conn


def err_text(port: int, token: str, *args) -> str:
    """Full error line (with its ERR/WRONGTYPE prefix) for a command, via a raw socket."""
    with auth_conn(port, token) as c:
        rep = c.cmd(*args)
    assert isinstance(rep, RespError), f"{args!r} did not fail: {rep!r}"
    return str(rep)


# ---- strings & keys --------------------------------------------------------


def test_ping_echo(r):
    assert r.ping() is True
    assert r.echo("hi there") == "hi there"


def test_strings_basics(r):
    assert r.set("s", "hello") is True
    assert r.get("s") == "hello"
    assert r.append("s", " world") == 11
    assert r.strlen("s") == 11
    assert r.getrange("s", 0, 4) == "hello"
    assert r.setrange("s", 6, "WORLD") == 11
    assert r.get("s") == "hello WORLD"
    assert r.get("missing") is None
    assert r.mset({"a": "1", "b": "2", "c": "3"}) is True
    assert r.mget("a", "b", "missing", "c") == ["1", "2", None, "3"]
    assert r.incr("a") == 2
    assert r.incrby("a", 10) == 12
    assert r.decr("a") == 11
    assert r.decrby("a", 20) == -9
    assert r.incrbyfloat("b", 0.5) == 2.5
    assert r.get("b") == "2.5"
    assert r.getset("c", "x") == "3"
    assert r.getdel("c") == "x"
    assert r.exists("c") == 0
    assert r.setnx("n", "1") is True
    assert r.setnx("n", "2") is False
    assert r.get("n") == "1"


def test_binary_safe_values(server):
    c = server.client(decode_responses=False)
    try:
        c.flushall()
        blob = bytes(range(256)) + b"\r\n\x00end"
        assert c.set(b"bin\x00key", blob) is True
        assert c.get(b"bin\x00key") == blob
        assert c.strlen(b"bin\x00key") == len(blob)
    finally:
        c.close()


def test_keys_basics(r):
    r.mset({"k1": "a", "k2": "b", "other": "c"})
    assert r.exists("k1", "k2", "nope") == 2
    assert sorted(r.keys("k*")) == ["k1", "k2"]
    assert r.type("k1") == "string"
    assert r.type("nope") == "none"
    assert r.rename("k1", "k3") is True
    assert r.get("k3") == "a"
    assert r.renamenx("k3", "k2") is False
    assert r.delete("k2", "k3", "nope") == 2
    assert r.dbsize() == 1
    assert r.unlink("other") == 1
    assert r.dbsize() == 0


def test_set_options(r):
    assert r.set("k", "v1", nx=True) is True
    assert r.set("k", "v2", nx=True) is None
    assert r.get("k") == "v1"
    assert r.set("k", "v3", xx=True) is True
    assert r.set("absent", "v", xx=True) is None
    assert r.exists("absent") == 0
    assert r.set("k", "v4", get=True) == "v3"
    assert r.get("k") == "v4"
    assert r.set("k", "v5", ex=100) is True
    assert 99_000 <= r.pttl("k") <= 100_000
    assert r.set("k", "v6", keepttl=True) is True
    assert 99_000 <= r.pttl("k") <= 100_000
    assert r.set("k", "v7") is True
    assert r.ttl("k") == -1
    assert r.set("k", "v8", px=5000) is True
    assert 4_000 <= r.pttl("k") <= 5_000
    assert r.set("nx-get", "a", nx=True, get=True) is None
    assert r.get("nx-get") == "a"


def test_set_option_errors(server):
    p, t = server.port, server.token
    assert err_text(p, t, "SET", "k", "v", "NX", "XX") == "ERR syntax error"
    assert err_text(p, t, "SET", "k", "v", "EX", "0") == "ERR invalid expire time in 'set' command"
    assert err_text(p, t, "SET", "k", "v", "EX", "abc") == "ERR value is not an integer or out of range"
    assert err_text(p, t, "SET", "k", "v", "BOGUS") == "ERR syntax error"


def test_incr_errors(server, r):
    p, t = server.port, server.token
    r.set("big", "9223372036854775807")
    assert err_text(p, t, "INCR", "big") == "ERR increment or decrement would overflow"
    r.set("small", "-9223372036854775808")
    assert err_text(p, t, "DECR", "small") == "ERR increment or decrement would overflow"
    r.set("str", "abc")
    assert err_text(p, t, "INCR", "str") == "ERR value is not an integer or out of range"
    r.set("float", "1.5")
    assert err_text(p, t, "INCR", "float") == "ERR value is not an integer or out of range"
    # value unchanged after the failures
    assert r.get("big") == "9223372036854775807"


def test_wrongtype_text(server, r):
    r.rpush("list", "a")
    r.set("str", "x")
    wt = "WRONGTYPE Operation against a key holding the wrong kind of value"
    assert err_text(server.port, server.token, "GET", "list") == wt
    assert err_text(server.port, server.token, "LPUSH", "str", "a") == wt
    assert err_text(server.port, server.token, "HSET", "str", "f", "v") == wt
    with pytest.raises(redis.ResponseError, match="WRONGTYPE|wrong kind of value"):
        r.incr("list")


def test_unknown_command_text(server):
    assert (
        err_text(server.port, server.token, "FOOBAR", "a", "b")
        == "ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' "
    )
    assert (
        err_text(server.port, server.token, "nosuchcmd")
        == "ERR unknown command 'nosuchcmd', with args beginning with: "
    )


def test_arity_text(server):
    assert (
        err_text(server.port, server.token, "GET")
        == "ERR wrong number of arguments for 'get' command"
    )
    assert (
        err_text(server.port, server.token, "get", "a", "b")
        == "ERR wrong number of arguments for 'get' command"
    )
    assert (
        err_text(server.port, server.token, "HSET", "h", "f")
        == "ERR wrong number of arguments for 'hset' command"
    )


# ---- hashes / lists / sets / zsets ----------------------------------------


def test_hashes(r):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert r.hset("h", "a", "10") == 0
    assert r.hget("h", "a") == "10"
    assert r.hget("h", "zz") is None
    assert r.hgetall("h") == {"a": "10", "b": "2"}
    assert r.hlen("h") == 2
    assert r.hexists("h", "b") is True
    assert r.hincrby("h", "b", 5) == 7
    assert r.hincrbyfloat("h", "f", 1.25) == 1.25
    assert sorted(r.hkeys("h")) == ["a", "b", "f"]
    assert sorted(r.hvals("h")) == ["1.25", "10", "7"]
    assert r.hmget("h", "a", "nope", "b") == ["10", None, "7"]
    assert r.hsetnx("h", "a", "x") == 0
    assert r.hdel("h", "a", "b", "f", "nope") == 3
    assert r.exists("h") == 0
    assert r.hgetall("h") == {}


def test_lists(r):
    assert r.rpush("l", "a", "b", "c") == 3
    assert r.lpush("l", "z") == 4
    assert r.lrange("l", 0, -1) == ["z", "a", "b", "c"]
    assert r.llen("l") == 4
    assert r.lindex("l", 1) == "a"
    assert r.lindex("l", -1) == "c"
    assert r.lset("l", 0, "Z") is True
    assert r.lpop("l") == "Z"
    assert r.rpop("l") == "c"
    assert r.lrange("l", 0, -1) == ["a", "b"]
    assert r.lrem("l", 0, "a") == 1
    assert r.rpop("l") == "b"
    assert r.exists("l") == 0
    assert r.lpop("l") is None
    r.rpush("l2", *[str(i) for i in range(10)])
    assert r.ltrim("l2", 2, 4) is True
    assert r.lrange("l2", 0, -1) == ["2", "3", "4"]


def test_sets(r):
    assert r.sadd("s", "a", "b", "c", "a") == 3
    assert r.smembers("s") == {"a", "b", "c"}
    assert r.sismember("s", "a") == 1
    assert r.sismember("s", "x") == 0
    assert r.scard("s") == 3
    assert r.srem("s", "a", "x") == 1
    r.sadd("t", "b", "d")
    assert r.sinter("s", "t") == {"b"}
    assert r.sunion("s", "t") == {"b", "c", "d"}
    assert r.sdiff("s", "t") == {"c"}


def test_zsets(r):
    assert r.zadd("z", {"a": 1, "b": 2.5, "c": -1}) == 3
    assert r.zadd("z", {"a": 3}) == 0
    assert r.zscore("z", "b") == 2.5
    assert r.zscore("z", "nope") is None
    assert r.zrange("z", 0, -1) == ["c", "b", "a"]
    assert r.zrange("z", 0, -1, withscores=True) == [("c", -1.0), ("b", 2.5), ("a", 3.0)]
    assert r.zrevrange("z", 0, 0) == ["a"]
    assert r.zcard("z") == 3
    assert r.zrank("z", "a") == 2
    assert r.zincrby("z", 10, "c") == 9.0
    assert r.zrangebyscore("z", 2, 4) == ["b", "a"]
    assert r.zcount("z", "-inf", "+inf") == 3
    assert r.zrem("z", "a", "nope") == 1
    assert r.zrange("z", 0, -1, withscores=True) == [("b", 2.5), ("c", 9.0)]


# ---- transactions & pipelines --------------------------------------------


def test_multi_exec(r):
    p = r.pipeline(transaction=True)
    p.set("tx", "1").incr("tx").get("tx").incr("tx")
    assert p.execute() == [True, 2, "2", 3]
    assert r.get("tx") == "3"


def test_multi_exec_raw_queued_and_runtime_error(server, r):
    with auth_conn(server.port, server.token) as c:
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("SET", "a", "x") == "QUEUED"
        assert c.cmd("INCR", "a") == "QUEUED"
        assert c.cmd("GET", "a") == "QUEUED"
        rep = c.cmd("EXEC")
        assert rep[0] == "OK"
        assert isinstance(rep[1], RespError)
        assert str(rep[1]) == "ERR value is not an integer or out of range"
        assert rep[2] == b"x"
        # a command error at queue time aborts the transaction
        assert c.cmd("MULTI") == "OK"
        assert c.cmd("SET", "b", "1") == "QUEUED"
        bad = c.cmd("GET")
        assert isinstance(bad, RespError)
        assert str(bad) == "ERR wrong number of arguments for 'get' command"
        ex = c.cmd("EXEC")
        assert isinstance(ex, RespError)
        assert str(ex) == "EXECABORT Transaction discarded because of previous errors."
        assert r.exists("b") == 0
        nested = c.cmd("EXEC")
        assert str(nested) == "ERR EXEC without MULTI"


def test_watch_abort_two_clients(server, r):
    other = server.client()
    try:
        r.set("w", "start")
        with r.pipeline(transaction=True) as p:
            p.watch("w")
            assert p.get("w") == "start"
            other.set("w", "changed-by-other")
            p.multi()
            p.set("w", "mine")
            with pytest.raises(redis.WatchError):
                p.execute()
        assert r.get("w") == "changed-by-other"
        # without interference the same sequence commits
        with r.pipeline(transaction=True) as p:
            p.watch("w")
            p.multi()
            p.set("w", "mine")
            assert p.execute() == [True]
        assert r.get("w") == "mine"
    finally:
        other.close()


def test_pipeline_non_transactional(r):
    p = r.pipeline(transaction=False)
    for i in range(200):
        p.set(f"p:{i}", i)
    for i in range(200):
        p.get(f"p:{i}")
    res = p.execute()
    assert res[:200] == [True] * 200
    assert res[200:] == [str(i) for i in range(200)]


def test_pipeline_errors_are_per_command(r):
    r.set("str", "x")
    p = r.pipeline(transaction=False)
    p.set("ok", "1").lpush("str", "a").get("ok")
    res = p.execute(raise_on_error=False)
    assert res[0] is True
    assert isinstance(res[1], redis.ResponseError)
    assert "WRONGTYPE" in str(res[1])
    assert res[2] == "1"


def test_select_db_isolation(server, r):
    db1 = server.client(db=1)
    try:
        db1.flushdb()
        r.set("shared-name", "db0")
        assert db1.get("shared-name") is None
        db1.set("shared-name", "db1")
        assert r.get("shared-name") == "db0"
        assert db1.get("shared-name") == "db1"
        assert db1.dbsize() == 1
        r.flushdb()
        assert db1.get("shared-name") == "db1"
        assert err_text(server.port, server.token, "SELECT", "16") == "ERR DB index is out of range"
    finally:
        db1.close()


# ---- expiry (via DEBUG JUMP-CLOCK, never sleeping) -------------------------


def test_expiry_with_jump_clock(server, r):
    assert r.set("e", "v", ex=100) is True
    r.set("keep", "v", ex=1000)
    r.set("forever", "v")
    assert r.ttl("e") == 100
    assert r.expire("forever2", 10) is False
    server.debug_jump(50_000)
    assert 49_000 <= r.pttl("e") <= 50_000
    assert r.get("e") == "v"
    server.debug_jump(50_001)
    assert r.get("e") is None
    assert r.exists("e") == 0
    assert r.ttl("e") == -2
    assert r.get("keep") == "v"
    assert 899 <= r.ttl("keep") <= 900
    assert r.ttl("forever") == -1
    # pexpire + persist
    assert r.pexpire("forever", 1500) is True
    assert r.persist("forever") is True
    assert r.ttl("forever") == -1
    assert r.expire("forever", 2) is True
    server.debug_jump(2_001)
    assert r.get("forever") is None


def test_expired_keys_are_not_scanned_or_counted(server, r):
    for i in range(20):
        r.set(f"tmp:{i}", "v", px=1000)
    r.set("stay", "v")
    server.debug_jump(1_001)
    assert r.dbsize() in (1, 21)  # DBSIZE may count not-yet-reaped keys, like Redis
    assert sorted(r.keys("*")) == ["stay"]
    assert sorted(r.scan_iter(count=5)) == ["stay"]
    assert r.exists(*[f"tmp:{i}" for i in range(20)]) == 0


def test_debug_requires_flag_is_on_here(server):
    # the fixture starts with --enable-debug-command, so DEBUG JUMP-CLOCK answers OK
    with auth_conn(server.port, server.token) as c:
        assert c.cmd("DEBUG", "JUMP-CLOCK", "0") == "OK"


# ---- blocking ----------------------------------------------------------------


def test_blpop_woken_by_other_client(server, r):
    waiter = server.client(socket_timeout=15)
    result: dict = {}

    def run():
        t0 = time.monotonic()
        try:
            result["value"] = waiter.blpop(["q1", "q2"], timeout=10)
        except Exception as e:  # noqa: BLE001
            result["error"] = e
        result["elapsed"] = time.monotonic() - t0

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(0.5)
    assert th.is_alive(), f"BLPOP returned without any data: {result}"
    assert r.lpush("q2", "hello") == 1
    th.join(10)
    waiter.close()
    assert not th.is_alive(), "BLPOP was not woken by LPUSH within 10s"
    assert "error" not in result, result
    assert result["value"] == ("q2", "hello")
    assert result["elapsed"] < 5
    assert r.exists("q2") == 0


def test_blpop_timeout_returns_none(server, r):
    t0 = time.monotonic()
    assert r.blpop(["never"], timeout=0.3) is None
    elapsed = time.monotonic() - t0
    assert 0.2 <= elapsed < 5


def test_blpop_immediate_when_data(r):
    r.rpush("ready", "a", "b")
    assert r.blpop(["empty", "ready"], timeout=1) == ("ready", "a")


# ---- RESP3 -------------------------------------------------------------------


def test_resp3(server, r):
    c = redis.Redis(
        host="127.0.0.1",
        port=server.port,
        password=server.token,
        protocol=3,
        decode_responses=True,
        socket_timeout=10,
    )
    try:
        c.hset("h3", mapping={"a": "1", "b": "2"})
        c.zadd("z3", {"m": 1.5})
        c.zadd("z3", {"n": 2.5})
        assert c.hgetall("h3") == {"a": "1", "b": "2"}
        assert c.zscore("z3", "m") == 1.5
        assert c.smembers("nope") == set()
        assert c.zrange("z3", 0, -1) == ["m", "n"]
            # RESP3: redis-py returns [member, score] pairs as lists (as it does against Redis 7)
        assert [tuple(p) for p in c.zrange("z3", 0, -1, withscores=True)] == [("m", 1.5), ("n", 2.5)]
        assert c.incrbyfloat("f3", 0.5) == 0.5
        assert c.get("nope") is None
        assert c.ping() is True
    finally:
        c.close()
    with RawConn(server.port) as raw:
        hello = raw.cmd("HELLO", "3", "AUTH", "default", server.token)
        assert isinstance(hello, dict), hello
        assert hello[b"proto"] == 3
        assert raw.cmd("HGETALL", "h3") == {b"a": b"1", b"b": b"2"}
        assert raw.cmd("ZSCORE", "z3", "m") == 1.5
        # RESP3 WITHSCORES replies are nested [member, double] pairs (Redis >= 6.2)
        assert raw.cmd("ZRANGE", "z3", "0", "-1", "WITHSCORES") == [[b"m", 1.5], [b"n", 2.5]]
        assert raw.cmd("CONFIG", "GET", "appendfsync").keys() == {b"appendfsync"}
        assert raw.cmd("GET", "nope") is None
        raw.send(b"*2\r\n$3\r\nGET\r\n$4\r\nnope\r\n")
        assert raw._line() == b"_"


# ---- auth / client / info / config -------------------------------------------


def test_auth_required(server):
    with RawConn(server.port) as c:
        rep = c.cmd("GET", "k")
        assert isinstance(rep, RespError)
        assert str(rep) == "NOAUTH Authentication required."
        bad = c.cmd("AUTH", "definitely-wrong")
        assert isinstance(bad, RespError)
        assert str(bad).startswith("WRONGPASS")
        assert c.cmd("AUTH", server.token) == "OK"
        assert c.cmd("PING") == "PONG"
    with RawConn(server.port) as c:
        assert c.cmd("AUTH", "default", server.token) == "OK"
        assert c.cmd("PING") == "PONG"
    unauth = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        unauth.get("k")
    unauth.close()
    wrong = redis.Redis(host="127.0.0.1", port=server.port, password="nope", socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        wrong.ping()
    wrong.close()


def test_client_setname_getname(r):
    assert r.client_getname() is None
    assert r.client_setname("my-conn") is True
    assert r.client_getname() == "my-conn"
    assert isinstance(r.client_id(), int)


def test_info(r):
    info = r.info()
    assert "redis_version" in info
    assert "redis_version" in r.info("server")
    assert "redis_version" not in r.info("keyspace")


def test_config_get_appendfsync(r):
    cfg = r.config_get("appendfsync")
    assert list(cfg) == ["appendfsync"]
    assert cfg["appendfsync"] in ("always", "everysec", "no")


def test_scan_covers_all_keys(r):
    names = {f"scan:{i}" for i in range(500)}
    p = r.pipeline(transaction=False)
    for n in names:
        p.set(n, "1")
    p.sadd("a-set", "x")
    p.execute()
    seen = []
    cursor = 0
    for _ in range(10_000):  # bounded
        cursor, keys = r.scan(cursor=cursor, count=37)
        seen.extend(keys)
        if cursor == 0:
            break
    else:
        pytest.fail("SCAN never returned cursor 0")
    assert set(seen) == names | {"a-set"}
    assert len(seen) == len(set(seen)), "SCAN returned duplicates without a rehash"
    assert set(r.scan_iter(match="scan:1*", count=50)) == {n for n in names if n.startswith("scan:1")}
    assert set(r.scan_iter(_type="set")) == {"a-set"}
