"""RedisJSON: the `upstash-redis` SDK's `redis.json.*` over REST, redis-py's `r.json()` over
RESP (RESP2 and RESP3), and JSON documents surviving restarts and log rewrites."""

from __future__ import annotations

import time

import pytest
import redis
from redis.commands.json.path import Path as RPath
from upstash_redis import Redis
from upstash_redis.errors import UpstashError

from test_durability import restart_client, rewrite_kill_restart

DOC = {"name": "stashd", "n": 1, "f": 1.5, "ok": True, "tags": ["a", "b"], "nested": {"n": 2, "s": "x"}, "none": None}


@pytest.fixture(params=["base64", None], ids=["base64", "plain"])
def u(request, server, r):
    client = Redis(url=server.url, token=server.token, rest_retries=0, allow_telemetry=False, rest_encoding=request.param)
    yield client
    client.close()


# ---- upstash-redis SDK (REST) --------------------------------------------------------------


def test_sdk_set_get_and_reads(u, r):
    j = u.json
    assert j.set("d", "$", DOC) is True
    assert u.type("d") == "json"
    assert j.get("d") == [DOC]  # the SDK asks for "$" by default
    assert j.get("d", ".") == DOC
    assert j.get("d", "$..n") == [2, 1]  # deeper matches first, as the hosted service
    assert j.get("d", "$.n", "$.tags") == {"$.n": [1], "$.tags": [["a", "b"]]}
    assert j.get("d", ".nested.s") == "x"
    assert j.get("missing") is None
    assert j.set("d", "$.n", 9, nx=True) is False
    assert j.set("d", "$.added", "text", nx=True) is True  # the SDK quotes Python strings
    assert j.set("d", "$.absent", 1, xx=True) is False
    assert j.get("d", "$.added") == ["text"]
    with pytest.raises(UpstashError, match="does not exist"):
        j.set("d", "$.missing.child", 1)  # the hosted service refuses a member under a missing parent
    assert j.type("d", "$.f") == ["number"]
    assert j.type("d", "$..n") == ["integer", "integer"]
    assert j.strlen("d", "$.name") == [6]
    assert j.objkeys("d", "$.nested") == [["n", "s"]]
    assert j.objlen("d", "$.nested") == [2]
    assert j.objlen("d", "$.tags") == [None]
    assert j.resp("d", "$.tags") == [["[", "a", "b"]]
    assert j.mget(["d", "missing"], "$.n") == [[1], None]
    # the same document over RESP
    assert r.json().get("d", "$.name") == ["stashd"]


def test_sdk_writes(u):
    j = u.json
    j.set("w", "$", DOC)
    assert j.numincrby("w", "$.n", 2) == [3]
    assert j.numincrby("w", "$.f", 1) == [2.5]
    assert j.nummultby("w", "$..n", 2) == [4, 6]
    assert j.numincrby("w", "$.name", 1) == [None]
    assert j.strappend("w", "$.name", "-db") == [9]
    assert j.toggle("w", "$.ok") == [False]
    assert j.toggle("w", "$.name") == [None]
    assert j.arrappend("w", "$.tags", "c", 1) == [4]
    assert j.arrindex("w", "$.tags", "c") == [2]
    assert j.arrindex("w", "$.tags", "b", 0, 1) == [-1]
    assert j.arrinsert("w", "$.tags", 0, "z") == [5]
    assert j.arrlen("w", "$.tags") == [5]
    assert j.arrpop("w", "$.tags") == [1]
    assert j.arrpop("w", "$.tags", 0) == ["z"]
    assert j.arrtrim("w", "$.tags", 0, 1) == [2]
    assert j.get("w", "$.tags") == [["a", "b"]]
    assert j.merge("w", "$.nested", {"s": None, "t": [1]}) is True
    assert j.get("w", "$.nested") == [{"n": 4, "t": [1]}]
    assert j.mset([("w", "$.n", 100), ("w2", "$", {"k": "v"})]) is True
    assert j.mget(["w", "w2"], "$..n") == [[4, 100], []]
    assert j.clear("w", "$.nested") == 1
    assert j.delete("w", "$.none") == 1
    assert j.forget("w", "$.ok") == 1
    assert j.get("w", ".") == {"name": "stashd-db", "n": 100, "f": 2.5, "tags": ["a", "b"], "nested": {}}
    assert j.delete("w2") == 1
    assert u.exists("w2") == 0


def test_sdk_errors_change_nothing(u):
    j = u.json
    j.set("e", "$", {"a": [1]})
    with pytest.raises(UpstashError, match="new objects must be created at the root"):
        j.set("nokey", "$.a", 1)
    with pytest.raises(UpstashError, match="index out of bounds"):
        j.arrinsert("e", "$.a", 5, 1)
    with pytest.raises(UpstashError, match="could not perform this operation on a key that doesn't exist"):
        j.arrappend("nokey", "$", 1)
    with pytest.raises(UpstashError, match="expected value at line 1 column 1"):
        u.execute(["JSON.SET", "e", "$.a", "@bad"])
    assert j.get("e", "$") == [{"a": [1]}]
    u.set("plain", "x")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        j.get("plain")
    assert j.mget(["plain", "e"], "$.a") == [None, [[1]]]


def test_sdk_pipeline_and_transaction(u):
    p = u.pipeline()
    p.json.set("p", "$", {"a": [1], "n": 1})
    p.json.arrappend("p", "$.a", 2)
    p.json.numincrby("p", "$.n", 0.5)
    p.json.get("p", "$")
    assert p.exec() == [True, [2], [1.5], [{"a": [1, 2], "n": 1.5}]]
    m = u.multi()
    m.json.toggle("p", "$.missing")
    m.json.type("p", "$.n")
    assert m.exec() == [[], ["number"]]


# ---- redis-py over RESP ----------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # redis-py marks nummultby deprecated
@pytest.mark.parametrize("protocol", [2, 3])
def test_redispy_json(server, protocol):
    c = server.client(protocol=protocol)
    c.flushall()
    js = c.json()
    assert js.set("r", RPath.root_path(), {"a": 1, "b": [1, 2], "s": "x", "o": {"k": True}}) is True
    assert js.get("r") == {"a": 1, "b": [1, 2], "s": "x", "o": {"k": True}}
    assert js.get("r", "$.b") == [[1, 2]]
    assert js.get("r", ".s") == "x"
    assert js.type("r", ".a") in ("integer", ["integer"])
    assert js.type("r", "$..k") in (["boolean"], [["boolean"]])
    assert js.arrappend("r", "$.b", 3) == [3]
    assert js.arrindex("r", "$.b", 2) == [1]
    assert js.arrinsert("r", "$.b", 0, 0) == [4]
    assert js.arrlen("r", "$.b") == [4]
    assert js.arrpop("r", "$.b") in ([3], ["3"])  # redis-py decodes a single pop only
    assert js.arrtrim("r", "$.b", 1, 5) == [2]
    assert js.numincrby("r", "$.a", 2) == [3]
    assert js.nummultby("r", "$.a", 1.5) == [4.5]
    assert js.strappend("r", "yz", "$.s") == [3]
    assert js.strlen("r", "$.s") == [3]
    assert js.toggle("r", "$.o.k") == [0]
    assert js.objkeys("r", "$.o") == [["k"]]
    assert js.objlen("r", "$.o") == [1]
    assert js.clear("r", "$.b") == 1
    assert js.merge("r", "$", {"o": None, "m": 1}) in (True, "OK")
    assert js.mset([("r2", "$", [1]), ("r", "$.m", 2)]) in (True, "OK")
    assert js.mget(["r", "r2", "nokey"], "$.m") == [[2], [], None]
    assert js.resp("r", "$.b") == [["["]]
    assert js.delete("r", "$.m") == 1
    assert js.forget("r2") == 1
    assert js.get("r") == {"a": 4.5, "b": [], "s": "xyz"}
    assert c.type("r") == "json"
    c.set("str", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        js.get("str")
    with pytest.raises(redis.ResponseError, match="Path '\\$.nope' does not exist"):
        js.get("r", ".nope")
    c.close()


def test_redispy_generic_key_commands(r):
    js = r.json()
    js.set("g", "$", {"a": [1, 2, 3]})
    assert r.copy("g", "g2") is True
    js.arrappend("g2", "$.a", 4)
    assert js.get("g", "$.a") == [[1, 2, 3]]
    assert js.get("g2", "$.a") == [[1, 2, 3, 4]]
    assert r.rename("g2", "g3") is True
    assert sorted(r.scan(0, _type="json")[1]) == ["g", "g3"]
    assert r.memory_usage("g") > 0
    assert r.object("encoding", "g") == "raw"
    assert r.expire("g", 100) is True
    js.set("g", "$", {"replaced": True})  # replacing the root keeps the TTL
    assert r.ttl("g") == 100
    assert r.delete("g", "g3") == 2


# ---- durability ------------------------------------------------------------------------------


def test_json_survives_restart_and_rewrite(durable_server):
    s = durable_server("always")
    c = s.client(single_connection_client=True)
    js = c.json()
    js.set("doc", "$", {"name": "héllo", "n": 1, "f": 2.5, "arr": [1, 2], "o": {"z": 1, "a": 2}})
    js.numincrby("doc", "$.n", 41)
    js.numincrby("doc", "$.f", 0.5)
    js.arrappend("doc", "$.arr", {"deep": [None, True]})
    js.merge("doc", "$.o", {"z": None, "b": 3})
    js.set("ttl", "$", [1])
    c.expire("ttl", 1000)
    js.set("gone", "$", 1)
    js.delete("gone")
    expected = {"name": "héllo", "n": 42, "f": 3.0, "arr": [1, 2, {"deep": [None, True]}], "o": {"a": 2, "b": 3}}
    c.close()
    s.kill()
    c = restart_client(s)
    assert c.json().get("doc") == expected
    assert c.json().get("doc", "$.f") == [3.0]  # still a float
    assert c.json().type("doc", "$.n") == ["integer"]
    assert c.exists("gone") == 0
    c = rewrite_kill_restart(s, c)
    assert c.json().get("doc") == expected
    assert isinstance(c.json().get("doc", "$.f")[0], float)
    assert c.execute_command("JSON.OBJKEYS", "doc", ".o") == ["a", "b"]  # order kept
    assert c.type("doc") == "json"
    assert 0 < c.ttl("ttl") <= 1000
    assert c.json().get("ttl") == [1]
    # writes after the rewrite go to the new log and survive too
    c.json().arrappend("ttl", "$", 2)
    c.close()
    s.kill()
    c = restart_client(s)
    assert c.json().get("ttl") == [1, 2]
    c.close()


def test_readonly_token_reads_only(ro_server, ro_r):
    ro_r.json().set("ro", "$", {"a": 1})
    ro = Redis(url=ro_server.url, token=ro_server.readonly_token, rest_retries=0, allow_telemetry=False)
    try:
        assert ro.json.get("ro", "$.a") == [1]
        assert ro.json.type("ro", "$.a") == ["integer"]
        with pytest.raises(UpstashError, match="NOPERM"):
            ro.json.set("ro", "$.a", 2)
        with pytest.raises(UpstashError, match="NOPERM"):
            ro.json.arrappend("ro", "$.a", 2)
    finally:
        ro.close()
    assert ro_r.json().get("ro") == {"a": 1}


def test_scripts_call_json(r):
    r.json().set("lua", "$", {"n": 1})
    assert r.eval("redis.call('JSON.NUMINCRBY', KEYS[1], '$.n', 2) return redis.call('JSON.GET', KEYS[1], '.n')", 1, "lua") == "3"
    with pytest.raises(redis.ResponseError, match="WRONGTYPE wrong type of path value"):
        r.eval("return redis.call('JSON.STRLEN', KEYS[1], '.n')", 1, "lua")
