"""Introspection as Redis 7.2 has it: INFO sections and fields, COMMAND LIST/INFO/GETKEYS[ANDFLAGS]
(differential against redis-server, and the command_info.tsv data file checked against it),
OBJECT IDLETIME not touched by TTL/TYPE/EXISTS, no-op SETBIT/BITFIELD, CLIENT LIST ID/TYPE, and
the RESP3 shapes of ZPOPMIN/ZPOPMAX with a count and PUBSUB NUMSUB."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from rawresp import auth_conn

REPO = Path(__file__).resolve().parents[2]


def raw(client, *args):
    """A command's reply as parsed from the wire (none of redis-py's per-command callbacks)."""
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_command(*args)
        reply = conn.read_response()
    finally:
        pool.release(conn)
    if isinstance(reply, redis.ResponseError):
        raise reply
    return reply


def as_map(x):
    """A RESP3 map, or its RESP2 flat-array form, as a dict."""
    return x if isinstance(x, dict) else dict(zip(x[::2], x[1::2]))


def rawtext(client, *args) -> str:
    return text(raw(client, *args))


def text(x):
    if isinstance(x, bytes):
        return x.decode()
    if isinstance(x, list):
        return [text(i) for i in x]
    if isinstance(x, set):
        return {text(i) for i in x}
    if isinstance(x, dict):
        return {text(k): text(v) for k, v in x.items()}
    return x


def fields(info_text: str) -> list[str]:
    return [line.split(":", 1)[0] for line in info_text.splitlines() if line and not line.startswith("#")]


def sections(info_text: str) -> list[str]:
    return [line[2:] for line in info_text.splitlines() if line.startswith("# ")]


# ---- INFO ---------------------------------------------------------------------------------


def test_info_sections_and_redis_py_parsing(r):
    info = r.info()
    assert info["cluster_enabled"] == 0
    assert info["redis_version"].startswith("7.2")
    assert info["modules"][0] == {
        "name": "ReJSON", "ver": 80200, "api": 1, "filters": 0, "usedby": "[]", "using": "[]", "options": "[]"
    }
    raw_default = rawtext(r, "INFO")
    assert sections(raw_default) == [
        "Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Errorstats",
        "Cluster", "Keyspace",
    ]
    assert sections(rawtext(r, "INFO", "default")) == sections(raw_default)
    everything = sections(rawtext(r, "INFO", "everything"))
    assert everything == sections(rawtext(r, "INFO", "all"))
    assert everything[7:11] == ["Modules", "Commandstats", "Errorstats", "Latencystats"]
    assert sections(rawtext(r, "INFO", "CPU", "cluster", "keyspace")) == ["CPU", "Cluster", "Keyspace"]
    assert sections(rawtext(r, "INFO", "module_list")) == ["Modules"]
    assert rawtext(r, "INFO", "nosuchsection") == ""
    assert float(r.info("cpu")["used_cpu_user"]) > 0
    assert r.info("server")["listener0"]["name"] == "tcp"


def test_info_counters(r):
    r.config_resetstat()
    r.set("k", "v")
    r.get("k")
    r.get("missing")
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError):
        r.lpush("k", "x")
    with pytest.raises(redis.ResponseError):
        r.execute_command("GET")
    stats = r.info("stats")
    assert (stats["keyspace_hits"], stats["keyspace_misses"]) == (1, 1)
    assert stats["total_error_replies"] == 3
    err = r.info("errorstats")
    assert err["errorstat_ERR"] == {"count": 2}
    assert err["errorstat_WRONGTYPE"] == {"count": 1}
    # An error a script raises from a failed redis.call is counted once.
    with pytest.raises(redis.ResponseError):
        r.eval("return redis.call('lpush', KEYS[1], 'x')", 1, "k")
    assert r.info("errorstats")["errorstat_WRONGTYPE"] == {"count": 2}
    r.set("t", "v", ex=100)
    ks = r.info("keyspace")["db0"]
    assert ks["keys"] == 2 and ks["expires"] == 1 and 99_000 <= ks["avg_ttl"] <= 100_000


def test_info_field_names_match_redis(server, reference_redis):
    """Every field redis-server 7.0 reports in INFO EVERYTHING (besides per-command/per-db lines)
    exists in stashd's, in the same sections; 7.2's additions are there too."""
    c = server.client()
    dynamic = ("cmdstat_", "latency_percentiles_usec_", "errorstat_", "db", "module", "listener")

    def by_section(t):
        out, cur = {}, None
        for line in t.splitlines():
            if line.startswith("# "):
                cur = line[2:]
                out[cur] = []
            elif line and cur:
                name = line.split(":", 1)[0]
                if not name.startswith(dynamic):
                    out[cur].append(name)
        return out

    ours = by_section(rawtext(c, "INFO", "everything"))
    theirs = by_section(rawtext(reference_redis, "INFO", "everything"))
    assert list(ours) == list(theirs)
    for section, names in theirs.items():
        missing = [n for n in names if n not in ours[section]]
        assert not missing, f"{section}: {missing}"
    for extra in ("pubsub_clients", "watching_clients", "total_watched_keys", "total_blocking_keys"):
        assert extra in ours["Clients"]
    for extra in ("eventloop_cycles", "acl_access_denied_auth", "client_output_buffer_limit_disconnections"):
        assert extra in ours["Stats"]
    c.close()


# ---- COMMAND ------------------------------------------------------------------------------


def _reference_rows(reference_redis):
    """name -> (flags, key-spec flags) for every command and subcommand of redis-server."""
    out = {}

    def walk(info):
        info = text(info)
        out[info[0]] = (set(info[2]), [sorted(as_map(s)["flags"]) for s in info[8]])
        for sub in info[9]:
            walk(sub)

    for info in raw(reference_redis, "COMMAND"):
        walk(info)
    return out


def test_command_info_flags_and_key_specs_match_redis(server, reference_redis):
    c = server.client()
    ref = _reference_rows(reference_redis)
    ours = {}
    for info in raw(c, "COMMAND"):
        info = text(info)
        ours[info[0]] = (set(info[2]), [sorted(as_map(s)["flags"]) for s in info[8]])
        for sub in info[9]:
            ours[sub[0]] = (set(sub[2]), [sorted(as_map(s)["flags"]) for s in sub[8]])
    shared = [n for n in ref if n in ours]
    assert len(shared) > 300
    diffs = {n: (ours[n], ref[n]) for n in shared if ours[n] != ref[n]}
    assert not diffs
    for name in ("sort", "sort_ro", "zunionstore", "xread", "georadius", "eval", "fcall", "migrate"):
        if name in ours:
            assert "movablekeys" in ours[name][0], name
    for name in ("publish", "subscribe", "psubscribe", "pubsub|numsub"):
        assert "pubsub" in ours[name][0], name
    assert {"no_auth", "loading", "stale"} <= ours["auth"][0]
    assert {"no_mandatory_keys", "skip_monitor"} <= ours["eval"][0]
    c.close()


def test_command_info_tsv_matches_redis(reference_redis):
    """crates/engine/src/command_info.tsv is what redis-server's COMMAND says."""
    ref = _reference_rows(reference_redis)
    rows = {}
    for line in (REPO / "crates/engine/src/command_info.tsv").read_text().splitlines():
        if line.startswith("#"):
            continue
        name, _legacy, flags, specs = line.split("\t")
        spec_flags = [sorted(s.split(";")[0].split(",")) for s in specs.split(" | ") if s]
        rows[name] = (set(flags.split()), spec_flags)
    assert rows == ref


GETKEYS_CASES = [
    ["get", "k"], ["set", "k", "v"], ["set", "k", "v", "GET"], ["del", "a", "b"], ["unlink", "a"],
    ["mset", "a", "1", "b", "2"], ["msetnx", "a", "1"], ["mget", "a", "b"], ["lmove", "a", "b", "LEFT", "RIGHT"],
    ["rpoplpush", "a", "b"], ["smove", "a", "b", "m"], ["rename", "a", "b"], ["copy", "a", "b"],
    ["sunionstore", "d", "a", "b"], ["sinterstore", "d", "a"], ["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
    ["zinterstore", "d", "1", "a"], ["zunion", "2", "a", "b"], ["zdiff", "2", "a", "b", "WITHSCORES"],
    ["zrangestore", "d", "s", "0", "-1"], ["eval", "return 1", "2", "a", "b", "x"], ["eval", "return 1", "0"],
    ["evalsha_ro", "abc", "1", "a"], ["fcall", "f", "2", "a", "b"], ["fcall_ro", "f", "1", "a"],
    ["xread", "COUNT", "1", "STREAMS", "s1", "s2", "0", "0"], ["xreadgroup", "GROUP", "g", "c", "STREAMS", "s", ">"],
    ["sort", "k"], ["sort", "k", "BY", "w_*", "GET", "o_*", "STORE", "d"], ["sort_ro", "k", "ALPHA"],
    ["georadius", "g", "0", "0", "1", "km"], ["georadius", "g", "0", "0", "1", "km", "STORE", "d"],
    ["georadiusbymember", "g", "m", "1", "km", "STOREDIST", "d"], ["geosearchstore", "d", "s", "FROMMEMBER", "m", "BYRADIUS", "1", "km"],
    ["lmpop", "2", "a", "b", "LEFT"], ["blmpop", "0", "2", "a", "b", "LEFT"], ["zmpop", "1", "a", "MIN"],
    ["bzmpop", "0", "1", "a", "MAX"], ["sintercard", "2", "a", "b"], ["zintercard", "1", "a"],
    ["blpop", "a", "b", "0"], ["brpoplpush", "a", "b", "0"], ["bitop", "AND", "d", "a", "b"],
    ["bitfield", "k", "GET", "u8", "0"], ["bitfield", "k", "SET", "u8", "0", "1"], ["bitfield_ro", "k", "GET", "u8", "0"],
    ["pfmerge", "d", "a", "b"], ["pfcount", "a", "b"], ["object", "encoding", "k"], ["memory", "usage", "k"],
    ["xinfo", "stream", "s"], ["xgroup", "create", "s", "g", "$"], ["hset", "h", "f", "v"], ["incr", "k"],
    ["expire", "k", "10"], ["touch", "a", "b"], ["exists", "a"], ["getdel", "k"], ["getex", "k"], ["append", "k", "v"],
    ["lpush", "l", "v"], ["linsert", "l", "BEFORE", "a", "b"], ["restore", "k", "0", "x"], ["dump", "k"],
    ["watch", "a", "b"], ["lcs", "a", "b"], ["smismember", "s", "a"], ["zadd", "z", "1", "m"],
]


def test_getkeysandflags_match_redis(server, reference_redis):
    c = server.client()
    for case in GETKEYS_CASES:
        ours = text(raw(c, "COMMAND", "GETKEYSANDFLAGS", *case))
        theirs = text(raw(reference_redis, "COMMAND", "GETKEYSANDFLAGS", *case))
        norm = lambda rep: [[k, sorted(f)] for k, f in rep]
        assert norm(ours) == norm(theirs), case
        assert text(raw(c, "COMMAND", "GETKEYS", *case)) == text(raw(reference_redis, "COMMAND", "GETKEYS", *case)), case
    for bad in (["ping"], ["get"], ["nosuch", "a"], ["eval", "x", "5", "a"]):
        try:
            theirs = ("ok", text(raw(reference_redis, "COMMAND", "GETKEYS", *bad)))
        except redis.ResponseError as e:
            theirs = ("err", str(e))
        try:
            ours = ("ok", text(raw(c, "COMMAND", "GETKEYS", *bad)))
        except redis.ResponseError as e:
            ours = ("err", str(e))
        assert ours == theirs, bad
    c.close()


def test_command_list_complete_and_filtered(server, reference_redis):
    c = server.client()
    ours = set(text(raw(c, "COMMAND", "LIST")))
    theirs = set(text(raw(reference_redis, "COMMAND", "LIST")))
    top = {n for n in ours if "|" not in n}
    # Every redis-server command and subcommand whose command stashd has.
    missing = {n for n in theirs if n.split("|")[0] in top and n not in ours}
    assert not missing
    assert {"config|get", "client|list", "object|encoding", "json.get"} <= ours
    assert len(top) == raw(c, "COMMAND", "COUNT")
    assert set(text(raw(c, "COMMAND", "LIST", "FILTERBY", "PATTERN", "xinfo*"))) == {
        n for n in theirs if n.startswith("xinfo")
    }
    for cat in ("hyperloglog", "geo", "scripting"):
        assert set(text(raw(c, "COMMAND", "LIST", "FILTERBY", "ACLCAT", cat))) >= {
            n for n in text(raw(reference_redis, "COMMAND", "LIST", "FILTERBY", "ACLCAT", cat)) if n in ours
        }
    rejson = set(text(raw(c, "COMMAND", "LIST", "FILTERBY", "MODULE", "ReJSON")))
    assert "json.set" in rejson and all(n.startswith("json.") for n in rejson)
    assert raw(c, "COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch") == []
    with pytest.raises(redis.ResponseError, match="syntax error"):
        c.execute_command("COMMAND", "LIST", "FILTERBY", "NAME", "x")
    c.close()


# ---- keys, bits, clients ------------------------------------------------------------------


def test_ttl_type_exists_do_not_touch(server, r):
    r.set("k", "v", ex=1000)
    server.debug_jump(20_000)
    r.ttl("k"), r.pttl("k"), r.type("k"), r.exists("k"), r.expiretime("k")
    assert r.object("idletime", "k") >= 20
    r.get("k")
    assert r.object("idletime", "k") < 20


def test_noop_setbit_and_bitfield_do_not_write(server, r):
    r.setbit("b", 5, 1)
    r.execute_command("BITFIELD", "f", "SET", "u8", "0", "9")
    w = server.client()
    w.watch("b", "f")
    r.config_resetstat()
    before = r.info("persistence")["rdb_changes_since_last_save"]
    assert r.setbit("b", 5, 1) == 1
    assert r.setbit("b", 2, 0) == 0
    assert r.execute_command("BITFIELD", "f", "SET", "u8", "0", "9", "INCRBY", "u4", "0", "0") == [9, 0]
    assert r.info("persistence")["rdb_changes_since_last_save"] == before
    p = w.pipeline(transaction=True)
    p.get("b")
    assert p.execute() == ["\x04"]  # WATCH not broken
    w.close()
    r.setbit("b", 2, 1)
    assert r.info("persistence")["rdb_changes_since_last_save"] == before + 1


def test_client_list_id_and_type(server, r):
    a, b = server.client(), server.client()
    a.client_setname("aa")
    b.client_setname("bb")
    ida, idb = a.client_id(), b.client_id()
    listed = r.execute_command("CLIENT", "LIST", "ID", idb, ida, 999999)
    names = [line.split(" name=")[1].split(" ")[0] for line in listed.strip().split("\n")]
    assert names == ["bb", "aa"]
    with pytest.raises(redis.ResponseError, match="Invalid client ID"):
        r.execute_command("CLIENT", "LIST", "ID", "x")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("CLIENT", "LIST", "ID")
    p = b.pubsub()
    p.subscribe("ch1", "ch2")
    p.psubscribe("p*")
    p.get_message(timeout=1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "pubsub_clients:1" not in rawtext(r, "INFO", "clients"):
        time.sleep(0.02)
    pubsub = r.execute_command("CLIENT", "LIST", "TYPE", "pubsub").strip().split("\n")
    assert len(pubsub) == 1 and "sub=2 psub=1" in pubsub[0] and " flags=P " in pubsub[0]
    normal = r.execute_command("CLIENT", "LIST", "TYPE", "normal")
    assert f"id={ida} " in normal and " flags=P " not in normal
    assert r.execute_command("CLIENT", "LIST", "TYPE", "replica") == ""
    with pytest.raises(redis.ResponseError, match="Unknown client type 'x'"):
        r.execute_command("CLIENT", "LIST", "TYPE", "x")
    p.close()
    a.close()
    b.close()


# ---- RESP3 shapes -------------------------------------------------------------------------


def test_resp3_zpop_count_pairs_and_numsub_flat(server):
    c = auth_conn(server.port, server.token)
    assert isinstance(c.cmd("HELLO", "3"), dict)
    c.cmd("DEL", "z")
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert c.cmd("ZPOPMIN", "z", "2") == [[b"a", 1.0], [b"b", 2.0]]
    assert c.cmd("ZPOPMAX", "z") == [b"c", 3.0]
    assert c.cmd("ZPOPMAX", "z", "5") == []
    assert c.cmd("PUBSUB", "NUMSUB", "x", "y") == [b"x", 0, b"y", 0]
    assert c.cmd("PUBSUB", "SHARDNUMSUB", "x") == [b"x", 0]
    c.close()
    r2 = server.client()
    r2.zadd("z", {"a": 1, "b": 2})
    assert raw(r2, "ZPOPMIN", "z", "2") == ["a", "1", "b", "2"]
    r2.close()
