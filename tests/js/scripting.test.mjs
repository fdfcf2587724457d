// Lua scripting through the official packages: @upstash/ratelimit and @upstash/lock (both pure
// EVAL/EVALSHA users) and @upstash/redis's createScript, against stashd's REST face.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "@upstash/redis";
import { Ratelimit } from "@upstash/ratelimit";
import { Lock } from "@upstash/lock";
import { startStashd } from "./harness.mjs";

let server;
let redis;
let seq = 0;
const unique = (name) => `${name}-${process.pid}-${++seq}`;

before(async () => {
  server = await startStashd();
  redis = new Redis({ url: server.url, token: server.token, retry: { retries: 0 }, enableTelemetry: false });
});

after(async () => {
  await server?.stop();
});

/** Calls limit() n times in sequence and returns the success flags and remaining counts. */
async function hammer(rl, id, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = await rl.limit(id);
    out.push([r.success, r.remaining]);
  }
  return out;
}

describe("@upstash/ratelimit", () => {
  for (const [name, make] of [
    ["fixedWindow", () => Ratelimit.fixedWindow(5, "60 s")],
    ["slidingWindow", () => Ratelimit.slidingWindow(5, "60 s")],
    ["tokenBucket", () => Ratelimit.tokenBucket(1, "60 s", 5)],
  ]) {
    test(`${name}: exactly 5 allowed in the window, then denied; reset restores`, async () => {
      const rl = new Ratelimit({ redis, limiter: make(), prefix: unique(`rl-${name}`), analytics: false });
      const id = unique("user");
      const results = await hammer(rl, id, 7);
      assert.deepEqual(
        results.map(([ok]) => ok),
        [true, true, true, true, true, false, false],
      );
      assert.deepEqual(
        results.slice(0, 5).map(([, rem]) => rem),
        [4, 3, 2, 1, 0],
      );
      const { remaining } = await rl.getRemaining(id);
      assert.equal(remaining, 0);
      await rl.resetUsedTokens(id);
      assert.equal((await rl.limit(id)).success, true);
    });
  }

  test("separate identifiers and prefixes do not share counters", async () => {
    const a = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(2, "60 s"), prefix: unique("p1"), analytics: false });
    const b = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(2, "60 s"), prefix: unique("p2"), analytics: false });
    const id = unique("shared-id");
    assert.deepEqual((await hammer(a, id, 3)).map(([ok]) => ok), [true, true, false]);
    assert.deepEqual((await hammer(b, id, 2)).map(([ok]) => ok), [true, true]);
    assert.equal((await a.limit(unique("other"))).success, true);
  });

  test("cachedFixedWindow with an ephemeral cache denies locally once blocked", async () => {
    const rl = new Ratelimit({
      redis,
      limiter: Ratelimit.cachedFixedWindow(3, "60 s"),
      prefix: unique("cached"),
      ephemeralCache: new Map(),
      analytics: false,
    });
    const id = unique("u");
    assert.deepEqual((await hammer(rl, id, 5)).map(([ok]) => ok), [true, true, true, false, false]);
  });

  test("concurrent limit() calls (auto-pipelined EVALSHA) allow exactly the limit", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(10, "60 s"), prefix: unique("conc"), analytics: false });
    const id = unique("u");
    const results = await Promise.all(Array.from({ length: 25 }, () => rl.limit(id)));
    assert.equal(results.filter((r) => r.success).length, 10);
  });

  test("blockUntilReady gives up within its timeout when denied", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(1, "60 s"), prefix: unique("block"), analytics: false });
    const id = unique("u");
    assert.equal((await rl.blockUntilReady(id, 200)).success, true);
    const started = Date.now();
    assert.equal((await rl.blockUntilReady(id, 300)).success, false);
    assert.ok(Date.now() - started < 5000);
  });

  test("analytics: true records usage without breaking limits", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(2, "60 s"), prefix: unique("an"), analytics: true });
    const id = unique("u");
    const results = [];
    for (let i = 0; i < 3; i++) {
      const r = await rl.limit(id);
      await r.pending;
      results.push(r.success);
    }
    assert.deepEqual(results, [true, true, false]);
  });
});

describe("@upstash/redis createScript", () => {
  test("EVALSHA falls back to EVAL on NOSCRIPT, then hits the cache", async () => {
    await redis.scriptFlush();
    const script = redis.createScript("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}");
    const key = unique("k");
    assert.deepEqual(await script.exec([key], ["x"]), [key, "x", 1]);
    assert.deepEqual(await script.exec([key], ["y"]), [key, "y", 2]);
    const [exists] = await redis.scriptExists(script.sha1);
    assert.equal(exists, 1);
  });

  test("script errors reach the caller with Redis's text", async () => {
    const key = unique("s");
    await redis.set(key, "abc");
    await assert.rejects(redis.eval("return redis.call('INCR', KEYS[1])", [key], []), /ERR value is not an integer or out of range script: /);
    await assert.rejects(redis.evalsha("0".repeat(40), [], []), /NOSCRIPT No matching script/);
  });
});

describe("@upstash/lock", () => {
  test("acquire is exclusive, extend and release work", async () => {
    const id = unique("lock");
    const a = new Lock({ id, redis, lease: 5000, retry: { attempts: 1, delay: 10 } });
    const b = new Lock({ id, redis, lease: 5000, retry: { attempts: 1, delay: 10 } });
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    assert.equal(await a.extend(5000), true);
    assert.equal(await b.release(), false);
    assert.equal(await a.release(), true);
    assert.equal(await b.acquire(), true);
    assert.equal(await b.release(), true);
  });
});
