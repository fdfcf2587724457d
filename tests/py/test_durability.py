"""Persistence: kill -9, SIGTERM and torn AOF tails, on a temporary --data-dir."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import redis

from conftest import StashdServer, new_token
from rawresp import RawConn, auth_conn

N = 2000


def write_dataset(c, n: int = N, pipelined: bool = False) -> None:
    if pipelined:
        p = c.pipeline(transaction=False)
        for i in range(n):
            p.set(f"key:{i}", f"value:{i}")
        assert p.execute() == [True] * n
    else:
        for i in range(n):
            assert c.set(f"key:{i}", f"value:{i}") is True
    assert c.hset("hash", mapping={"a": "1", "b": "2"}) == 2
    assert c.rpush("list", "x", "y", "z") == 3
    assert c.sadd("set", "m1", "m2") == 2
    assert c.zadd("zset", {"p": 1.5, "q": -2}) == 2
    assert c.incrby("counter", 7) == 7
    assert c.set("with-ttl", "t", ex=1000) is True
    assert c.set("deleted", "gone") is True
    assert c.delete("deleted") == 1
    assert c.set("overwritten", "old") is True
    assert c.set("overwritten", "new") is True
    db3 = c.execute_command("SELECT", 3)
    assert db3 in ("OK", True)
    assert c.set("in-db3", "3") is True
    c.execute_command("SELECT", 0)


def check_dataset(c, n: int = N, extra_keys: int = 0) -> None:
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.get(f"key:{i}")
    got = p.execute()
    missing = [i for i, v in enumerate(got) if v != f"value:{i}"]
    assert not missing, f"{len(missing)} of {n} keys missing/wrong after restart, first: {missing[:10]}"
    assert c.hgetall("hash") == {"a": "1", "b": "2"}
    assert c.lrange("list", 0, -1) == ["x", "y", "z"]
    assert c.smembers("set") == {"m1", "m2"}
    assert c.zrange("zset", 0, -1, withscores=True) == [("q", -2.0), ("p", 1.5)]
    assert c.get("counter") == "7"
    assert 900 <= c.ttl("with-ttl") <= 1000
    assert c.exists("deleted") == 0
    assert c.get("overwritten") == "new"
    assert c.dbsize() == n + 7 + extra_keys
    c.execute_command("SELECT", 3)
    assert c.get("in-db3") == "3"
    c.execute_command("SELECT", 0)


def restart_client(s: StashdServer):
    s.start()
    return s.client(single_connection_client=True)


def test_appendfsync_always_survives_kill9(durable_server):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    assert c.config_get("appendfsync") == {"appendfsync": "always"}
    write_dataset(c)
    c.close()
    s.kill()
    c = restart_client(s)
    check_dataset(c)
    c.close()


def test_appendfsync_everysec_survives_kill9_after_1_5s(durable_server):
    s = durable_server("everysec")
    c = s.client(single_connection_client=True)
    assert c.config_get("appendfsync") == {"appendfsync": "everysec"}
    write_dataset(c, pipelined=True)
    c.close()
    time.sleep(1.5)  # let the once-per-second fsync happen (not an expiry wait)
    s.kill()
    c = restart_client(s)
    check_dataset(c)
    c.close()


def test_graceful_sigterm_keeps_data(durable_server):
    s = durable_server("no")
    c = s.client(single_connection_client=True)
    write_dataset(c, pipelined=True)
    c.close()
    rc = s.terminate()
    assert rc == 0, f"stashd exited with {rc} on SIGTERM\n{s.stderr_text()}"
    c = restart_client(s)
    check_dataset(c)
    c.close()


def newest_incr_file(data_dir: Path) -> Path:
    files = [p for p in data_dir.rglob("incr.*.aof") if re.fullmatch(r"incr\.\d+\.aof", p.name)]
    assert files, f"no incr.*.aof under {data_dir}: {sorted(str(p) for p in data_dir.rglob('*'))}"
    return max(files, key=lambda p: int(p.name.split(".")[1]))


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff\x13garbage", b"*3\r\n$3\r\nSET\r\n$1\r\nk", b"\xde\xad\xbe\xef" * 3],
    ids=["binary", "partial-resp", "deadbeef"],
)
def test_torn_tail_is_tolerated(durable_server, garbage):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    write_dataset(c, n=300)
    c.close()
    s.kill()
    f = newest_incr_file(s.data_dir)
    size = f.stat().st_size
    assert size > 0
    with open(f, "ab") as fh:
        fh.write(garbage)
    c = restart_client(s)
    check_dataset(c, n=300)
    # the server keeps working after recovering, and new writes survive the next crash
    assert c.set("after-recovery", "yes") is True
    c.close()
    s.kill()
    c = restart_client(s)
    check_dataset(c, n=300, extra_keys=1)
    assert c.get("after-recovery") == "yes"
    c.close()


def test_flushall_is_durable(durable_server):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    c.set("a", "1")
    c.flushall()
    c.set("b", "2")
    c.close()
    s.kill()
    c = restart_client(s)
    assert c.keys("*") == ["b"]
    c.close()


def test_in_memory_keeps_nothing(tmp_path):
    s = StashdServer(token=new_token())
    s.start()
    try:
        c = s.client()
        c.set("x", "1")
        c.close()
        s.kill()
        s.start()
        c = s.client()
        assert c.dbsize() == 0
        c.close()
    finally:
        s.kill()


def test_configuration_from_environment(tmp_path):
    token = new_token()
    s = StashdServer(bare=True, debug=False)
    s.token = token
    s.extra_env = {
        "STASHD_BIND": "127.0.0.1",
        "STASHD_PORT": str(s.port),
        "STASHD_HTTP_PORT": str(s.http_port),
        "STASHD_DATA_DIR": str(tmp_path / "envdata"),
        "STASHD_APPENDFSYNC": "always",
        "STASHD_REDIS_TOKEN": token,
    }
    s.start()
    try:
        with RawConn(s.port) as raw:
            assert str(raw.cmd("GET", "k")) == "NOAUTH Authentication required."
        with auth_conn(s.port, token) as c:
            assert c.cmd("SET", "k", "v") == "OK"
            assert c.cmd("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"always"]
            rep = c.cmd("DEBUG", "JUMP-CLOCK", "1")
            assert "DEBUG command not allowed" in str(rep), rep
        s.kill()
        s.start()
        with auth_conn(s.port, token) as c:
            assert c.cmd("GET", "k") == b"v"
        assert any((tmp_path / "envdata").rglob("*")), "nothing written to STASHD_DATA_DIR"
    finally:
        s.kill()


def rewrite_kill_restart(s, c):
    """BGREWRITEAOF, wait for it to finish, kill -9 the server, restart it; a new client."""
    c.execute_command("BGREWRITEAOF")
    deadline = time.monotonic() + 20
    while c.info("persistence")["aof_rewrite_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.05)
    c.close()
    s.kill()
    return restart_client(s)


def test_functions_survive_restart_and_rewrite(durable_server):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    code = "#!lua name=durable\nredis.register_function('dur_get', function(keys) return redis.call('GET', keys[1]) end)"
    assert c.function_load(code) == "durable"
    c.set("k", "v")
    c.close()
    s.kill()
    c = restart_client(s)
    assert c.fcall("dur_get", 1, "k") == "v"
    # After a rewrite the library comes from the new base file.
    c = rewrite_kill_restart(s, c)
    assert c.fcall("dur_get", 1, "k") == "v"
    assert [lib[1] for lib in c.function_list()] == ["durable"]
    c.close()


def test_streams_survive_restart_and_rewrite(durable_server):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    ids = [c.xadd("st", {"n": str(i)}) for i in range(5)]  # server-chosen ids are logged explicitly
    c.xdel("st", ids[1])
    c.xadd("emptied", {"x": "1"}, id="7-1")
    c.xtrim("emptied", maxlen=0)
    c.close()
    s.kill()
    c = restart_client(s)
    assert [e[0] for e in c.xrange("st")] == [ids[0], ids[2], ids[3], ids[4]]
    assert c.xlen("emptied") == 0 and c.type("emptied") == "stream"
    c = rewrite_kill_restart(s, c)
    assert c.xrange("st") == [(ids[0], {"n": "0"}), (ids[2], {"n": "2"}), (ids[3], {"n": "3"}), (ids[4], {"n": "4"})]
    # The metadata came back too: the last id still bounds new explicit ids.
    with pytest.raises(redis.ResponseError, match="equal or smaller"):
        c.xadd("emptied", {"x": "2"}, id="7-1")
    assert c.xadd("emptied", {"x": "2"}, id="7-2") == "7-2"
    c.close()
