"""CLIENT PAUSE / UNPAUSE / UNBLOCK and the `timeout` setting, through redis-py and raw sockets
(behaviour checked against redis-server 7: which commands wait in WRITE mode, error texts)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from rawresp import RawConn, RespError, encode


def raw(server, timeout=5.0) -> RawConn:
    c = RawConn(server.port, timeout=timeout)
    c.cmd("AUTH", server.token)
    return c


def answers_within(conn: RawConn, args, seconds: float):
    """Sends `args`; the reply if it comes within `seconds`, else the string 'WAITING'."""
    conn.send(encode(*args))
    conn.sock.settimeout(seconds)
    try:
        return conn.read_reply()
    except socket.timeout:
        return "WAITING"
    finally:
        conn.sock.settimeout(10)


@pytest.fixture
def unpause(r):
    yield
    r.execute_command("CLIENT", "UNPAUSE")


def test_write_pause_holds_writes_and_may_replicate_commands(server, r, unpause):
    r.set("k", "v")
    cases = [
        (("GET", "k"), False),
        (("SET", "k", "1"), True),
        (("DEL", "nokey"), True),
        (("EVAL", "return 1", "0"), True),
        (("EVAL_RO", "return 1", "0"), False),
        (("EVAL", "#!lua flags=no-writes\nreturn 1", "0"), False),
        (("PUBLISH", "c", "m"), True),
        (("PFCOUNT", "hll"), True),
        (("FUNCTION", "FLUSH"), True),
        (("PING",), False),
        (("CLIENT", "ID"), False),
        (("SET", "k"), False),  # wrong arity answers at once
        (("NOSUCH",), False),
    ]
    for args, held in cases:
        c = raw(server)
        try:
            r.execute_command("CLIENT", "PAUSE", 2000, "WRITE")
            got = answers_within(c, args, 0.3)
            assert (got == "WAITING") == held, (args, got)
            r.execute_command("CLIENT", "UNPAUSE")
            if held:
                c.sock.settimeout(5)
                assert c.read_reply() != "WAITING"
        finally:
            c.close()


def test_all_pause_holds_everything_until_unpause(server, r, unpause):
    c = raw(server)
    r.execute_command("CLIENT", "PAUSE", 5000, "ALL")
    assert answers_within(c, ("PING",), 0.3) == "WAITING"
    r2 = server.client()
    t0 = time.monotonic()
    # The pausing client's own commands wait too (as in Redis), but UNPAUSE from a
    # connection that is not waiting lifts it.
    threading.Timer(0.3, lambda: server.client().execute_command("CLIENT", "UNPAUSE")).start()
    assert r2.get("nokey") is None
    assert time.monotonic() - t0 >= 0.25
    c.sock.settimeout(5)
    assert c.read_reply() == "PONG"
    c.close()


def test_pause_ends_by_itself_and_exec_of_writes_waits(server, r, unpause):
    c = raw(server)
    c.cmd("MULTI")
    r.execute_command("CLIENT", "PAUSE", 5000, "WRITE")
    # Queued write commands wait too in WRITE mode (Redis checks before queueing).
    r.execute_command("CLIENT", "UNPAUSE")
    assert c.cmd("SET", "k", "x") == "QUEUED"
    r.execute_command("CLIENT", "PAUSE", 400, "WRITE")
    t0 = time.monotonic()
    assert answers_within(c, ("EXEC",), 0.2) == "WAITING"
    c.sock.settimeout(5)
    assert c.read_reply() == ["OK"]
    assert time.monotonic() - t0 >= 0.35
    c.cmd("MULTI")
    c.cmd("GET", "k")
    r.execute_command("CLIENT", "PAUSE", 5000, "WRITE")
    assert answers_within(c, ("EXEC",), 1.0) == [b"x"]
    c.close()


def test_keys_do_not_expire_while_paused(server, r, unpause):
    r.set("exp", "v", px=100)
    r.execute_command("CLIENT", "PAUSE", 5000, "WRITE")
    time.sleep(0.3)
    assert r.get("exp") is None  # reads as expired...
    assert r.dbsize() == 1  # ...but stays until the pause ends
    r.execute_command("CLIENT", "UNPAUSE")
    assert r.exists("exp") == 0
    assert r.dbsize() == 0


def test_pause_errors_match_redis(r):
    cases = {
        ("CLIENT", "PAUSE", "x"): "timeout is not an integer or out of range",
        ("CLIENT", "PAUSE", "-1"): "timeout is negative",
        ("CLIENT", "PAUSE", "10", "BAD"): "CLIENT PAUSE mode must be WRITE or ALL",
        ("CLIENT", "PAUSE", "10", "WRITE", "x"): "unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.",
        ("CLIENT", "UNPAUSE", "x"): "wrong number of arguments for 'client|unpause' command",
        ("CLIENT", "UNBLOCK", "x"): "value is not an integer or out of range",
        ("CLIENT", "UNBLOCK", "1", "bad"): "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
    }
    for args, text in cases.items():
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*args)
        assert str(e.value) == text
    assert r.execute_command("CLIENT", "UNBLOCK", 999999) == 0


@pytest.mark.parametrize("reason", ["TIMEOUT", "ERROR"])
def test_unblock_answers_a_blocked_client(server, r, reason):
    c = raw(server)
    cid = c.cmd("CLIENT", "ID")
    c.send(encode("BLPOP", "nolist", "0"))
    deadline = time.monotonic() + 5
    got = 0
    while got == 0 and time.monotonic() < deadline:
        got = r.execute_command("CLIENT", "UNBLOCK", cid, reason)
        time.sleep(0.02)
    assert got == 1
    if reason == "TIMEOUT":
        assert c.read_reply() is None
    else:
        err = c.read_reply()
        assert isinstance(err, RespError) and str(err) == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    # Not blocked any more: 0, and the connection still works.
    assert r.execute_command("CLIENT", "UNBLOCK", cid) == 0
    assert c.cmd("PING") == "PONG"
    c.close()


def test_unblock_xread_and_redis_py(server, r):
    b = server.client(socket_timeout=5)
    cid = b.client_id()
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", b.xread({"nostream": "$"}, block=0)))
    t.start()
    deadline = time.monotonic() + 5
    while r.execute_command("CLIENT", "UNBLOCK", cid) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    t.join(5)
    assert out["r"] in (None, [], {})


def test_idle_timeout_closes_normal_clients_not_subscribers(server, r):
    r.config_set("timeout", 1)
    try:
        idle = raw(server)
        sub = raw(server)
        sub.cmd("SUBSCRIBE", "ch")
        time.sleep(2.3)
        assert idle.read_raw_until_close(timeout=2).endswith(b"<EOF>")
        assert r.publish("ch", "still-here") == 1
        assert sub.read_reply() == [b"message", b"ch", b"still-here"]
        sub.close()
    finally:
        r.config_set("timeout", 0)
    assert r.config_get("timeout") == {"timeout": "0"}
