"""CONFIG GET/SET over Redis 7's whole parameter table (crates/engine/src/config_table.tsv), with
redis-server as the reference for names, validation and error texts; the encoding thresholds
through OBJECT ENCODING and HSCAN/SSCAN/ZSCAN."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from differential import run

TABLE = Path(__file__).resolve().parents[2] / "crates/engine/src/config_table.tsv"
ROWS = [l.split("\t") for l in TABLE.read_text().splitlines() if l and not l.startswith("#")]
# Parameters whose value is a fact of the server (ports, paths) rather than a default.
FACTS = {"port", "bind", "dir", "databases", "appendonly", "requirepass", "save", "pidfile", "logfile",
         "unixsocket", "hash-max-listpack-entries", "hash-max-ziplist-entries", "set-max-listpack-entries",
         "set-max-listpack-value", "daemonize", "supervised", "locale-collate"}


@pytest.fixture
def ref(reference_redis):
    """The reference server with decoded replies, like `r`."""
    kw = reference_redis.connection_pool.connection_kwargs
    c = redis.Redis(host=kw["host"], port=kw["port"], decode_responses=True, socket_timeout=10)
    yield c
    c.close()


@pytest.fixture
def restore(r, ref):
    """Puts every parameter back on both servers (the reference is shared with other files)."""
    before = [(c, c.config_get("*")) for c in (r, ref)]
    yield
    keep = {"port", "bind", "dir", "databases", "appendonly", "requirepass"}
    for c, values in before:
        for name, value in values.items():
            if name not in keep and c.config_get(name).get(name) != value:
                try:
                    c.config_set(name, value)
                except redis.ResponseError:
                    pass


def test_config_get_star_lists_every_redis_parameter(r, ref):
    ours = r.config_get("*")
    theirs = ref.config_get("*")
    missing = sorted(set(theirs) - set(ours))
    assert not missing, missing
    for name, value in theirs.items():
        if name not in FACTS and not name.startswith("dir"):
            assert ours[name] == value, name


def test_config_set_validates_like_redis(r, ref, restore):
    cases = [
        ("maxmemory", "1gb"), ("maxmemory", "lots"), ("maxmemory", "-1"),
        ("activerehashing", "maybe"), ("activerehashing", "NO"),
        ("hz", "x"), ("timeout", "-1"), ("tcp-keepalive", "60"),
        ("maxmemory-policy", "random"), ("maxmemory-policy", "ALLKEYS-LRU"),
        ("daemonize", "yes"), ("nosuch-param", "1"), ("dbfilename", "x.rdb"),
        ("save", "900 1"), ("save", "bad"), ("lazyfree-lazy-eviction", "yes"),
        ("list-max-ziplist-size", "-3"), ("slave-priority", "5"), ("lua-time-limit", "200"),
        ("stream-node-max-bytes", "8kb"), ("loglevel", "warning"),
    ]
    for name, value in cases:
        ours = run(r, ["CONFIG", "SET", name, value])
        theirs = run(ref, ["CONFIG", "SET", name, value])
        assert ours == theirs, (name, value)
        if ours[0] == "ok":
            assert r.config_get(name) == ref.config_get(name), name
    # Aliases share the value.
    assert r.config_get("replica-priority") == {"replica-priority": "5"}
    assert r.config_get("busy-reply-threshold") == {"busy-reply-threshold": "200"}
    assert r.config_get("list-max-listpack-size") == {"list-max-listpack-size": "-3"}


def test_config_set_is_all_or_nothing(r, ref, restore):
    for client in (r, ref):
        client.config_set("maxmemory-samples", "5")
        args = ["CONFIG", "SET", "maxmemory-samples", "7", "activerehashing", "maybe"]
        got = run(client, args)
        assert got[0] == "err" and "activerehashing" in got[1]
        assert client.config_get("maxmemory-samples") == {"maxmemory-samples": "5"}
        dup = run(client, ["CONFIG", "SET", "hz", "11", "hz", "12"])
        assert dup == ("err", "CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter")
    assert r.execute_command("CONFIG", "SET", "maxmemory-samples", "9", "hz", "20") in (True, "OK", b"OK")
    assert r.config_get("maxmemory-samples") == {"maxmemory-samples": "9"}
    assert r.config_get("hz") == {"hz": "20"}


def test_encoding_thresholds_decide_object_encoding_and_scans(r, ref, restore):
    for client in (r, ref):
        client.config_set("hash-max-listpack-entries", "4")
        client.config_set("set-max-intset-entries", "3")
        client.config_set("zset-max-ziplist-value", "3")
        client.delete("h", "h2", "s", "s2", "z", "z2")
        client.hset("h", mapping={f"f{i}": "v" for i in range(4)})
        client.hset("h2", mapping={f"f{i}": "v" for i in range(5)})
        client.sadd("s", 3, 1, 2)
        client.sadd("s2", 1, 2, 3, 4)
        client.zadd("z", {"abc": 1, "ab": 2})
        client.zadd("z2", {"abcd": 1})
    for key in ("h", "h2", "s", "z", "z2"):
        assert r.object("encoding", key) == ref.object("encoding", key), key
    # Sets of more than set-max-intset-entries integers: listpack in Redis 7.2 (7.0 had none).
    assert r.object("encoding", "s2") == "listpack"
    r.config_set("set-max-listpack-entries", "3")
    assert r.object("encoding", "s2") == "hashtable"
    assert r.object("encoding", "h2") == "hashtable"
    assert r.object("encoding", "s") == "intset"
    # A compact collection comes whole from its scan; sorted as Redis keeps it.
    assert r.sscan("s", 0, count=1) == ref.sscan("s", 0, count=1)
    assert r.hscan("h", 0, count=1) == ref.hscan("h", 0, count=1)
    assert r.zscan("z", 0, count=1) == ref.zscan("z", 0, count=1)
    r.config_set("hash-max-listpack-entries", "0")
    assert r.object("encoding", "h") == "hashtable"


def test_docs_config_md_lists_every_parameter():
    doc = (Path(__file__).resolve().parents[2] / "docs/config.md").read_text()
    for row in ROWS:
        assert f"| `{row[0]}` |" in doc, row[0]
