// Hash field expiration through @upstash/redis: the 12 SDK methods (hexpire, hexpireat,
// hexpiretime, hpexpire, hpexpireat, hpexpiretime, httl, hpttl, hpersist, hgetdel, hgetex,
// hsetex), their deserialized reply shapes, and expiry under DEBUG JUMP-CLOCK (never sleeps).
import assert from "node:assert/strict";
import { test } from "node:test";
import { useStashd } from "./harness.mjs";

const ctx = useStashd();

/** The server's clock in ms (DEBUG JUMP-CLOCK moves it ahead of the host's). */
async function serverNow() {
  const [s, us] = await ctx.redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

test("hexpire, hpexpire, hexpireat, hpexpireat: per-field replies and conditions", async () => {
  const r = ctx.redis;
  assert.equal(await r.hset("ht:a", { f1: "v1", f2: "v2", f3: "v3" }), 3);
  assert.deepEqual(await r.hexpire("ht:a", ["f1", "nope"], 100), [1, -2]);
  assert.deepEqual(await r.hexpire("ht:a", "f1", 50, "NX"), [0]);
  assert.deepEqual(await r.hexpire("ht:a", "f1", 200, "GT"), [1]);
  assert.deepEqual(await r.hexpire("ht:a", "f2", 10, "XX"), [0]);
  assert.deepEqual(await r.hexpire("ht:a", "f2", 10, "LT"), [1]); // no TTL counts as infinite
  assert.deepEqual(await r.hpexpire("ht:a", ["f3"], 150_000), [1]);
  const now = await serverNow();
  assert.deepEqual(await r.hexpireat("ht:a", "f2", Math.floor(now / 1000) + 300), [1]);
  assert.deepEqual(await r.hpexpireat("ht:a", ["f3"], now + 400_000, "GT"), [1]);
  assert.deepEqual(await r.hexpire("nokey:ht", ["x", "y"], 10), [-2, -2]);
  // A time in the past deletes the field (2) and, with the last field, the key.
  assert.equal(await r.hset("ht:past", { a: "1" }), 1);
  assert.deepEqual(await r.hpexpireat("ht:past", "a", 1), [2]);
  assert.equal(await r.exists("ht:past"), 0);
});

test("httl, hpttl, hexpiretime, hpexpiretime, hpersist", async () => {
  const r = ctx.redis;
  await r.hset("ht:t", { a: "1", b: "2" });
  await r.hexpire("ht:t", "a", 100);
  const now = await serverNow();
  assert.deepEqual(await r.httl("ht:t", ["a", "b", "zz"]), [100, -1, -2]);
  const [pttl] = await r.hpttl("ht:t", "a");
  assert.ok(pttl > 99_000 && pttl <= 100_000, `hpttl ${pttl}`);
  const [at] = await r.hpexpiretime("ht:t", ["a"]);
  assert.ok(Math.abs(at - (now + 100_000)) < 2_000, `hpexpiretime ${at}`);
  const [atS, none] = await r.hexpiretime("ht:t", ["a", "b"]);
  assert.ok(Math.abs(atS - (now + 100_000) / 1000) < 3, `hexpiretime ${atS}`);
  assert.equal(none, -1);
  assert.deepEqual(await r.hpersist("ht:t", ["a", "b", "zz"]), [1, -1, -2]);
  assert.deepEqual(await r.httl("ht:t", "a"), [-1]);
  assert.deepEqual(await r.httl("nokey:ht", "a"), [-2]);
});

test("hgetdel and hgetex return field objects (null when nothing was there)", async () => {
  const r = ctx.redis;
  await r.hset("ht:g", { a: "x", b: 2, c: "z" });
  assert.deepEqual(await r.hgetdel("ht:g", "a", "zz"), { a: "x", zz: null });
  assert.equal(await r.hgetdel("ht:g", "zz"), null);
  assert.equal(await r.hexists("ht:g", "a"), 0);
  assert.deepEqual(await r.hgetex("ht:g", { ex: 100 }, "b"), { b: 2 });
  assert.deepEqual(await r.httl("ht:g", "b"), [100]);
  assert.deepEqual(await r.hgetex("ht:g", { px: 5_000 }, "b", "c"), { b: 2, c: "z" });
  const now = await serverNow();
  assert.deepEqual(await r.hgetex("ht:g", { exat: Math.floor(now / 1000) + 60 }, "c"), { c: "z" });
  assert.deepEqual(await r.hgetex("ht:g", { pxat: now + 70_000 }, "c"), { c: "z" });
  assert.deepEqual(await r.hgetex("ht:g", { persist: true }, "b", "c"), { b: 2, c: "z" });
  assert.deepEqual(await r.httl("ht:g", ["b", "c"]), [-1, -1]);
  assert.equal(await r.hgetex("nokey:ht", { ex: 10 }, "a"), null);
  assert.deepEqual(await r.hgetdel("ht:g", "b", "c"), { b: 2, c: "z" });
  assert.equal(await r.exists("ht:g"), 0);
});

test("hsetex: conditions, expirations and KEEPTTL", async () => {
  const r = ctx.redis;
  assert.equal(await r.hsetex("ht:s", { expiration: { ex: 100 } }, { a: "1", b: "2" }), 1);
  assert.deepEqual(await r.httl("ht:s", ["a", "b"]), [100, 100]);
  assert.equal(await r.hsetex("ht:s", { conditional: "FNX" }, { a: "9" }), 0);
  assert.equal(await r.hsetex("ht:s", { conditional: "FXX" }, { a: "9", z: "0" }), 0);
  assert.equal(await r.hsetex("ht:s", { conditional: "FXX", expiration: { keepttl: true } }, { a: "10" }), 1);
  assert.deepEqual(await r.httl("ht:s", "a"), [100]);
  assert.equal(await r.hsetex("ht:s", {}, { a: "11" }), 1);
  assert.deepEqual(await r.httl("ht:s", "a"), [-1]);
  assert.equal(await r.hsetex("ht:s", { conditional: "FNX", expiration: { px: 2_500 } }, { c: "3" }), 1);
  const now = await serverNow();
  assert.equal(await r.hsetex("ht:s", { expiration: { exat: Math.floor(now / 1000) + 50 } }, { d: "4" }), 1);
  assert.equal(await r.hsetex("ht:s", { expiration: { pxat: now + 60_000 } }, { e: "5" }), 1);
  const [c, d, e] = await r.hpttl("ht:s", ["c", "d", "e"]);
  assert.ok(c > 2_000 && c <= 2_500 && d > 45_000 && d <= 50_000 && e > 55_000 && e <= 60_000, `${c} ${d} ${e}`);
  assert.deepEqual(await r.hgetall("ht:s"), { a: 11, b: 2, c: 3, d: 4, e: 5 });
});

test("expired fields disappear (and the emptied key with them) once the clock passes", async () => {
  const r = ctx.redis;
  await r.hset("ht:x", { keep: "k", gone: "g" });
  await r.hsetex("ht:x2", { expiration: { px: 500 } }, { only: "o" });
  await r.hexpire("ht:x", "gone", 5);
  await ctx.server.jumpClock(6_000);
  assert.equal(await r.hget("ht:x", "gone"), null);
  assert.deepEqual(await r.hgetall("ht:x"), { keep: "k" });
  assert.equal(await r.hlen("ht:x"), 1);
  assert.deepEqual(await r.httl("ht:x", ["gone", "keep"]), [-2, -1]);
  assert.equal(await r.exists("ht:x2"), 0);
});

test("errors: WRONGTYPE and bad arguments reach the SDK as Redis's texts", async () => {
  const r = ctx.redis;
  await r.set("ht:str", "v");
  await assert.rejects(r.hexpire("ht:str", "a", 10), /WRONGTYPE Operation against a key holding the wrong kind of value/);
  await assert.rejects(r.httl("ht:str", "a"), /WRONGTYPE/);
  await assert.rejects(r.hsetex("ht:str", {}, { a: "1" }), /WRONGTYPE/);
  await r.hset("ht:e", { a: "1" });
  await assert.rejects(r.hexpire("ht:e", "a", -1), /ERR invalid expire time, must be >= 0/);
  await assert.rejects(r.hpexpireat("ht:e", "a", 2 ** 48), /ERR invalid expire time in 'hpexpireat' command/);
  await assert.rejects(r.hexpire("ht:e", [], 10), /ERR wrong number of arguments for 'hexpire' command/);
  assert.deepEqual(await r.httl("ht:e", "a"), [-1]);
});

test("the commands in a pipeline and a transaction", async () => {
  const r = ctx.redis;
  await r.hset("ht:p", { a: "1", b: "2" });
  const p = r.pipeline();
  p.hexpire("ht:p", "a", 100);
  p.httl("ht:p", ["a", "b"]);
  p.hgetdel("ht:p", "b");
  p.hsetex("ht:p", { expiration: { ex: 10 } }, { c: "3" });
  assert.deepEqual(await p.exec(), [[1], [100, -1], { b: 2 }, 1]);
  const m = r.multi();
  m.hpersist("ht:p", "a");
  m.hgetex("ht:p", { persist: true }, "c");
  m.httl("ht:p", ["a", "c"]);
  assert.deepEqual(await m.exec(), [[1], { c: 3 }, [-1, -1]]);
});
