"""Differential test of RESP3 reply shapes: a broad command set runs over `HELLO 3` on stashd and on
redis-server 7, and the reply types (`+ - : $ , % ~ * _ # = ...`) and nesting are compared, not
the values. Each command runs on the same data on both servers (set up by the same commands)."""

from __future__ import annotations

import socket

import pytest

from rawresp import encode

SETUP = [
    ["SET", "s", "hello"], ["SET", "n", "10"], ["RPUSH", "l", "a", "b", "c"], ["SADD", "set", "a", "b"],
    ["SADD", "set2", "b", "c"], ["HSET", "h", "f", "v", "g", "w"], ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    ["ZADD", "z2", "1", "a", "5", "d"], ["XADD", "x", "1-1", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"],
    ["GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
    ["PFADD", "hll", "a", "b"],
]

COMMANDS = [
    ["PING"], ["ECHO", "x"], ["GET", "s"], ["GET", "missing"], ["MGET", "s", "missing"], ["STRLEN", "s"],
    ["INCRBYFLOAT", "n", "1.5"], ["GETRANGE", "s", "0", "1"], ["LCS", "s", "s", "IDX"], ["TYPE", "s"],
    ["EXISTS", "s"], ["TTL", "s"], ["OBJECT", "ENCODING", "s"], ["LRANGE", "l", "0", "-1"], ["LPOP", "l", "1"],
    ["LPOS", "l", "b"], ["LMPOP", "1", "l", "LEFT"], ["SMEMBERS", "set"], ["SINTER", "set", "set2"],
    ["SUNION", "set", "set2"], ["SDIFF", "set", "set2"], ["SISMEMBER", "set", "a"], ["SMISMEMBER", "set", "a", "z"],
    ["SRANDMEMBER", "set", "1"], ["SPOP", "set2", "1"], ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"], ["HMGET", "h", "f", "x"],
    ["HRANDFIELD", "h", "1", "WITHVALUES"], ["HSTRLEN", "h", "f"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ["ZRANGE", "z", "0", "-1"], ["ZRANGEBYSCORE", "z", "-inf", "inf", "WITHSCORES"], ["ZREVRANGE", "z", "0", "-1", "WITHSCORES"],
    ["ZSCORE", "z", "a"], ["ZMSCORE", "z", "a", "x"], ["ZINCRBY", "z", "1", "a"], ["ZRANK", "z", "b"],
    ["ZRANK", "z", "b", "WITHSCORE"], ["ZRANDMEMBER", "z", "1", "WITHSCORES"], ["ZUNION", "2", "z", "z2", "WITHSCORES"],
    ["ZINTER", "2", "z", "z2", "WITHSCORES"], ["ZDIFF", "2", "z", "z2", "WITHSCORES"], ["ZPOPMIN", "z2"],
    ["ZPOPMAX", "z", "1"], ["ZMPOP", "1", "z", "MIN"], ["ZADD", "z", "INCR", "1", "q"], ["ZSCAN", "z", "0"],
    ["HSCAN", "h", "0"], ["SSCAN", "set", "0"], ["SCAN", "0", "COUNT", "1000"], ["XRANGE", "x", "-", "+"],
    ["XREAD", "STREAMS", "x", "0"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"], ["XPENDING", "x", "g"],
    ["XINFO", "STREAM", "x"], ["XINFO", "GROUPS", "x"], ["XINFO", "CONSUMERS", "x", "g"], ["XLEN", "x"],
    ["XAUTOCLAIM", "x", "g", "c", "0", "0"], ["GEOPOS", "geo", "Palermo", "nope"], ["GEODIST", "geo", "Palermo", "Catania"],
    ["GEOHASH", "geo", "Palermo"], ["GEOSEARCH", "geo", "FROMMEMBER", "Palermo", "BYRADIUS", "500", "km", "WITHCOORD", "WITHDIST"],
    ["GEORADIUS", "geo", "15", "37", "200", "km", "WITHDIST"], ["PFCOUNT", "hll"], ["BITCOUNT", "s"],
    ["BITFIELD", "s", "GET", "u8", "0"], ["DUMP", "missing"], ["TIME"], ["DBSIZE"], ["CONFIG", "GET", "maxmemory"],
    ["PUBSUB", "CHANNELS"], ["PUBSUB", "NUMSUB", "a"], ["PUBSUB", "NUMPAT"], ["PUBSUB", "SHARDNUMSUB", "a"],
    ["COMMAND", "COUNT"], ["COMMAND", "GETKEYS", "GET", "a"], ["COMMAND", "GETKEYSANDFLAGS", "GET", "a"],
    ["COMMAND", "INFO", "get"], ["COMMAND", "DOCS", "get"], ["CLIENT", "ID"], ["CLIENT", "GETNAME"], ["CLIENT", "INFO"],
    ["INFO", "keyspace"], ["MEMORY", "USAGE", "s"], ["SLOWLOG", "GET", "0"], ["SLOWLOG", "LEN"], ["LASTSAVE"],
    ["ROLE"], ["SCRIPT", "EXISTS", "abc"], ["EVAL", "return {1, 'x', {err='bad'}}", "0"], ["EVAL", "return 1.5", "0"],
    ["EVAL", "return redis.call('hgetall', 'h')", "0"], ["FUNCTION", "LIST"], ["FUNCTION", "STATS"], ["ACL", "WHOAMI"],
    ["ACL", "CAT"], ["ACL", "LOG", "0"], ["ACL", "GETUSER", "default"], ["LATENCY", "LATEST"], ["MEMORY", "STATS"],
    ["OBJECT", "FREQ", "s"], ["SINTERCARD", "2", "set", "set2"], ["EXPIRETIME", "s"], ["RANDOMKEY"], ["WAIT", "0", "0"],
    ["HELLO", "3"],
]

# Shapes known to differ on purpose, with the reason.
EXPECTED = {
    # stashd's MEMORY STATS has fewer allocator fields; CONFIG GET/ACL GETUSER/FUNCTION STATS list stashd's own settings.
    ("MEMORY", "STATS"): "fields", ("ACL", "GETUSER", "default"): "fields", ("HELLO", "3"): "fields",
    ("XINFO", "STREAM", "x"): "fields",
    ("INFO", "keyspace"): "text", ("CLIENT", "INFO"): "text", ("COMMAND", "INFO", "get"): "tips",
    ("COMMAND", "DOCS", "get"): "docs", ("FUNCTION", "STATS"): "engines",
    # Redis 7.2 changes: ZRANK WITHSCORE ([rank, score]), XINFO CONSUMERS' `inactive`; ACL CAT
    # lists the categories of later versions too.
    ("ZRANK", "z", "b", "WITHSCORE"): "7.2", ("XINFO", "CONSUMERS", "x", "g"): "7.2", ("ACL", "CAT"): "count",
}


class Conn:
    def __init__(self, port, password=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        hello = ["HELLO", "3"] + (["AUTH", "default", password] if password else [])
        self.cmd(hello)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(65536)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def shape(self):
        """The reply's type tree: a type char, or (type char, [children]) for aggregates."""
        line = self.line()
        t, rest = chr(line[0]), line[1:]
        if t in "$=!" and int(rest) >= 0:
            self.exact(int(rest))
            return t
        if t in "*~>|" and int(rest) >= 0:
            return (t, [self.shape() for _ in range(int(rest))])
        if t == "%":
            return (t, [(self.shape(), self.shape()) for _ in range(int(rest))])
        return t

    def cmd(self, args):
        self.s.sendall(encode(*args))
        return self.shape()


@pytest.fixture
def pair(server, reference_redis):
    port = reference_redis.connection_pool.connection_kwargs["port"]
    ours, theirs = Conn(server.port, server.token), Conn(port)
    for c in (ours, theirs):
        c.cmd(["FLUSHALL"])
        for s in SETUP:
            c.cmd(s)
    yield ours, theirs
    ours.s.close()
    theirs.s.close()


def test_resp3_shapes_match_redis(pair):
    ours, theirs = pair
    diffs = []
    for args in COMMANDS:
        a, b = ours.cmd(args), theirs.cmd(args)
        if a != b and tuple(args) not in EXPECTED:
            diffs.append((args, a, b))
    assert not diffs, "\n".join(f"{c}: stashd {a} redis {b}" for c, a, b in diffs)
