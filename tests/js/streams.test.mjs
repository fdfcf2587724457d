// Streams and consumer groups through @upstash/redis: every stream method of the SDK with the
// reply shapes it hands back (xrange deserialized to an object, the rest as Redis arrays).
import assert from "node:assert/strict";
import { test } from "node:test";
import { useStashd } from "./harness.mjs";

const ctx = useStashd();

test("xadd, xrange, xrevrange, xlen, xdel, xtrim, xread", async () => {
  const r = ctx.redis;
  for (let i = 1; i <= 5; i++) assert.equal(await r.xadd("st:a", `${i}-0`, { n: i, s: `v${i}` }), `${i}-0`);
  const auto = await r.xadd("st:a", "*", { n: 6 }, { trim: { type: "MAXLEN", comparison: "=", threshold: 5 } });
  assert.match(auto, /^\d{13}-0$/);
  assert.equal(await r.xlen("st:a"), 5);
  assert.deepEqual(await r.xrange("st:a", "-", "(3-0"), { "2-0": { n: 2, s: "v2" } });
  assert.deepEqual(Object.keys(await r.xrevrange("st:a", "+", "-", 2)), [auto, "5-0"]);
  assert.equal(await r.xdel("st:a", ["2-0", "9-0"]), 1);
  assert.equal(await r.xtrim("st:a", { strategy: "MINID", threshold: "5-0", exactness: "=" }), 2);
  assert.deepEqual(await r.xread("st:a", "0", { count: 1 }), [["st:a", [["5-0", ["n", 5, "s", "v5"]]]]]);
  assert.equal(await r.xadd("st:none", "*", { a: 1 }, { nomkStream: true }), null);
});

test("consumer groups: create, read, pending, claim, autoclaim, ack, info", async () => {
  const r = ctx.redis;
  for (let i = 1; i <= 4; i++) await r.xadd("st:g", `${i}-0`, { job: `j${i}` });
  assert.equal(await r.xgroup("st:g", { type: "CREATE", group: "workers", id: "0" }), "OK");
  await assert.rejects(r.xgroup("st:g", { type: "CREATE", group: "workers", id: "0" }), /BUSYGROUP/);
  assert.equal(await r.xgroup("st:new", { type: "CREATE", group: "g", id: "$", options: { MKSTREAM: true } }), "OK");
  assert.equal(await r.xgroup("st:g", { type: "CREATECONSUMER", group: "workers", consumer: "spare" }), 1);
  assert.deepEqual(await r.xreadgroup("workers", "w1", "st:g", ">", { count: 2 }), [
    ["st:g", [["1-0", ["job", "j1"]], ["2-0", ["job", "j2"]]]],
  ]);
  assert.deepEqual(await r.xreadgroup("workers", "w2", "st:g", ">", { count: 1 }), [["st:g", [["3-0", ["job", "j3"]]]]]);
  const pending = await r.xpending("st:g", "workers", "-", "+", 10);
  assert.deepEqual(
    pending.map(([id, consumer, , times]) => [id, consumer, times]),
    [["1-0", "w1", 1], ["2-0", "w1", 1], ["3-0", "w2", 1]],
  );
  const mine = await r.xpending("st:g", "workers", "-", "+", 10, { consumer: "w2" });
  assert.deepEqual(mine.map((p) => p[0]), ["3-0"]);
  assert.deepEqual(await r.xclaim("st:g", "workers", "w3", 0, ["1-0"]), [["1-0", ["job", "j1"]]]);
  assert.deepEqual(await r.xclaim("st:g", "workers", "w3", 0, "2-0", { justId: true }), ["2-0"]);
  assert.deepEqual(await r.xautoclaim("st:g", "workers", "w4", 0, "0-0", { count: 1, justId: true }), ["2-0", ["1-0"], []]);
  assert.equal(await r.xack("st:g", "workers", ["1-0", "9-0"]), 1);
  const groups = await r.xinfo("st:g", { type: "GROUPS" });
  assert.deepEqual(groups, [
    ["name", "workers", "consumers", 5, "pending", 2, "last-delivered-id", "3-0", "entries-read", 3, "lag", 1],
  ]);
  const consumers = await r.xinfo("st:g", { type: "CONSUMERS", group: "workers" });
  assert.deepEqual(consumers.map((c) => [c[1], c[3]]), [["spare", 0], ["w1", 0], ["w2", 1], ["w3", 1], ["w4", 0]]);
  // The hosted service: a NOACK read creates no consumer; a missing group lists none.
  await r.xreadgroup("workers", "ghost", "st:g", ">", { NOACK: true });
  assert.equal((await r.xinfo("st:g", { type: "CONSUMERS", group: "workers" })).length, 5);
  assert.deepEqual(await r.xinfo("st:g", { type: "CONSUMERS", group: "nope" }), []);
  assert.equal(await r.xgroup("st:g", { type: "SETID", group: "workers", id: "0", options: { ENTRIESREAD: 0 } }), "OK");
  assert.equal(await r.xgroup("st:g", { type: "DELCONSUMER", group: "workers", consumer: "w2" }), 1);
  assert.equal(await r.xgroup("st:g", { type: "DESTROY", group: "workers" }), 1);
  await assert.rejects(r.xreadgroup("workers", "w1", "st:g", ">"), /NOGROUP/);
});

test("xackdel, xdelex and trimming policies (Redis 8.2)", async () => {
  const r = ctx.redis;
  for (let i = 1; i <= 3; i++) await r.xadd("st:p", `${i}-0`, { i });
  await r.xgroup("st:p", { type: "CREATE", group: "g1", id: "0" });
  await r.xgroup("st:p", { type: "CREATE", group: "g2", id: "0" });
  await r.xreadgroup("g1", "c", "st:p", ">");
  assert.deepEqual(await r.xdelex("st:p", "ACKED", "1-0"), [2]);
  assert.deepEqual(await r.xackdel("st:p", "g1", "KEEPREF", "1-0", "7-0"), [1, -1]);
  assert.deepEqual(await r.xdelex("st:p", "DELREF", "2-0"), [1]);
  assert.deepEqual(await r.xdelex("st:p", undefined, "3-0"), [1]);
  assert.equal(await r.xlen("st:p"), 0);
});

test("a pipeline of stream commands", async () => {
  const p = ctx.redis.pipeline();
  p.xadd("st:pipe", "1-0", { a: 1 });
  p.xgroup("st:pipe", { type: "CREATE", group: "g", id: "0" });
  p.xreadgroup("g", "c", "st:pipe", ">");
  p.xack("st:pipe", "g", "1-0");
  p.xadd("st:pipe", "1-0", { a: 2 });
  p.xlen("st:pipe");
  await assert.rejects(p.exec(), /equal or smaller than the target stream top item/);
  const q = ctx.redis.pipeline();
  q.xlen("st:pipe");
  q.xpending("st:pipe", "g", "-", "+", 5);
  assert.deepEqual(await q.exec(), [1, []]);
});
