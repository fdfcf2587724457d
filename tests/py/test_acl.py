"""ACL users through redis-py, redis-cli and the REST face: the rule language, key and channel
patterns, the ACL LOG, DRYRUN, REST tokens for users, CONFIG SET requirepass, MONITOR redaction,
CLIENT KILL USER, and users kept across restarts."""

from __future__ import annotations

import time

import pytest
import redis
import requests

from rawresp import RawConn, RespError, encode
from test_durability import restart_client


@pytest.fixture
def acl_server(server):
    c = server.client()
    yield server
    for u in c.acl_users():
        if u not in ("default", "default_ro"):
            c.acl_deluser(u)
    c.acl_log_reset()
    c.close()


def user_client(server, user: str, password: str, **kw) -> redis.Redis:
    return server.client(username=user, password=password, **kw)


def test_redis_py_acl_api(acl_server):
    r = acl_server.client()
    assert r.acl_setuser("bob", enabled=True, passwords=["+bobpw"], keys=["k*"], channels=["ch*"],
                         commands=["+get", "+set", "+@hash", "-hgetall", "+acl|whoami"]) is True
    u = r.acl_getuser("bob")
    assert "on" in u["flags"]
    assert len(u["passwords"]) == 1 and len(u["passwords"][0]) == 64
    assert u["keys"] == ["~k*"] and u["channels"] == ["&ch*"]
    assert set(u["categories"]) >= {"-@all", "+@hash"} and "+get" in u["commands"] and "-hgetall" in u["commands"]
    assert "bob" in r.acl_users()
    assert any(line.startswith("user bob on #") for line in r.acl_list())
    assert "geo" in r.acl_cat() and "geoadd" in r.acl_cat("geo")
    assert len(r.acl_genpass()) == 64 and len(r.acl_genpass(128)) == 32
    assert r.acl_dryrun("bob", "get", "k1") == "OK"
    assert r.acl_dryrun("bob", "lpush", "k1", "x") == "User bob has no permissions to run the 'lpush' command"

    bob = user_client(acl_server, "bob", "bobpw")
    assert bob.acl_whoami() == "bob"
    bob3 = user_client(acl_server, "bob", "bobpw", protocol=3)  # HELLO 3 AUTH bob bobpw
    assert bob3.acl_whoami() == "bob" and bob3.hset("k:h", "f", "v") == 1
    bob3.close()
    assert bob.set("k1", "v") is True and bob.get("k1") == "v"
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions to run the 'lpush' command"):
        bob.lpush("k1", "x")
    with pytest.raises(redis.exceptions.NoPermissionError, match="No permissions to access a key"):
        bob.get("other")
    # A rule change applies to connections already authenticated as the user.
    r.acl_setuser("bob", enabled=True, commands=["-get"])
    with pytest.raises(redis.exceptions.NoPermissionError):
        bob.get("k1")
    bob.close()
    # AUTH user pass on an existing connection; a wrong one is refused and changes nothing.
    # (over a raw connection: redis-py retries a connection after WRONGPASS)
    c = RawConn(acl_server.port)
    assert c.cmd("AUTH", acl_server.token) == "OK"
    assert str(c.cmd("AUTH", "bob", "wrong")).startswith("WRONGPASS")
    assert c.cmd("ACL", "WHOAMI") == b"default"
    assert c.cmd("AUTH", "bob", "bobpw") == "OK"
    assert c.cmd("ACL", "WHOAMI") == b"bob"
    c.close()
    assert r.acl_deluser("bob", "nobody") == 1
    assert r.acl_getuser("bob") is None
    r.close()


def test_rule_syntax_and_atomicity(acl_server):
    c = RawConn(acl_server.port)
    assert c.cmd("AUTH", acl_server.token) == "OK"
    assert c.cmd("ACL", "SETUSER", "al", "on", ">p1", "~a*", "%R~r*", "%W~w*", "&ch*", "+@read", "-keys",
                 "+client|setname", "+set") == "OK"
    before = c.cmd("ACL", "LIST")
    for rule, err in [
        ("bogus", "Syntax error"),
        ("+nosuch", "Unknown command or category name in ACL"),
        ("+@nosuch", "Unknown command or category name in ACL"),
        ("<nothere", "The password you are trying to remove from the user does not exist"),
        ("#abc", "The password hash must be exactly 64 characters"),
        ("%X~a", "Syntax error"),
    ]:
        reply = c.cmd("ACL", "SETUSER", "al", "+get", "-set", rule)
        assert isinstance(reply, RespError) and str(reply).startswith(f"ERR Error in ACL SETUSER modifier '{rule}': {err}"), reply
    assert c.cmd("ACL", "LIST") == before  # nothing changed, not even the valid rules before the bad one
    reply = c.cmd("ACL", "SETUSER", "bad user")
    assert str(reply) == "ERR Usernames can't contain spaces or null characters"
    assert c.cmd("ACL", "SETUSER", "al", "allkeys") == "OK"
    assert "Adding a pattern after the * pattern" in str(c.cmd("ACL", "SETUSER", "al", "~x"))
    assert c.cmd("ACL", "SETUSER", "al", "reset") == "OK"
    assert c.cmd("ACL", "LIST")[0] == b"user al off resetchannels -@all"
    c.close()


def test_key_and_channel_patterns(acl_server):
    r = acl_server.client()
    r.acl_setuser("kc", enabled=True, passwords=["+pw"], keys=["%R~r*", "%W~w*", "k*"], channels=["ch*"],
                  commands=["+@all"])
    u = user_client(acl_server, "kc", "pw")
    assert u.get("r1") is None  # read-only pattern: reads
    with pytest.raises(redis.exceptions.NoPermissionError, match="No permissions to access a key"):
        u.set("r1", "x")
    assert u.set("w1", "x") is True  # write-only pattern: writes
    with pytest.raises(redis.exceptions.NoPermissionError, match="No permissions to access a key"):
        u.get("w1")
    assert u.set("k1", "x") is True and u.get("k1") == "x"
    # A *STORE: the destination is written, the sources read.
    r.sadd("r-src", "a")
    assert u.sunionstore("w-dst", ["r-src"]) == 1
    with pytest.raises(redis.exceptions.NoPermissionError):
        u.sunionstore("r-dst", ["r-src"])
    # Keys inside EVAL's numkeys and inside redis.call.
    with pytest.raises(redis.exceptions.ResponseError, match="No permissions to access a key"):
        u.eval("return 1", 1, "other")
    assert u.eval("return redis.call('GET', KEYS[1])", 1, "k1") == "x"
    with pytest.raises(redis.exceptions.ResponseError, match="ACL failure in script: No permissions to access a key"):
        u.eval("return redis.call('GET','other')", 0)
    assert u.publish("ch1", "m") == 0
    with pytest.raises(redis.exceptions.NoPermissionError, match="No permissions to access a channel"):
        u.publish("other", "m")
    c = RawConn(acl_server.port)
    assert c.cmd("AUTH", "kc", "pw") == "OK"
    assert c.cmd("SUBSCRIBE", "ch1")[0] == b"subscribe"
    assert "No permissions to access a channel" in str(c.cmd("SUBSCRIBE", "other"))
    assert c.cmd("PSUBSCRIBE", "ch*")[0] == b"psubscribe"  # a pattern must be one of the user's, as is
    assert "No permissions to access a channel" in str(c.cmd("PSUBSCRIBE", "c*"))
    c.close()
    u.close()
    r.close()


def test_acl_log_contexts_and_no_clear_text_passwords(acl_server):
    r = acl_server.client()
    r.acl_log_reset()
    r.acl_setuser("lg", enabled=True, passwords=["+pw"], keys=["*"], commands=["+get", "+multi", "+exec", "+eval"])
    c = RawConn(acl_server.port)
    assert c.cmd("AUTH", "lg", "pw") == "OK"
    assert "NOPERM" in str(c.cmd("SET", "a", "1"))
    c.send(encode("MULTI") + encode("LPUSH", "a", "1") + encode("EXEC"))
    assert c.read_reply() == "OK"
    assert "NOPERM" in str(c.read_reply())
    assert str(c.read_reply()).startswith("EXECABORT")
    reply = c.cmd("EVAL", "return redis.call('DEL', 'a')", 0)
    assert str(reply).startswith("ERR ACL failure in script: User lg has no permissions to run the 'del' command"), reply
    assert str(c.cmd("AUTH", "lg", "secret-that-is-wrong")).startswith("WRONGPASS")
    c.close()
    entries = r.acl_log()
    by = {(e["reason"], e["context"], e["object"]) for e in entries}
    assert ("command", "toplevel", "set") in by
    assert ("command", "multi", "lpush") in by
    assert ("command", "lua", "del") in by
    assert ("auth", "toplevel", "AUTH") in by
    assert all(e["username"] == "lg" for e in entries)
    assert "secret-that-is-wrong" not in repr(entries)
    assert all("entry-id" in e and "timestamp-created" in e for e in entries)
    assert len(r.acl_log(count=1)) == 1
    assert r.acl_log_reset() is True and r.acl_log() == []
    r.close()


def test_slowlog_never_shows_secrets(acl_server):
    r = acl_server.client()
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.acl_setuser("slow", enabled=True, passwords=["+slowlog-secret-1"])
        c = RawConn(acl_server.port)
        assert c.cmd("AUTH", "slow", "slowlog-secret-1") == "OK"
        c.close()
        entries = r.slowlog_get(128)
        assert any("acl" in str(e["command"]).lower() for e in entries)
        assert "slowlog-secret-1" not in repr(entries)
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
        r.close()


def test_monitor_never_shows_secrets(acl_server):
    m = RawConn(acl_server.port)
    assert m.cmd("AUTH", acl_server.token) == "OK"
    assert m.cmd("MONITOR") == "OK"
    r = acl_server.client()
    r.acl_setuser("mon", enabled=True, passwords=["+monitor-secret-1"], commands=["+@all"], keys=["*"])
    h = RawConn(acl_server.port)
    assert isinstance(h.cmd("HELLO", 2, "AUTH", "mon", "monitor-secret-1"), list)
    assert h.cmd("AUTH", "mon", "monitor-secret-1") == "OK"
    h.close()
    r.set("after-secrets", "1")
    seen = b""
    deadline = time.monotonic() + 5
    while b"after-secrets" not in seen and time.monotonic() < deadline:
        seen += m.read_raw_until_close(timeout=0.5)
    m.close()
    r.close()
    assert b"after-secrets" in seen
    assert b"monitor-secret-1" not in seen
    assert b'"AUTH" "(redacted)" "(redacted)"' in seen or b'"auth" "(redacted)"' in seen.lower()


def test_rest_token_for_a_user(acl_server):
    r = acl_server.client()
    r.acl_setuser("api", enabled=True, passwords=["+apipw"], keys=["app:*"], commands=["+get", "+set"])
    token = r.execute_command("ACL", "RESTTOKEN", "api", "apipw")
    assert isinstance(token, str) and len(token) >= 40
    raw = RawConn(acl_server.port)
    assert raw.cmd("AUTH", acl_server.token) == "OK"
    assert str(raw.cmd("ACL", "RESTTOKEN", "api", "wrong")).startswith("WRONGPASS")
    raw.close()
    url = acl_server.url
    h = {"Authorization": f"Bearer {token}"}
    assert requests.post(url, json=["SET", "app:1", "v"], headers=h, timeout=5).json() == {"result": "OK"}
    assert requests.post(url, json=["GET", "app:1"], headers=h, timeout=5).json() == {"result": "v"}
    resp = requests.post(url, json=["DEL", "app:1"], headers=h, timeout=5)
    assert resp.status_code == 400 and resp.json()["error"] == "NOPERM User api has no permissions to run the 'del' command"
    resp = requests.post(url, json=["GET", "other"], headers=h, timeout=5)
    assert resp.json()["error"] == "NOPERM No permissions to access a key"
    resp = requests.post(url + "/pipeline", json=[["GET", "app:1"], ["KEYS", "*"]], headers=h, timeout=5)
    assert resp.json()[0] == {"result": "v"} and "NOPERM" in resp.json()[1]["error"]
    # The token acts as the user as it is now; a new password (or deletion) revokes it.
    r.acl_setuser("api", enabled=True, reset_passwords=True, passwords=["+newpw"])
    assert requests.post(url, json=["GET", "app:1"], headers=h, timeout=5).status_code == 401
    r.close()


def test_rest_subscriptions_follow_the_users_channels(acl_server):
    r = acl_server.client()
    r.acl_setuser("sub", enabled=True, passwords=["+subpw"], channels=["ch*"], commands=["+subscribe"])
    token = r.execute_command("ACL", "RESTTOKEN", "sub", "subpw")
    h = {"Authorization": f"Bearer {token}"}
    ok = requests.post(acl_server.url + "/subscribe/ch1", headers=h, timeout=5, stream=True)
    assert ok.status_code == 200
    ok.close()
    for path in ("/subscribe/other", "/psubscribe/ch*"):
        denied = requests.post(acl_server.url + path, headers=h, timeout=5, stream=True)
        assert denied.status_code == 403 and "NOPERM" in denied.json()["error"], path
        denied.close()
    r.close()


def test_client_kill_user_and_deluser_disconnects(acl_server):
    r = acl_server.client()
    r.acl_setuser("victim", enabled=True, passwords=["+pw"], commands=["+@all"], keys=["*"])
    a, b = RawConn(acl_server.port), RawConn(acl_server.port)
    assert a.cmd("AUTH", "victim", "pw") == "OK" and b.cmd("AUTH", "victim", "pw") == "OK"
    other = RawConn(acl_server.port)
    assert other.cmd("AUTH", acl_server.token) == "OK"
    assert sum(1 for c in r.client_list() if c["user"] == "victim") == 2
    assert r.execute_command("CLIENT", "KILL", "USER", "victim") == 2
    assert a.read_raw_until_close(timeout=5).endswith((b"<EOF>", b"<RST>"))
    assert other.cmd("PING") == "PONG"
    c = RawConn(acl_server.port)
    assert c.cmd("AUTH", "victim", "pw") == "OK"
    assert r.acl_deluser("victim") == 1
    assert c.read_raw_until_close(timeout=5).endswith((b"<EOF>", b"<RST>"))
    for x in (a, b, c, other):
        x.close()
    r.close()


def test_config_set_requirepass_is_the_standard_token():
    from conftest import StashdServer, new_token

    s = StashdServer(token=new_token())
    s.start()
    try:
        r = s.client()
        new = new_token()
        assert r.config_set("requirepass", new) is True
        assert r.config_get("requirepass") == {"requirepass": new}
        c = RawConn(s.port)
        assert str(c.cmd("AUTH", s.token)).startswith("WRONGPASS")
        assert c.cmd("AUTH", new) == "OK" and c.cmd("PING") == "PONG"
        c.close()
        assert requests.post(s.url, json=["PING"], headers={"Authorization": f"Bearer {new}"}, timeout=5).json() == {"result": "PONG"}
        assert requests.post(s.url, json=["PING"], headers={"Authorization": f"Bearer {s.token}"}, timeout=5).status_code == 401
        r.close()
    finally:
        s.stop()


def test_users_survive_restart_and_log_rewrite(durable_server):
    s = durable_server("always")
    r = s.client()
    r.acl_setuser("keep", enabled=True, passwords=["+keeppw"], keys=["k*"], commands=["+get", "+set"])
    token = r.execute_command("ACL", "RESTTOKEN", "keep", "keeppw")
    assert r.bgrewriteaof()
    r.close()
    s.kill()  # kill -9
    r = restart_client(s)
    u = r.acl_getuser("keep")
    assert u is not None and "on" in u["flags"] and u["keys"] == ["~k*"]
    k = user_client(s, "keep", "keeppw")
    assert k.set("k1", "v") is True
    with pytest.raises(redis.exceptions.NoPermissionError):
        k.delete("k1")
    k.close()
    h = {"Authorization": f"Bearer {token}"}
    assert requests.post(s.url, json=["GET", "k1"], headers=h, timeout=5).json() == {"result": "v"}
    assert (s.data_dir / "users.acl").read_text().count("user keep on #") == 1
    r.close()
