"""Administration commands clients probe on a standalone server: ROLE, MODULE LIST (JSON built
in), ACL WHOAMI under both tokens, SAVE/BGSAVE on the append-only log."""

from __future__ import annotations

import time

import pytest
import redis

from test_durability import restart_client


def test_role_module_acl_readonly(server, r):
    assert r.execute_command("ROLE") == ["master", 0, []]
    mods = r.module_list()
    assert [m[b"name"] if b"name" in m else m["name"] for m in mods] in ([b"ReJSON"], ["ReJSON"])
    assert r.acl_whoami() == "default"
    with pytest.raises(redis.ResponseError, match="cluster support disabled"):
        r.execute_command("READONLY")
    with pytest.raises(redis.ResponseError, match="modules cannot be loaded"):
        r.execute_command("MODULE", "LOAD", "/tmp/x.so")


def test_acl_whoami_with_the_readonly_token(ro_server):
    c = ro_server.client(password=ro_server.readonly_token)
    assert c.acl_whoami() == "default_ro"
    with pytest.raises(redis.exceptions.NoPermissionError, match="acl\\|users"):
        c.acl_users()  # an administrative command: the read-only token may not list users


def test_save_and_bgsave_on_the_log(durable_server):
    s = durable_server("no")  # nothing is fsynced until SAVE asks for it
    c = s.client(single_connection_client=True)
    for i in range(100):
        c.set(f"k{i}", i)
    assert c.save() is True
    c.close()
    s.kill()
    c = restart_client(s)
    assert c.get("k99") == "99"
    assert c.bgsave() is True
    deadline = time.monotonic() + 20
    while c.info("persistence")["aof_rewrite_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.05)
    c.set("after", "1")
    c.close()
    s.kill()
    c = restart_client(s)
    assert c.get("k0") == "0"
    c.close()


def test_save_in_memory_is_a_clear_error(r):
    with pytest.raises(redis.ResponseError, match="in-memory"):
        r.save()


def test_client_kill_by_id_addr_and_filters(server):
    from rawresp import auth_conn

    me = server.client(single_connection_client=True)
    victim = auth_conn(server.port, server.token)
    vid = victim.cmd("CLIENT", "ID")
    assert me.execute_command("CLIENT", "KILL", "ID", vid) == 1
    assert victim.read_raw_until_close(timeout=5).endswith((b"<EOF>", b"<RST>"))  # the server closed it
    victim.close()
    other = auth_conn(server.port, server.token)
    info = other.cmd("CLIENT", "INFO")
    info = info.decode() if isinstance(info, bytes) else info
    addr = info.split(" ")[1].split("=", 1)[1]
    assert me.execute_command("CLIENT", "KILL", addr) == "OK"
    assert other.read_raw_until_close(timeout=5).endswith((b"<EOF>", b"<RST>"))
    other.close()
    with pytest.raises(redis.ResponseError, match="No such client"):
        me.execute_command("CLIENT", "KILL", "127.0.0.1:1")
    with pytest.raises(redis.ResponseError, match="client-id should be greater than 0"):
        me.execute_command("CLIENT", "KILL", "ID", "0")
    # SKIPME yes is the default of the filter form: killing by my own id kills nobody.
    my_id = me.client_id()
    assert me.execute_command("CLIENT", "KILL", "ID", my_id) == 0
    assert me.ping() is True
    me.close()


def test_client_reply_off_on_skip(server):
    from rawresp import auth_conn

    c = auth_conn(server.port, server.token)
    c.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\n")
    assert c.read_reply() == "OK"  # only ON answers
    c.send(b"CLIENT REPLY SKIP\r\nSET b 2\r\nGET b\r\n")
    assert c.read_reply() == b"2"  # SKIP and the SET after it answer nothing
    assert c.cmd("GET", "a") == b"1"
    c.close()
