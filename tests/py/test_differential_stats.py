"""SLOWLOG, LATENCY HISTOGRAM and INFO commandstats against redis-server 7: the same commands on
both servers give replies of the same shape with the same counts (times and ports masked)."""

from __future__ import annotations

import redis


def fresh(c):
    c.response_callbacks.clear()
    c.config_set("slowlog-log-slower-than", 0)
    c.config_set("slowlog-max-len", 5)
    c.execute_command("SLOWLOG", "RESET")
    c.config_resetstat()


def masked_slowlog(entries):
    # [id, time, duration, args, addr, name]: ids count from whenever the server started.
    return [(e[3], e[5]) for e in entries]


def test_slowlog_and_histogram_match_redis(server, reference_redis):
    ours = server.client(decode_responses=False)
    theirs = redis.Redis(connection_pool=reference_redis.connection_pool)
    for c in (ours, theirs):
        fresh(c)
        c.execute_command("CLIENT", "SETNAME", "stats-test")
        for i in range(3):
            c.execute_command("SET", f"k{i}", "v" * 200)
        c.execute_command("GET", "k0")
        try:
            c.execute_command("INCR", "k0")
        except redis.ResponseError:
            pass
        c.execute_command("RPUSH", "l", *[str(i) for i in range(40)])
    got = [c.execute_command("SLOWLOG", "GET", -1) for c in (ours, theirs)]
    assert masked_slowlog(got[0]) == masked_slowlog(got[1])
    assert [len(e) for e in got[0]] == [6] * 5
    for c in (ours, theirs):
        assert c.execute_command("SLOWLOG", "LEN") == 5
    hist = [dict(zip(*[iter(c.execute_command("LATENCY", "HISTOGRAM", "set", "get", "nosuch"))] * 2)) for c in (ours, theirs)]
    assert set(hist[0]) == set(hist[1]) == {b"set", b"get"}
    for name in (b"set", b"get"):
        a, b = (dict(zip(*[iter(h[name])] * 2)) for h in hist)
        assert a[b"calls"] == b[b"calls"]
        cumulative = list(zip(*[iter(a[b"histogram_usec"])] * 2))
        assert cumulative[-1][1] == a[b"calls"] and all(x[0] & (x[0] - 1) == 0 for x in cumulative)
    stats = [c.info("commandstats") for c in (ours, theirs)]
    lines = [
        sorted(
            (k, v.split(",")[0], v.split(",")[-2], v.split(",")[-1])
            for k, v in (line.split(":", 1) for line in s.decode().splitlines() if line.startswith("cmdstat_"))
            if k in ("cmdstat_set", "cmdstat_get", "cmdstat_incr", "cmdstat_rpush")
        )
        for s in stats
    ]
    assert lines[0] == lines[1]
    for c in (ours, theirs):
        c.config_set("slowlog-log-slower-than", 10000)
        c.execute_command("SLOWLOG", "RESET")
        assert c.execute_command("SLOWLOG", "LEN") == 0
