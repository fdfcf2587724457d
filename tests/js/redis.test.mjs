// @upstash/redis (the official TypeScript SDK, pinned in package.json) against stashd's REST face.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { Redis } from "@upstash/redis";
import { clientHooks, sdkClient, spyOnFetch, startStashd } from "./harness.mjs";

let server;
let roServer;
let spy;

before(async () => {
  server = await startStashd();
  roServer = await startStashd({ readonly: true });
  spy = spyOnFetch();
});

after(async () => {
  spy?.restore();
  await server?.stop();
  await roServer?.stop();
});

const client = (opts = {}, srv = server) => sdkClient(srv, opts);

const CONFIGS = [
  { name: "autopipeline+base64", opts: {} },
  { name: "autopipeline+plain", opts: { responseEncoding: false } },
  { name: "direct+base64", opts: { enableAutoPipelining: false } },
  { name: "direct+plain", opts: { enableAutoPipelining: false, responseEncoding: false } },
];

for (const { name, opts } of CONFIGS) {
  describe(name, () => {
    let redis;
    const k = (s) => `${name}:${s}`;
    clientHooks(() => server, opts, (c) => (redis = c));

    test("set / get / incr / del / exists / mget", async () => {
      assert.equal(await redis.set(k("s"), "hello"), "OK");
      assert.equal(await redis.get(k("s")), "hello");
      assert.equal(await redis.get(k("missing")), null);
      assert.equal(await redis.incr(k("n")), 1);
      assert.equal(await redis.incrby(k("n"), 41), 42);
      assert.equal(await redis.get(k("n")), 42); // automatic deserialization: "42" -> 42
      assert.equal(await redis.exists(k("s"), k("n"), k("missing")), 2);
      assert.deepEqual(await redis.mget(k("s"), k("missing"), k("n")), ["hello", null, 42]);
      assert.equal(await redis.del(k("s"), k("n"), k("missing")), 2);
      assert.equal(await redis.exists(k("s")), 0);
    });

    test("strings that look like other things", async () => {
      const values = ["héllo wörld ✓ 日本", "OK", "PONG", "T0s=", " padded ", "a\nb"];
      for (const [i, v] of values.entries()) {
        assert.equal(await redis.set(k(`t${i}`), v), "OK");
        assert.equal(await redis.get(k(`t${i}`)), v);
      }
    });

    test("objects round-trip through automatic (de)serialization", async () => {
      const obj = { a: 1, b: [1, 2, "x"], c: { d: null, e: true }, s: "str" };
      assert.equal(await redis.set(k("obj"), obj), "OK");
      assert.deepEqual(await redis.get(k("obj")), obj);
      assert.equal(await redis.set(k("num"), 1.5), "OK");
      assert.equal(await redis.get(k("num")), 1.5);
      assert.equal(await redis.set(k("bool"), true), "OK");
      assert.equal(await redis.get(k("bool")), true);
      const raw = client({ ...opts, automaticDeserialization: false });
      assert.equal(await raw.get(k("obj")), JSON.stringify(obj));
      assert.equal(await raw.get(k("num")), "1.5");
      assert.equal(await raw.get(k("bool")), "true");
    });

    test("hset / hgetall / hget", async () => {
      assert.equal(await redis.hset(k("h"), { a: 1, b: "x", c: { n: 2 } }), 3);
      assert.deepEqual(await redis.hgetall(k("h")), { a: 1, b: "x", c: { n: 2 } });
      assert.equal(await redis.hget(k("h"), "b"), "x");
      assert.equal(await redis.hgetall(k("nohash")), null);
      assert.equal(await redis.hincrby(k("h"), "a", 9), 10);
      assert.equal(await redis.hdel(k("h"), "b", "zz"), 1);
      assert.deepEqual(await redis.hgetall(k("h")), { a: 10, c: { n: 2 } });
    });

    test("zadd / zrange withScores / zscore", async () => {
      assert.equal(
        await redis.zadd(k("z"), { score: 1, member: "a" }, { score: 2.5, member: "b" }, { score: -3, member: "c" }),
        3,
      );
      assert.deepEqual(await redis.zrange(k("z"), 0, -1), ["c", "a", "b"]);
      assert.deepEqual(await redis.zrange(k("z"), 0, -1, { withScores: true }), ["c", -3, "a", 1, "b", 2.5]);
      assert.equal(await redis.zscore(k("z"), "b"), 2.5);
      assert.deepEqual(await redis.zrange(k("z"), 1, 3, { byScore: true }), ["a", "b"]);
    });

    test("lpush / lrange / rpush / lpop", async () => {
      assert.equal(await redis.lpush(k("l"), "a", "b", "c"), 3);
      assert.equal(await redis.rpush(k("l"), "z"), 4);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["c", "b", "a", "z"]);
      assert.equal(await redis.lpop(k("l")), "c");
      assert.equal(await redis.llen(k("l")), 3);
    });

    test("expire / ttl (expiry via DEBUG JUMP-CLOCK)", async () => {
      await redis.set(k("e"), "v");
      assert.equal(await redis.ttl(k("e")), -1);
      assert.equal(await redis.expire(k("e"), 100), 1);
      assert.equal(await redis.ttl(k("e")), 100);
      assert.equal(await redis.set(k("px"), "v", { px: 5000 }), "OK");
      await server.jumpClock(100_001);
      assert.equal(await redis.get(k("e")), null);
      assert.equal(await redis.ttl(k("e")), -2);
      assert.equal(await redis.exists(k("px")), 0);
    });

    test("concurrent commands in one tick", async () => {
      const keys = Array.from({ length: 50 }, (_, i) => k(`c${i}`));
      const sets = await Promise.all(keys.map((key, i) => redis.set(key, `v${i}`)));
      assert.deepEqual(sets, keys.map(() => "OK"));
      const gets = await Promise.all(keys.map((key) => redis.get(key)));
      assert.deepEqual(gets, keys.map((_, i) => `v${i}`));
      const incrs = await Promise.all(Array.from({ length: 20 }, () => redis.incr(k("ctr"))));
      assert.deepEqual([...incrs].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
    });

    test("errors reject with the server's message", async () => {
      await redis.set(k("str"), "x");
      await assert.rejects(redis.incr(k("str")), /ERR value is not an integer or out of range/);
      await assert.rejects(redis.lpush(k("str"), "a"), /WRONGTYPE Operation against a key holding the wrong kind of value/);
    });

    test("pipeline() with keepErrors keeps per-item errors", async () => {
      const p = redis.pipeline();
      p.set(k("p"), "x");
      p.incr(k("p"));
      p.get(k("p"));
      p.hset(k("ph"), { f: 1 });
      const res = await p.exec({ keepErrors: true });
      assert.equal(res.length, 4);
      assert.deepEqual(res[0], { result: "OK", error: undefined });
      assert.equal(res[1].error, "ERR value is not an integer or out of range");
      assert.deepEqual(res[2], { result: "x", error: undefined });
      assert.deepEqual(res[3], { result: 1, error: undefined });
    });

    test("pipeline() without keepErrors throws on the first error", async () => {
      await redis.set(k("p2"), "x");
      const p = redis.pipeline();
      p.get(k("p2"));
      p.incr(k("p2"));
      await assert.rejects(p.exec(), (e) => {
        assert.equal(e.message, "Command 2 [ incr ] failed: ERR value is not an integer or out of range");
        return true;
      });
    });

    test("multi() runs atomically", async () => {
      const tx = redis.multi();
      tx.set(k("m"), 10);
      tx.incrby(k("m"), 5);
      tx.get(k("m"));
      tx.lpush(k("ml"), "a", "b");
      tx.lrange(k("ml"), 0, -1);
      assert.deepEqual(await tx.exec(), ["OK", 15, 15, 2, ["b", "a"]]);
    });

    test("multi() with a runtime error keeps the other results", async () => {
      await redis.set(k("mx"), "text");
      const tx = redis.multi();
      tx.set(k("my"), 1);
      tx.incr(k("mx"));
      const res = await tx.exec({ keepErrors: true });
      assert.deepEqual(res[0], { result: "OK", error: undefined });
      assert.equal(res[1].error, "ERR value is not an integer or out of range");
    });

    test("readYourWrites sync token changes after writes", async () => {
      const c = client(opts);
      await c.set(k("ryw"), "1");
      const t1 = c.readYourWritesSyncToken;
      assert.equal(typeof t1, "string");
      assert.ok(t1.length > 0, "no upstash-sync-token received");
      await c.incr(k("ryw"));
      const t2 = c.readYourWritesSyncToken;
      assert.ok(t2 && t2 !== t1, `sync token did not change: ${t1} -> ${t2}`);
      c.readYourWritesSyncToken = "my-new-sync-token";
      assert.equal(await c.get(k("ryw")), 2);
      c.readYourWritesSyncToken = "";
      assert.equal(await c.get(k("ryw")), 2);
    });
  });
}

describe("transport", () => {
  beforeEach(() => spy.reset());

  test("auto-pipelining sends lone commands to /pipeline", async () => {
    const redis = client();
    await redis.set("ap:a", "1");
    await redis.get("ap:a");
    const paths = spy.calls.map((c) => c.path);
    assert.deepEqual(paths, ["/pipeline", "/pipeline"]);
    assert.deepEqual(spy.calls[0].body, [["set", "ap:a", "1"]]);
  });

  test("auto-pipelining batches same-tick commands into one request", async () => {
    const redis = client();
    const res = await Promise.all([redis.set("ap:b", "1"), redis.set("ap:c", "2"), redis.set("ap:d", "3")]);
    assert.deepEqual(res, ["OK", "OK", "OK"]);
    assert.equal(spy.calls.length, 1);
    assert.equal(spy.calls[0].path, "/pipeline");
    assert.equal(spy.calls[0].body.length, 3);
  });

  test("without auto-pipelining commands go to /", async () => {
    const redis = client({ enableAutoPipelining: false });
    await redis.set("ap:e", "1");
    assert.equal(await redis.get("ap:e"), 1);
    assert.deepEqual(spy.calls.map((c) => c.path), ["/", "/"]);
    assert.deepEqual(spy.calls[1].body, ["get", "ap:e"]);
  });

  test("base64 header is sent by default and not with responseEncoding:false", async () => {
    await client({ enableAutoPipelining: false }).get("x");
    await client({ enableAutoPipelining: false, responseEncoding: false }).get("x");
    assert.equal(spy.calls[0].headers["Upstash-Encoding"], "base64");
    assert.equal(spy.calls[1].headers["Upstash-Encoding"], undefined);
  });

  test("wrong token rejects", async () => {
    const bad = new Redis({ url: server.url, token: "wrong", retry: { retries: 0 }, enableTelemetry: false, enableAutoPipelining: false });
    await assert.rejects(bad.get("k"), /WRONGPASS/);
  });
});

describe("read-only token", () => {
  test("reads work, writes are refused with NOPERM", async () => {
    await roServer.resp("SET", "ro:k", "v");
    for (const enableAutoPipelining of [true, false]) {
      const ro = new Redis({
        url: roServer.url,
        token: roServer.readonlyToken,
        retry: { retries: 0 },
        enableTelemetry: false,
        enableAutoPipelining,
      });
      assert.equal(await ro.get("ro:k"), "v");
      await assert.rejects(ro.set("ro:k", "changed"), /NOPERM/);
      await assert.rejects(ro.del("ro:k"), /NOPERM/);
      await assert.rejects(ro.incr("ro:n"), /NOPERM/);
    }
    const rw = client({}, roServer);
    assert.equal(await rw.get("ro:k"), "v");
    assert.equal(await rw.exists("ro:n"), 0);
  });
});
