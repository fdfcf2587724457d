// Every @upstash/redis command method that no other suite exercised, called through the SDK
// against the real binary, with assertions on what the SDK hands back after its own
// deserialization (number-looking strings become numbers, JSON strings become objects, COPY
// becomes "COPIED"/"NOT_COPIED", HMGET/HRANDFIELD WITHVALUES become objects, ...).
//
// Each family runs with the SDK's default auto-pipelining (every call is queued into a /pipeline
// request), with `enableAutoPipelining: false` (one REST request per call), and auto-pipelined
// without the base64 response encoding.
// sdk_coverage.test.mjs fails when an SDK method is referenced by no suite at all.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { clientHooks, sdkClient, spyOnFetch, startStashd } from "./harness.mjs";

let server;

before(async () => {
  server = await startStashd();
});

after(async () => {
  await server?.stop();
});

const client = (opts = {}) => sdkClient(server, opts);

/** [k1, v1, k2, v2, ...] → { k1: v1, ... }, failing on a repeated key. */
function pairs(flat) {
  assert.equal(flat.length % 2, 0);
  const out = {};
  for (let i = 0; i < flat.length; i += 2) {
    assert.ok(!(flat[i] in out), `${flat[i]} returned twice`);
    out[flat[i]] = flat[i + 1];
  }
  return out;
}

const sorted = (xs) => [...xs].sort((a, b) => String(a).localeCompare(String(b)));

/** The server's clock in whole seconds (the server clock may have been jumped, never use Date.now()). */
async function serverNow(redis) {
  const [sec] = await redis.time();
  return Number(sec);
}

/** SSCAN/HSCAN/ZSCAN until the cursor comes back to 0; returns the concatenated items. */
async function scanAll(fn) {
  let cursor = "0";
  const items = [];
  let rounds = 0;
  do {
    const [next, batch] = await fn(cursor);
    assert.equal(typeof next, "string", "the SDK leaves the cursor as the server sent it");
    items.push(...batch);
    cursor = next;
    assert.ok(++rounds < 1000, "scan does not terminate");
  } while (cursor !== "0");
  return items;
}

const CONFIGS = [
  { name: "auto", opts: {} },
  { name: "direct", opts: { enableAutoPipelining: false } },
  // Without `Upstash-Encoding: base64` the server's strings travel as JSON strings.
  { name: "auto+plain", opts: { responseEncoding: false } },
];

for (const { name, opts } of CONFIGS) {
  describe(`${name} client`, () => {
    let redis;
    const k = (s) => `${name}:${s}`;
    clientHooks(() => server, opts, (c) => (redis = c));

    test("strings: append, getrange, setrange, getset, getdel", async () => {
      assert.equal(await redis.append(k("s"), "Hello"), 5);
      assert.equal(await redis.append(k("s"), " World"), 11);
      assert.equal(await redis.getrange(k("s"), 0, 4), "Hello");
      assert.equal(await redis.getrange(k("s"), -5, -1), "World");
      assert.equal(await redis.getrange(k("s"), 20, 30), "");
      assert.equal(await redis.getrange(k("missing"), 0, -1), "");
      assert.equal(await redis.setrange(k("s"), 6, "Redis"), 11);
      assert.equal(await redis.get(k("s")), "Hello Redis");
      assert.equal(await redis.setrange(k("pad"), 3, "x"), 4);
      assert.equal(await redis.get(k("pad")), "\0\0\0x");
      assert.equal(await redis.setrange(k("pad2"), 0, ""), 0);
      assert.equal(await redis.exists(k("pad2")), 0);

      assert.equal(await redis.set(k("digits"), "1234567"), "OK");
      assert.equal(await redis.getrange(k("digits"), 0, 2), 123); // "123" deserialized
      assert.equal(await redis.append(k("digits"), "8"), 8);
      assert.equal(await redis.getset(k("digits"), "new"), 12345678);
      assert.equal(await redis.getset(k("nothing"), { a: [1] }), null);
      assert.deepEqual(await redis.get(k("nothing")), { a: [1] });
      assert.equal(await redis.getdel(k("digits")), "new");
      assert.equal(await redis.getdel(k("digits")), null);
      assert.equal(await redis.exists(k("digits")), 0);

      await redis.lpush(k("list"), "x");
      await assert.rejects(redis.append(k("list"), "x"), /WRONGTYPE/);
      await assert.rejects(redis.getdel(k("list")), /WRONGTYPE/);
      await assert.rejects(redis.setrange(k("s"), -1, "x"), /ERR offset is out of range/);
    });

    test("strings: getex with every option, setex, psetex, setnx, msetnx", async () => {
      await redis.set(k("gx"), "v");
      assert.equal(await redis.getex(k("gx")), "v");
      assert.equal(await redis.ttl(k("gx")), -1);
      assert.equal(await redis.getex(k("gx"), { ex: 100 }), "v");
      assert.equal(await redis.ttl(k("gx")), 100);
      assert.equal(await redis.getex(k("gx"), { px: 50_000 }), "v");
      const pttl = await redis.pttl(k("gx"));
      assert.ok(pttl > 49_000 && pttl <= 50_000, `pttl ${pttl}`);
      assert.equal(await redis.getex(k("gx"), { persist: true }), "v");
      assert.equal(await redis.ttl(k("gx")), -1);
      const now = await serverNow(redis);
      assert.equal(await redis.getex(k("gx"), { exat: now + 1000 }), "v");
      let ttl = await redis.ttl(k("gx"));
      assert.ok(ttl >= 998 && ttl <= 1000, `ttl ${ttl}`);
      assert.equal(await redis.getex(k("gx"), { pxat: (now + 2000) * 1000 }), "v");
      ttl = await redis.ttl(k("gx"));
      assert.ok(ttl >= 1998 && ttl <= 2000, `ttl ${ttl}`);
      assert.equal(await redis.getex(k("gx-missing"), { ex: 10 }), null);
      await redis.set(k("gx-num"), 17);
      assert.equal(await redis.getex(k("gx-num"), { ex: 10 }), 17);

      assert.equal(await redis.setex(k("se"), 60, "val"), "OK");
      assert.equal(await redis.ttl(k("se")), 60);
      assert.equal(await redis.get(k("se")), "val");
      await assert.rejects(redis.setex(k("se"), 0, "val"), /ERR invalid expire time in 'setex' command/);

      assert.equal(await redis.psetex(k("pse"), 60_000, { a: 1 }), "OK");
      assert.deepEqual(await redis.get(k("pse")), { a: 1 });
      const p = await redis.pttl(k("pse"));
      assert.ok(p > 59_000 && p <= 60_000, `pttl ${p}`);
      await assert.rejects(redis.psetex(k("pse"), -5, "x"), /ERR invalid expire time in 'psetex' command/);

      assert.equal(await redis.setnx(k("nx"), "first"), 1);
      assert.equal(await redis.setnx(k("nx"), "second"), 0);
      assert.equal(await redis.get(k("nx")), "first");

      assert.equal(await redis.msetnx({ [k("m1")]: "a", [k("m2")]: 2 }), 1);
      assert.equal(await redis.msetnx({ [k("m2")]: "x", [k("m3")]: "y" }), 0);
      assert.equal(await redis.exists(k("m3")), 0);
      assert.deepEqual(await redis.mget(k("m1"), k("m2")), ["a", 2]);
    });

    test("strings: incrbyfloat, decr, decrby", async () => {
      await redis.set(k("f"), "10.5");
      assert.equal(await redis.incrbyfloat(k("f"), 0.1), 10.6);
      assert.equal(await redis.incrbyfloat(k("f"), -5), 5.6);
      // Redis's long double sum, printed with 17 decimals (redis-server 7 answers the same); the
      // SDK keeps it as a string since it does not fit a JS number exactly.
      assert.equal(await redis.incrbyfloat(k("f"), 200), "205.60000000000000001");
      assert.equal(await redis.get(k("f")), "205.60000000000000001");
      assert.equal(await redis.incrbyfloat(k("f2"), 3), 3);
      assert.equal(await redis.incrbyfloat(k("f2"), 1.5e3), 1503);
      await redis.set(k("word"), "abc");
      await assert.rejects(redis.incrbyfloat(k("word"), 1), /ERR value is not a valid float/);

      assert.equal(await redis.decr(k("d")), -1);
      assert.equal(await redis.decrby(k("d"), 10), -11);
      assert.equal(await redis.decrby(k("d"), -20), 9);
      assert.equal(await redis.get(k("d")), 9);
      await assert.rejects(redis.decr(k("word")), /ERR value is not an integer or out of range/);
      await redis.set(k("min"), "-9223372036854775808");
      await assert.rejects(redis.decr(k("min")), /ERR increment or decrement would overflow/);
    });

    test("keys: copy, rename, renamenx, touch, unlink", async () => {
      await redis.set(k("src"), "v1");
      assert.equal(await redis.copy(k("src"), k("dst")), "COPIED");
      assert.equal(await redis.copy(k("src"), k("dst")), "NOT_COPIED");
      await redis.set(k("src"), "v2");
      assert.equal(await redis.copy(k("src"), k("dst"), { replace: true }), "COPIED");
      assert.equal(await redis.get(k("dst")), "v2");
      assert.equal(await redis.copy(k("missing"), k("dst2")), "NOT_COPIED");
      await redis.hset(k("h"), { a: 1, b: "x" });
      await redis.expire(k("h"), 500);
      assert.equal(await redis.copy(k("h"), k("h2")), "COPIED");
      assert.deepEqual(await redis.hgetall(k("h2")), { a: 1, b: "x" });
      const ttl = await redis.ttl(k("h2"));
      assert.ok(ttl > 490 && ttl <= 500, `COPY keeps the TTL (${ttl})`);
      await redis.hset(k("h"), { c: 3 });
      assert.equal(await redis.hlen(k("h2")), 2, "the copy is independent of its source");

      assert.equal(await redis.rename(k("src"), k("renamed")), "OK");
      assert.equal(await redis.exists(k("src")), 0);
      assert.equal(await redis.get(k("renamed")), "v2");
      await assert.rejects(redis.rename(k("src"), k("x")), /ERR no such key/);
      assert.equal(await redis.renamenx(k("renamed"), k("dst")), 0);
      assert.equal(await redis.renamenx(k("renamed"), k("fresh")), 1);
      assert.equal(await redis.get(k("fresh")), "v2");
      await assert.rejects(redis.renamenx(k("renamed"), k("y")), /ERR no such key/);

      assert.equal(await redis.touch(k("fresh"), k("dst"), k("missing")), 2);
      assert.equal(await redis.unlink(k("fresh"), k("dst"), k("missing")), 2);
      assert.equal(await redis.exists(k("fresh"), k("dst")), 0);
    });

    test("keys: expireat, pexpire, pexpireat, persist, pttl", async () => {
      await redis.set(k("e"), "v");
      const now = await serverNow(redis);
      assert.equal(await redis.expireat(k("e"), now + 100), 1);
      let ttl = await redis.ttl(k("e"));
      assert.ok(ttl >= 98 && ttl <= 100, `ttl ${ttl}`);
      assert.equal(await redis.expireat(k("e"), now + 50, "GT"), 0);
      assert.equal(await redis.expireat(k("e"), now + 200, "gt"), 1);
      assert.equal(await redis.expireat(k("e"), now + 300, "NX"), 0);
      assert.equal(await redis.expireat(k("missing"), now + 100), 0);

      assert.equal(await redis.pexpire(k("e"), 5_000), 1);
      let pttl = await redis.pttl(k("e"));
      assert.ok(pttl > 4_000 && pttl <= 5_000, `pttl ${pttl}`);
      assert.equal(await redis.pexpire(k("e"), 10_000, "LT"), 0);
      assert.equal(await redis.pexpire(k("e"), 1_000, "lt"), 1);
      assert.equal(await redis.pexpire(k("e"), 9_000, "XX"), 1);
      assert.equal(await redis.pexpire(k("missing"), 1_000), 0);

      assert.equal(await redis.pexpireat(k("e"), now * 1000 + 30_000), 1);
      pttl = await redis.pttl(k("e"));
      assert.ok(pttl > 27_000 && pttl <= 30_000, `pttl ${pttl}`);
      assert.equal(await redis.pexpireat(k("e"), now * 1000 + 60_000, "NX"), 0);

      assert.equal(await redis.persist(k("e")), 1);
      assert.equal(await redis.persist(k("e")), 0);
      assert.equal(await redis.pttl(k("e")), -1);
      assert.equal(await redis.pttl(k("missing")), -2);
      assert.equal(await redis.persist(k("missing")), 0);

      // A timestamp in the past deletes the key at once.
      assert.equal(await redis.pexpireat(k("e"), (now - 10) * 1000), 1);
      assert.equal(await redis.exists(k("e")), 0);
      await redis.set(k("e2"), "v");
      assert.equal(await redis.expireat(k("e2"), now - 10), 1);
      assert.equal(await redis.get(k("e2")), null);
      await assert.rejects(redis.pexpire(k("e2"), 10, "NX", "XX"), /ERR/);
    });

    test("keys: scan with match, count, type and withType", async () => {
      await redis.set(k("str"), "v");
      await redis.hset(k("hash"), { f: 1 });
      await redis.sadd(k("set"), "m");
      await redis.zadd(k("zset"), { score: 1, member: "m" });
      await redis.rpush(k("list"), "x");
      const everything = [k("str"), k("hash"), k("set"), k("zset"), k("list")];
      const [cursor, keys] = await redis.scan(0);
      assert.equal(cursor, "0");
      assert.deepEqual(sorted(keys), sorted(everything));
      assert.deepEqual(await redis.scan(0, { match: `${k("s")}*` }).then(([c, ks]) => [c, sorted(ks)]), ["0", sorted([k("str"), k("set")])]);
      assert.deepEqual(await redis.scan(0, { type: "zset" }), ["0", [k("zset")]]);
      assert.deepEqual(await redis.scan(0, { match: `${k("h")}*`, type: "hash", count: 100 }), ["0", [k("hash")]]);
      const [c2, typed] = await redis.scan(0, { withType: true });
      assert.equal(c2, "0");
      assert.deepEqual(
        typed.sort((a, b) => a.key.localeCompare(b.key)),
        [
          { key: k("hash"), type: "hash" },
          { key: k("list"), type: "list" },
          { key: k("set"), type: "set" },
          { key: k("str"), type: "string" },
          { key: k("zset"), type: "zset" },
        ],
      );
      const many = Array.from({ length: 250 }, (_, i) => k(`many:${i}`));
      await redis.mset(Object.fromEntries(many.map((key) => [key, 1])));
      const scanned = await scanAll((c) => redis.scan(c, { match: `${k("many")}:*`, count: 20 }));
      assert.deepEqual(sorted(new Set(scanned)), sorted(many));
      assert.deepEqual(await redis.scan(0, { type: "stream" }), ["0", []]);
    });

    test("hashes: hmset, hmget, hvals, hsetnx, hstrlen, hincrbyfloat", async () => {
      assert.equal(await redis.hmset(k("h"), { a: 1, b: "two", c: { x: 1 } }), "OK");
      assert.deepEqual(await redis.hmget(k("h"), "a", "b", "c", "zz"), { a: 1, b: "two", c: { x: 1 }, zz: null });
      assert.equal(await redis.hmget(k("h"), "nope1", "nope2"), null);
      assert.equal(await redis.hmget(k("missing"), "a"), null);
      assert.deepEqual(await redis.hvals(k("h")), [1, "two", { x: 1 }]);
      assert.deepEqual(await redis.hvals(k("missing")), []);

      assert.equal(await redis.hsetnx(k("h"), "a", 5), 0);
      assert.equal(await redis.hsetnx(k("h"), "d", 5), 1);
      assert.equal(await redis.hget(k("h"), "a"), 1);
      assert.equal(await redis.hget(k("h"), "d"), 5);

      assert.equal(await redis.hstrlen(k("h"), "b"), 3);
      assert.equal(await redis.hstrlen(k("h"), "c"), '{"x":1}'.length);
      assert.equal(await redis.hstrlen(k("h"), "zz"), 0);
      assert.equal(await redis.hstrlen(k("missing"), "zz"), 0);

      assert.equal(await redis.hincrbyfloat(k("h"), "f", 1.5), 1.5);
      assert.equal(await redis.hincrbyfloat(k("h"), "f", 10), 11.5);
      assert.equal(await redis.hincrbyfloat(k("h"), "a", -0.25), 0.75);
      assert.equal(await redis.hget(k("h"), "a"), 0.75);
      await assert.rejects(redis.hincrbyfloat(k("h"), "b", 1), /ERR hash value is not a float/);
      await redis.set(k("str"), "s");
      await assert.rejects(redis.hmset(k("str"), { a: 1 }), /WRONGTYPE/);
      await assert.rejects(redis.hvals(k("str")), /WRONGTYPE/);
    });

    test("hashes: hrandfield with and without count and values, hscan", async () => {
      await redis.hset(k("h"), { a: 1, b: "two", c: { x: 1 } });
      const all = { a: 1, b: "two", c: { x: 1 } };
      const one = await redis.hrandfield(k("h"));
      assert.ok(["a", "b", "c"].includes(one), `hrandfield → ${one}`);
      const two = await redis.hrandfield(k("h"), 2);
      assert.equal(two.length, 2);
      assert.equal(new Set(two).size, 2);
      for (const f of two) assert.ok(f in all);
      assert.deepEqual(sorted(await redis.hrandfield(k("h"), 10)), ["a", "b", "c"]);
      const repeated = await redis.hrandfield(k("h"), -7);
      assert.equal(repeated.length, 7);
      for (const f of repeated) assert.ok(f in all);
      assert.deepEqual(await redis.hrandfield(k("h"), 10, true), all);
      const pair = await redis.hrandfield(k("h"), 1, true);
      assert.equal(Object.keys(pair).length, 1);
      const [[f, v]] = Object.entries(pair);
      assert.deepEqual(v, all[f]);
      assert.equal(await redis.hrandfield(k("missing")), null);
      assert.deepEqual(await redis.hrandfield(k("missing"), 2), []);
      assert.equal(await redis.hrandfield(k("missing"), 2, true), null);

      // SCAN order is unspecified (Redis walks a small hash in insertion order, stashd does not):
      // compare the field/value pairs.
      const [hcursor, flat] = await redis.hscan(k("h"), 0);
      assert.equal(hcursor, "0");
      assert.deepEqual(pairs(flat), all);
      assert.deepEqual(await redis.hscan(k("h"), 0, { match: "b*" }), ["0", ["b", "two"]]);
      assert.deepEqual(await redis.hscan(k("missing"), 0), ["0", []]);
      const big = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`field:${i}`, i]));
      await redis.hset(k("big"), big);
      const items = await scanAll((c) => redis.hscan(k("big"), c, { count: 20 }));
      assert.deepEqual(pairs(items), big);
      const matched = await scanAll((c) => redis.hscan(k("big"), c, { match: "field:1?", count: 50 }));
      assert.deepEqual(
        sorted(matched.filter((_, i) => i % 2 === 0)),
        sorted(Array.from({ length: 10 }, (_, i) => `field:1${i}`)),
      );
    });

    test("lists: lindex, linsert, lpos, lrem, lset, ltrim", async () => {
      assert.equal(await redis.rpush(k("l"), "a", "b", "c", "b", "a"), 5);
      assert.equal(await redis.lindex(k("l"), 0), "a");
      assert.equal(await redis.lindex(k("l"), -2), "b");
      assert.equal(await redis.lindex(k("l"), 99), null);
      assert.equal(await redis.lindex(k("missing"), 0), null);

      assert.equal(await redis.linsert(k("l"), "before", "c", "X"), 6);
      assert.equal(await redis.linsert(k("l"), "after", "c", "Y"), 7);
      assert.equal(await redis.linsert(k("l"), "before", "nope", "Z"), -1);
      assert.equal(await redis.linsert(k("missing"), "after", "a", "Z"), 0);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["a", "b", "X", "c", "Y", "b", "a"]);

      assert.equal(await redis.lpos(k("l"), "b"), 1);
      assert.equal(await redis.lpos(k("l"), "b", { rank: 2 }), 5);
      assert.equal(await redis.lpos(k("l"), "b", { rank: -1 }), 5);
      assert.deepEqual(await redis.lpos(k("l"), "b", { count: 0 }), [1, 5]);
      assert.deepEqual(await redis.lpos(k("l"), "a", { rank: 2, count: 1 }), [6]);
      assert.deepEqual(await redis.lpos(k("l"), "a", { rank: -1, count: 5 }), [6, 0]);
      assert.equal(await redis.lpos(k("l"), "b", { maxLen: 1 }), null);
      assert.deepEqual(await redis.lpos(k("l"), "b", { count: 5, maxLen: 3 }), [1]);
      assert.equal(await redis.lpos(k("l"), "nope"), null);
      assert.deepEqual(await redis.lpos(k("l"), "nope", { count: 2 }), []);
      await assert.rejects(redis.lpos(k("l"), "a", { rank: 0 }), /RANK can't be zero/);

      assert.equal(await redis.lrem(k("l"), 1, "a"), 1);
      assert.equal(await redis.lrem(k("l"), -1, "b"), 1);
      assert.equal(await redis.lrem(k("l"), 0, "nope"), 0);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["b", "X", "c", "Y", "a"]);
      await redis.rpush(k("dups"), "d", "e", "d", "d");
      assert.equal(await redis.lrem(k("dups"), 0, "d"), 3);
      assert.deepEqual(await redis.lrange(k("dups"), 0, -1), ["e"]);

      assert.equal(await redis.lset(k("l"), 1, "x2"), "OK");
      assert.equal(await redis.lset(k("l"), -1, 42), "OK");
      assert.equal(await redis.lindex(k("l"), -1), 42);
      await assert.rejects(redis.lset(k("l"), 99, "v"), /ERR index out of range/);
      await assert.rejects(redis.lset(k("missing"), 0, "v"), /ERR no such key/);

      assert.equal(await redis.ltrim(k("l"), 1, -2), "OK");
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["x2", "c", "Y"]);
      assert.equal(await redis.ltrim(k("l"), 5, 10), "OK");
      assert.equal(await redis.exists(k("l")), 0, "an emptied list is deleted");
      assert.equal(await redis.ltrim(k("missing"), 0, 1), "OK");
    });

    test("lists: lpushx, rpushx, rpop, lmove, lmpop", async () => {
      assert.equal(await redis.lpushx(k("l"), "p"), 0);
      assert.equal(await redis.rpushx(k("l"), "p"), 0);
      assert.equal(await redis.exists(k("l")), 0);
      await redis.rpush(k("l"), "m");
      assert.equal(await redis.lpushx(k("l"), "p1", "p2"), 3);
      assert.equal(await redis.rpushx(k("l"), "q", 7), 5);
      assert.deepEqual(await redis.lrange(k("l"), 0, -1), ["p2", "p1", "m", "q", 7]);

      assert.equal(await redis.rpop(k("l")), 7);
      assert.deepEqual(await redis.rpop(k("l"), 2), ["q", "m"]);
      assert.equal(await redis.rpop(k("missing")), null);
      assert.equal(await redis.rpop(k("missing"), 2), null);

      assert.equal(await redis.lmove(k("l"), k("l2"), "left", "right"), "p2");
      assert.equal(await redis.lmove(k("l"), k("l2"), "right", "left"), "p1");
      assert.equal(await redis.exists(k("l")), 0);
      assert.deepEqual(await redis.lrange(k("l2"), 0, -1), ["p1", "p2"]);
      assert.equal(await redis.lmove(k("l2"), k("l2"), "left", "right"), "p1", "rotation");
      assert.deepEqual(await redis.lrange(k("l2"), 0, -1), ["p2", "p1"]);
      assert.equal(await redis.lmove(k("missing"), k("l2"), "left", "left"), null);

      await redis.rpush(k("mp"), 1, 2, 3, 4);
      assert.deepEqual(await redis.lmpop(2, [k("missing"), k("mp")], "LEFT"), [k("mp"), [1]]);
      assert.deepEqual(await redis.lmpop(1, [k("mp")], "RIGHT", 2), [k("mp"), [4, 3]]);
      assert.deepEqual(await redis.lmpop(1, [k("mp")], "LEFT", 10), [k("mp"), [2]]);
      assert.equal(await redis.lmpop(2, [k("mp"), k("missing")], "LEFT"), null);
      await redis.set(k("str"), "s");
      await assert.rejects(redis.lmpop(1, [k("str")], "LEFT"), /WRONGTYPE/);
      await assert.rejects(redis.lmove(k("str"), k("l2"), "left", "left"), /WRONGTYPE/);
    });

    test("sets: sadd, scard, sismember, smismember, smembers, srem, smove", async () => {
      assert.equal(await redis.sadd(k("s1"), "a", "b", "c"), 3);
      assert.equal(await redis.sadd(k("s1"), "a", "d"), 1);
      assert.equal(await redis.scard(k("s1")), 4);
      assert.equal(await redis.scard(k("missing")), 0);
      assert.equal(await redis.sismember(k("s1"), "a"), 1);
      assert.equal(await redis.sismember(k("s1"), "z"), 0);
      assert.equal(await redis.sismember(k("missing"), "z"), 0);
      assert.deepEqual(await redis.smismember(k("s1"), ["a", "z", "d"]), [1, 0, 1]);
      assert.deepEqual(await redis.smismember(k("missing"), ["a"]), [0]);
      assert.deepEqual(sorted(await redis.smembers(k("s1"))), ["a", "b", "c", "d"]);
      assert.deepEqual(await redis.smembers(k("missing")), []);

      assert.equal(await redis.sadd(k("nums"), 3, 1, 2), 3);
      assert.deepEqual(sorted(await redis.smembers(k("nums"))), [1, 2, 3]);
      assert.equal(await redis.sadd(k("objs"), { a: 1 }), 1);
      assert.deepEqual(await redis.smembers(k("objs")), [{ a: 1 }]);
      assert.equal(await redis.sismember(k("objs"), { a: 1 }), 1);

      assert.equal(await redis.srem(k("s1"), "b", "zz"), 1);
      assert.equal(await redis.srem(k("missing"), "b"), 0);
      assert.equal(await redis.smove(k("s1"), k("s2"), "a"), 1);
      assert.equal(await redis.smove(k("s1"), k("s2"), "zz"), 0);
      assert.deepEqual(await redis.smembers(k("s2")), ["a"]);
      assert.deepEqual(sorted(await redis.smembers(k("s1"))), ["c", "d"]);
      await redis.set(k("str"), "s");
      await assert.rejects(redis.sadd(k("str"), "x"), /WRONGTYPE/);
      await assert.rejects(redis.smove(k("s1"), k("str"), "c"), /WRONGTYPE/);
    });

    test("sets: sdiff, sinter, sunion, their *store forms, sintercard", async () => {
      await redis.sadd(k("s1"), "a", "b", "c", "d");
      await redis.sadd(k("s2"), "c", "d", "e");
      assert.deepEqual(sorted(await redis.sdiff(k("s1"), k("s2"))), ["a", "b"]);
      assert.deepEqual(sorted(await redis.sdiff(k("s1"), k("missing"))), ["a", "b", "c", "d"]);
      assert.deepEqual(sorted(await redis.sinter(k("s1"), k("s2"))), ["c", "d"]);
      assert.deepEqual(await redis.sinter(k("s1"), k("missing")), []);
      assert.deepEqual(sorted(await redis.sunion(k("s1"), k("s2"))), ["a", "b", "c", "d", "e"]);

      assert.equal(await redis.sdiffstore(k("d"), k("s1"), k("s2")), 2);
      assert.deepEqual(sorted(await redis.smembers(k("d"))), ["a", "b"]);
      assert.equal(await redis.sinterstore(k("i"), k("s1"), k("s2")), 2);
      assert.deepEqual(sorted(await redis.smembers(k("i"))), ["c", "d"]);
      assert.equal(await redis.sunionstore(k("u"), k("s1"), k("s2")), 5);
      assert.equal(await redis.scard(k("u")), 5);
      assert.equal(await redis.sinterstore(k("u"), k("s1"), k("missing")), 0);
      assert.equal(await redis.exists(k("u")), 0, "an empty result deletes the destination");

      assert.equal(await redis.sintercard([k("s1"), k("s2")]), 2);
      assert.equal(await redis.sintercard([k("s1"), k("s2")], { limit: 1 }), 1);
      assert.equal(await redis.sintercard([k("s1"), k("s2")], { limit: 0 }), 2);
      assert.equal(await redis.sintercard([k("s1")]), 4);
      assert.equal(await redis.sintercard([k("s1"), k("missing")]), 0);
      await assert.rejects(redis.sintercard([k("s1")], { limit: -1 }), /ERR LIMIT can't be negative/);
    });

    test("sets: spop, srandmember, sscan", async () => {
      await redis.sadd(k("n"), 1, 2, 3);
      const popped = await redis.spop(k("n"));
      assert.ok([1, 2, 3].includes(popped), `spop → ${popped}`);
      const rest = await redis.spop(k("n"), 5);
      assert.deepEqual(sorted([popped, ...rest]), [1, 2, 3]);
      assert.equal(await redis.exists(k("n")), 0);
      assert.equal(await redis.spop(k("missing")), null);
      assert.deepEqual(await redis.spop(k("missing"), 2), []);

      await redis.sadd(k("s"), "a", "b", "c");
      assert.ok(["a", "b", "c"].includes(await redis.srandmember(k("s"))));
      const two = await redis.srandmember(k("s"), 2);
      assert.equal(two.length, 2);
      assert.equal(new Set(two).size, 2);
      assert.deepEqual(sorted(await redis.srandmember(k("s"), 10)), ["a", "b", "c"]);
      const many = await redis.srandmember(k("s"), -10);
      assert.equal(many.length, 10);
      for (const m of many) assert.ok(["a", "b", "c"].includes(m));
      assert.equal(await redis.scard(k("s")), 3, "SRANDMEMBER removes nothing");
      assert.equal(await redis.srandmember(k("missing")), null);
      assert.deepEqual(await redis.srandmember(k("missing"), 3), []);

      const [cursor, members] = await redis.sscan(k("s"), 0);
      assert.equal(cursor, "0");
      assert.deepEqual(sorted(members), ["a", "b", "c"]);
      assert.deepEqual(await redis.sscan(k("s"), 0, { match: "b*", count: 100 }), ["0", ["b"]]);
      assert.deepEqual(await redis.sscan(k("missing"), 0), ["0", []]);
      const big = Array.from({ length: 300 }, (_, i) => `m${i}`);
      await redis.sadd(k("big"), ...big);
      assert.deepEqual(sorted(new Set(await scanAll((c) => redis.sscan(k("big"), c, { count: 25 })))), sorted(big));
      const numbers = Array.from({ length: 200 }, (_, i) => i);
      await redis.sadd(k("ints"), ...numbers);
      const scannedNumbers = await scanAll((c) => redis.sscan(k("ints"), c, { count: 30 }));
      assert.deepEqual([...new Set(scannedNumbers)].sort((a, b) => a - b), numbers);
    });

    test("sorted sets: zcard, zcount, zincrby, zmscore, zrank, zrevrank, zrem", async () => {
      assert.equal(await redis.zadd(k("z"), { score: 1, member: "a" }, { score: 2, member: "b" }, { score: 3, member: "c" }), 3);
      assert.equal(await redis.zcard(k("z")), 3);
      assert.equal(await redis.zcard(k("missing")), 0);
      assert.equal(await redis.zcount(k("z"), 2, 3), 2);
      assert.equal(await redis.zcount(k("z"), "(1", "+inf"), 2);
      assert.equal(await redis.zcount(k("z"), "-inf", "(3"), 2);
      assert.equal(await redis.zcount(k("z"), 5, 10), 0);
      await assert.rejects(redis.zcount(k("z"), "x", 3), /ERR min or max is not a float/);

      assert.equal(await redis.zincrby(k("z"), 2.5, "a"), 3.5);
      assert.equal(await redis.zincrby(k("z"), -1, "new"), -1);
      assert.equal(await redis.zincrby(k("z"), 0.1, "new"), -0.9);
      assert.deepEqual(await redis.zmscore(k("z"), ["a", "b", "zz", "new"]), [3.5, 2, null, -0.9]);
      assert.deepEqual(await redis.zmscore(k("missing"), ["a"]), [null]);

      // scores: new -0.9, b 2, c 3, a 3.5
      assert.equal(await redis.zrank(k("z"), "new"), 0);
      assert.equal(await redis.zrank(k("z"), "b"), 1);
      assert.equal(await redis.zrank(k("z"), "a"), 3);
      assert.equal(await redis.zrank(k("z"), "zz"), null);
      assert.equal(await redis.zrevrank(k("z"), "a"), 0);
      assert.equal(await redis.zrevrank(k("z"), "b"), 2);
      assert.equal(await redis.zrevrank(k("missing"), "b"), null);

      assert.equal(await redis.zrem(k("z"), "new", "zz"), 1);
      assert.equal(await redis.zrem(k("missing"), "a"), 0);
      assert.deepEqual(await redis.zrange(k("z"), 0, -1, { withScores: true }), ["b", 2, "c", 3, "a", 3.5]);
      await redis.set(k("str"), "s");
      await assert.rejects(redis.zincrby(k("str"), 1, "a"), /WRONGTYPE/);
    });

    test("sorted sets: zunion, zunionstore, zinterstore, zdiffstore", async () => {
      await redis.zadd(k("z1"), { score: 1, member: "a" }, { score: 2, member: "b" }, { score: 3, member: "c" });
      await redis.zadd(k("z2"), { score: 10, member: "b" }, { score: 20, member: "c" }, { score: 30, member: "d" });

      assert.deepEqual(await redis.zunion(2, [k("z1"), k("z2")]), ["a", "b", "c", "d"]);
      assert.deepEqual(await redis.zunion(2, [k("z1"), k("z2")], { withScores: true }), ["a", 1, "b", 12, "c", 23, "d", 30]);
      assert.deepEqual(
        await redis.zunion(2, [k("z1"), k("z2")], { weights: [2, 1], aggregate: "min", withScores: true }),
        ["a", 2, "b", 4, "c", 6, "d", 30],
      );
      assert.deepEqual(await redis.zunion(1, k("z1"), { weight: 3, withScores: true }), ["a", 3, "b", 6, "c", 9]);
      assert.deepEqual(await redis.zunion(2, [k("z1"), k("missing")], { aggregate: "max", withScores: true }), ["a", 1, "b", 2, "c", 3]);

      assert.equal(await redis.zunionstore(k("u"), 2, [k("z1"), k("z2")]), 4);
      assert.deepEqual(await redis.zrange(k("u"), 0, -1, { withScores: true }), ["a", 1, "b", 12, "c", 23, "d", 30]);
      assert.equal(await redis.zunionstore(k("u1"), 1, k("z1"), { weight: 2 }), 3);
      assert.deepEqual(await redis.zrange(k("u1"), 0, -1, { withScores: true }), ["a", 2, "b", 4, "c", 6]);
      assert.equal(await redis.zunionstore(k("u2"), 2, [k("z1"), k("z2")], { weights: [1, 2], aggregate: "max" }), 4);
      assert.deepEqual(await redis.zrange(k("u2"), 0, -1, { withScores: true }), ["a", 1, "b", 20, "c", 40, "d", 60]);

      assert.equal(await redis.zinterstore(k("i"), 2, [k("z1"), k("z2")]), 2);
      assert.deepEqual(await redis.zrange(k("i"), 0, -1, { withScores: true }), ["b", 12, "c", 23]);
      assert.equal(await redis.zinterstore(k("i2"), 2, [k("z1"), k("z2")], { weights: [1, 0.5], aggregate: "sum" }), 2);
      assert.deepEqual(await redis.zrange(k("i2"), 0, -1, { withScores: true }), ["b", 7, "c", 13]);
      assert.equal(await redis.zinterstore(k("i3"), 1, k("z2"), { weight: 0.1, aggregate: "min" }), 3);
      assert.deepEqual(await redis.zrange(k("i3"), 0, -1, { withScores: true }), ["b", 1, "c", 2, "d", 3]);
      assert.equal(await redis.zinterstore(k("i"), 2, [k("z1"), k("missing")]), 0);
      assert.equal(await redis.exists(k("i")), 0);

      assert.equal(await redis.zdiffstore(k("d"), 2, k("z1"), k("z2")), 1);
      assert.deepEqual(await redis.zrange(k("d"), 0, -1, { withScores: true }), ["a", 1]);
      assert.equal(await redis.zdiffstore(k("d"), 1, k("z2")), 3);
      assert.equal(await redis.zdiffstore(k("d"), 2, k("missing"), k("z1")), 0);
      assert.equal(await redis.exists(k("d")), 0);
      await assert.rejects(redis.zunion(3, [k("z1"), k("z2")]), /ERR syntax error|ERR/);
    });

    test("sorted sets: zlexcount, zremrangeby{lex,rank,score}, zpopmin, zpopmax, zscan", async () => {
      await redis.zadd(k("lex"), ...["a", "b", "c", "d", "e"].map((member) => ({ score: 0, member })));
      assert.equal(await redis.zlexcount(k("lex"), "[b", "[d"), 3);
      assert.equal(await redis.zlexcount(k("lex"), "-", "+"), 5);
      assert.equal(await redis.zlexcount(k("lex"), "(a", "(c"), 1);
      assert.equal(await redis.zlexcount(k("missing"), "-", "+"), 0);
      await assert.rejects(redis.zlexcount(k("lex"), "a", "c"), /ERR min or max not valid string range item/);
      assert.equal(await redis.zremrangebylex(k("lex"), "[a", "(c"), 2);
      assert.deepEqual(await redis.zrange(k("lex"), 0, -1), ["c", "d", "e"]);
      assert.equal(await redis.zremrangebyrank(k("lex"), 0, 0), 1);
      assert.equal(await redis.zremrangebyrank(k("lex"), -1, -1), 1);
      assert.deepEqual(await redis.zrange(k("lex"), 0, -1), ["d"]);

      const members = [1, 2, 3, 4, 5].map((score) => ({ score, member: `m${score}` }));
      await redis.zadd(k("z"), ...members);
      assert.equal(await redis.zremrangebyscore(k("z"), 2, "(4"), 2);
      assert.equal(await redis.zremrangebyscore(k("z"), "-inf", 0), 0);
      assert.deepEqual(await redis.zrange(k("z"), 0, -1, { withScores: true }), ["m1", 1, "m4", 4, "m5", 5]);

      assert.deepEqual(await redis.zpopmin(k("z")), ["m1", 1]);
      assert.deepEqual(await redis.zpopmax(k("z")), ["m5", 5]);
      await redis.zadd(k("z"), ...members);
      assert.deepEqual(await redis.zpopmin(k("z"), 2), ["m1", 1, "m2", 2]);
      assert.deepEqual(await redis.zpopmax(k("z"), 2), ["m5", 5, "m4", 4]);
      assert.deepEqual(await redis.zpopmax(k("z"), 10), ["m3", 3]);
      assert.equal(await redis.exists(k("z")), 0);
      assert.deepEqual(await redis.zpopmin(k("missing")), []);
      assert.deepEqual(await redis.zpopmax(k("missing"), 3), []);

      await redis.zadd(k("z"), ...members);
      const [zcursor, zflat] = await redis.zscan(k("z"), 0);
      assert.equal(zcursor, "0");
      assert.deepEqual(pairs(zflat), { m1: 1, m2: 2, m3: 3, m4: 4, m5: 5 });
      assert.deepEqual(await redis.zscan(k("z"), 0, { match: "*3" }), ["0", ["m3", 3]]);
      assert.deepEqual(await redis.zscan(k("missing"), 0, { count: 5 }), ["0", []]);
      const big = Array.from({ length: 300 }, (_, i) => ({ score: i / 2, member: `big${i}` }));
      await redis.zadd(k("big"), ...big);
      const items = await scanAll((c) => redis.zscan(k("big"), c, { count: 40 }));
      assert.deepEqual(pairs(items), Object.fromEntries(big.map(({ score, member }) => [member, score])));
    });

    test("scripting: scriptLoad, evalRo, evalshaRo", async () => {
      const script = "return {KEYS[1], ARGV[1], redis.call('GET', KEYS[1])}";
      const sha = await redis.scriptLoad(script);
      assert.match(sha, /^[0-9a-f]{40}$/);
      assert.equal(await redis.scriptLoad(script), sha, "loading twice gives the same digest");
      assert.deepEqual(await redis.scriptExists(sha), [1]);
      await redis.set(k("sk"), "42");
      assert.deepEqual(await redis.evalRo(script, [k("sk")], ["x"]), [k("sk"), "x", 42]);
      assert.deepEqual(await redis.evalshaRo(sha, [k("sk")], ["y"]), [k("sk"), "y", 42]);
      assert.equal(await redis.evalRo("return 7", [], []), 7);
      assert.equal(await redis.evalRo("return ARGV[1]", []), null, "no args: ARGV[1] is nil");
      await assert.rejects(
        redis.evalRo("return redis.call('SET', KEYS[1], 'v')", [k("sk")], []),
        /Write commands are not allowed from read-only scripts/,
      );
      await assert.rejects(redis.evalshaRo("0".repeat(40), [], []), /NOSCRIPT/);
      assert.equal(await redis.get(k("sk")), 42);
    });
  });
}

describe("server-wide commands", () => {
  for (const { name, opts } of CONFIGS) {
    test(`${name}: ping, echo, clientSetinfo, dbsize, randomkey, flushdb, flushall`, async () => {
      const redis = client(opts);
      assert.equal(await redis.ping(), "PONG");
      // The SDK types the message as a one-element tuple: ping(["hello"]).
      assert.equal(await redis.ping(["hello"]), "hello");
      assert.equal(await redis.ping(["123"]), 123);
      assert.equal(await redis.echo("hi there"), "hi there");
      assert.equal(await redis.echo("3.25"), 3.25);
      assert.deepEqual(await redis.echo({ a: [1, 2] }), { a: [1, 2] });
      assert.equal(await redis.clientSetinfo("LIB-NAME", "stashd-tests"), "OK");
      assert.equal(await redis.clientSetinfo("lib-ver", "1.2.3"), "OK");
      await assert.rejects(redis.clientSetinfo("lib-name", "has space"), /ERR/);

      assert.equal(await redis.flushdb(), "OK");
      assert.equal(await redis.dbsize(), 0);
      assert.equal(await redis.randomkey(), null);
      await redis.mset({ a: 1, b: 2, c: 3 });
      assert.equal(await redis.dbsize(), 3);
      assert.ok(["a", "b", "c"].includes(await redis.randomkey()));
      await redis.set("only-expired", "x", { px: 1 });
      await server.jumpClock(10);
      assert.equal(await redis.dbsize() >= 3, true);
      assert.equal(await redis.flushdb({ async: true }), "OK");
      assert.equal(await redis.dbsize(), 0);
      await redis.set("one", "1");
      assert.equal(await redis.randomkey(), "one");
      assert.equal(await redis.flushall(), "OK");
      assert.equal(await redis.dbsize(), 0);
      await redis.set("two", "2");
      assert.equal(await redis.flushall([{ async: true }]), "OK");
      assert.equal(await redis.dbsize(), 0);
    });
  }
});

describe("pipelines, transactions and auto-pipelining across families", () => {
  test("pipeline() mixes strings, sets, sorted sets, hashes and lists; results are deserialized per command", async () => {
    const redis = client({ enableAutoPipelining: false });
    const p = redis.pipeline();
    p.set("p:s", "1")
      .incrbyfloat("p:s", 0.5)
      .append("p:s", "0")
      .getrange("p:s", 0, -1)
      .sadd("p:set", "a", "b")
      .smismember("p:set", ["a", "x"])
      .zadd("p:z", { score: 1, member: "one" }, { score: 2, member: "two" })
      .zincrby("p:z", 5, "one")
      .zpopmax("p:z")
      .hmset("p:h", { f: 1, g: { deep: true } })
      .hmget("p:h", "f", "g")
      .rpush("p:l", "x", "y")
      .lpos("p:l", "y")
      .copy("p:s", "p:s2")
      .getdel("p:s2")
      .echo("99");
    assert.equal(p.length(), 16);
    assert.deepEqual(await p.exec(), [
      "OK",
      1.5,
      4,
      "1.50", // JSON.parse gives 1.5, which does not print back as "1.50": the SDK keeps the string
      2,
      [1, 0],
      2,
      6,
      ["one", 6],
      "OK",
      { f: 1, g: { deep: true } },
      2,
      1,
      "COPIED",
      "1.50",
      99,
    ]);
  });

  test("pipeline exec: an error rejects exec(), keepErrors returns it in place", async () => {
    const redis = client({ enableAutoPipelining: false });
    await redis.set("pe:str", "text");
    const build = () => redis.pipeline().set("pe:a", 1).lset("pe:none", 0, "x").incr("pe:a").sadd("pe:str", "m").scard("pe:set");
    await assert.rejects(build().exec(), /ERR no such key/);
    const results = await build().exec({ keepErrors: true });
    assert.deepEqual(
      results.map((r) => r.result),
      ["OK", undefined, 2, undefined, 0],
    );
    assert.match(results[1].error, /ERR no such key/);
    assert.match(results[3].error, /WRONGTYPE/);
    assert.equal(results[0].error, undefined);
  });

  test("multi() is atomic and mixes families; a runtime error does not roll back the others", async () => {
    const redis = client({ enableAutoPipelining: false });
    assert.equal(await redis.flushdb(), "OK");
    const tx = redis.multi();
    tx.setex("m:s", 100, "v")
      .getex("m:s", { persist: true })
      .ttl("m:s")
      .sadd("m:set", 1, 2, 3)
      .sismember("m:set", 2)
      .sintercard(["m:set"])
      .zadd("m:z", { score: 1, member: "a" }, { score: 2, member: "b" })
      .zrank("m:z", "b")
      .zmscore("m:z", ["a", "b"])
      .rpush("m:l", "1", "2")
      .lindex("m:l", 1)
      .hsetnx("m:h", "f", "v")
      .hstrlen("m:h", "f")
      .decrby("m:n", 5)
      .renamenx("m:n", "m:n2")
      .dbsize();
    assert.deepEqual(await tx.exec(), ["OK", "v", -1, 3, 1, 3, 2, 1, [1, 2], 2, 2, 1, 1, -5, 1, 6]);

    const bad = redis.multi().set("m:x", "1").hincrbyfloat("m:s", "f", 1).incr("m:x");
    const res = await bad.exec({ keepErrors: true });
    assert.equal(res[0].result, "OK");
    assert.match(res[1].error, /WRONGTYPE/);
    assert.equal(res[2].result, 2);
    assert.equal(await redis.get("m:x"), 2);
  });

  test("auto-pipelining batches concurrent calls of different families into one request", async () => {
    const redis = client();
    await redis.set("ap:warm", "1"); // the first request goes out alone
    await Promise.all([redis.sadd("ap:set", "a"), redis.rpush("ap:l", "x", "y"), redis.zadd("ap:z", { score: 1, member: "m" })]);
    const spy = spyOnFetch();
    try {
      const results = await Promise.all([
        redis.incrbyfloat("ap:f", 2.5),
        redis.scard("ap:set"),
        redis.lindex("ap:l", -1),
        redis.zincrby("ap:z", 1, "m"),
        redis.hmset("ap:h", { a: "1" }),
        redis.getex("ap:warm", { ex: 10 }),
        redis.lset("ap:missing", 0, "v").catch((e) => `rejected: ${e.message}`),
        redis.echo("after the error"),
      ]);
      assert.match(results[6], /^rejected: .*ERR no such key/);
      results[6] = "rejected";
      assert.deepEqual(results, [2.5, 1, "y", 2, "OK", 1, "rejected", "after the error"]);
      assert.ok(spy.calls.length >= 1 && spy.calls.length <= 2, `expected one read and one write batch, got ${spy.calls.length}`);
      for (const c of spy.calls) assert.equal(c.path, "/pipeline");
    } finally {
      spy.restore();
    }
    // Commands the SDK keeps out of auto-pipelines still work through the proxy.
    assert.equal(typeof (await redis.dbsize()), "number");
    assert.deepEqual(await redis.sscan("ap:set", 0), ["0", ["a"]]);
    assert.deepEqual(await redis.zscan("ap:z", 0), ["0", ["m", 2]]);
  });
});

describe("long double arithmetic, as Redis", () => {
  // Redis adds INCRBYFLOAT/HINCRBYFLOAT operands as x87 `long double` and prints "%.17Lf" with
  // trailing zeros trimmed, so 0.1 + 0.2 answers "0.3" (not f64's "0.30000000000000004").
  test("incrbyfloat/hincrbyfloat: 0.1 + 0.2 is 0.3 as in Redis", async () => {
    const redis = client({ enableAutoPipelining: false });
    await redis.set("kd:f", "0.1");
    assert.equal(await redis.incrbyfloat("kd:f", 0.2), 0.3);
    await redis.hset("kd:h", { f: "1.1" });
    assert.equal(await redis.hincrbyfloat("kd:h", "f", 2.2), 3.3);
  });
});
