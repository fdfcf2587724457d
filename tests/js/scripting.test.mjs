// Lua scripting through the official packages: @upstash/ratelimit (single- and multi-region,
// dynamic limits, timeout, analytics readers) and @upstash/lock (both pure EVAL/EVALSHA users),
// and @upstash/redis's createScript and functions API (FUNCTION */FCALL/FCALL_RO), against
// stashd's REST face.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { Redis } from "@upstash/redis";
import { Analytics, MultiRegionRatelimit, Ratelimit } from "@upstash/ratelimit";
import { Lock } from "@upstash/lock";
import { sdkClient, startStashd } from "./harness.mjs";

let server;
let redis;
let seq = 0;
const unique = (name) => `${name}-${process.pid}-${++seq}`;
/** Windows long enough that no test straddles a window boundary (buckets are floor(now / window)). */
const DAY = "1 d";
const DAY_MS = 86_400_000;

const clientFor = (srv) => sdkClient(srv);

before(async () => {
  server = await startStashd();
  redis = clientFor(server);
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
    // A window of a day: a 60 s window aligned to the clock rolled over between the two calls once.
    const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(1, DAY), prefix: unique("block"), analytics: false });
    const id = unique("u");
    assert.equal((await rl.blockUntilReady(id, 200)).success, true);
    const started = Date.now();
    assert.equal((await rl.blockUntilReady(id, 300)).success, false);
    assert.ok(Date.now() - started < 5000);
  });

  test("analytics: true records usage without breaking limits", async () => {
    const prefix = unique("an");
    const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(2, DAY), prefix, analytics: true });
    const id = unique("u");
    const other = unique("v");
    const results = [];
    for (const who of [id, id, id, other]) {
      const r = await rl.limit(who);
      await r.pending; // the analytics write (ZINCRBY) is part of pending
      results.push(r.success);
    }
    assert.deepEqual(results, [true, true, false, true]);

    // Read back what was recorded, the way the package's analytics readers do (all Lua over
    // ZUNION/ZRANGE of the hourly buckets `${prefix}:events:<hour>`, members are JSON events).
    const analytics = new Analytics({ redis, prefix });
    assert.deepEqual(await analytics.getUsage(), {
      [id]: { success: 2, blocked: 1 },
      [other]: { success: 1, blocked: 0 },
    });

    // Two hourly buckets so that an hour boundary between limit() and here changes nothing.
    const sumBuckets = (buckets, field) => {
      const total = {};
      for (const b of buckets) for (const [k, v] of Object.entries(b[field] ?? {})) total[k] = (total[k] ?? 0) + v;
      return total;
    };
    const byIdentifier = await analytics.getUsageOverTime(2, "identifier");
    assert.equal(byIdentifier.length, 2);
    assert.deepEqual(sumBuckets(byIdentifier, "identifier"), { [id]: 3, [other]: 1 });
    const bySuccess = await analytics.getUsageOverTime(2, "success");
    assert.deepEqual(sumBuckets(bySuccess, "success"), { true: 3, false: 1 });

    assert.deepEqual(await analytics.getMostAllowedBlocked(2, 5), {
      allowed: [
        { identifier: id, count: 2 },
        { identifier: other, count: 1 },
      ],
      ratelimited: [{ identifier: id, count: 1 }],
      denied: [],
    });
    // getTop limits each group.
    const top1 = await analytics.getMostAllowedBlocked(2, 1);
    assert.deepEqual(top1.allowed, [{ identifier: id, count: 2 }]);
  });

  test("dynamic limits: setDynamicLimit overrides the configured limit for every identifier", async () => {
    const prefix = unique("dyn");
    // ephemeralCache: false, or a denial would be remembered locally (reason "cacheBlock") and
    // later calls would never reach the server.
    const opts = { redis, prefix, analytics: false, dynamicLimits: true, ephemeralCache: false };
    const rl = new Ratelimit({ ...opts, limiter: Ratelimit.fixedWindow(5, DAY) });
    const id = unique("u");
    assert.deepEqual(await rl.getDynamicLimit(), { dynamicLimit: null });

    let r = await rl.limit(id);
    assert.deepEqual([r.success, r.limit, r.remaining], [true, 5, 4]);
    r = await rl.limit(id);
    assert.deepEqual([r.success, r.limit, r.remaining], [true, 5, 3]);

    await rl.setDynamicLimit({ limit: 3 });
    assert.deepEqual(await rl.getDynamicLimit(), { dynamicLimit: 3 });
    assert.equal(await redis.get(`${prefix}:dynamic:global`), 3);
    r = await rl.limit(id);
    assert.deepEqual([r.success, r.limit, r.remaining], [true, 3, 0]);
    r = await rl.limit(id);
    assert.deepEqual([r.success, r.limit, r.remaining], [false, 3, 0]);
    assert.deepEqual(await rl.getRemaining(id), { remaining: 0, reset: (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS, limit: 3 });

    // Another instance with the same prefix shares the global limit.
    const twin = new Ratelimit({ ...opts, limiter: Ratelimit.fixedWindow(5, DAY) });
    assert.deepEqual(await twin.getDynamicLimit(), { dynamicLimit: 3 });

    await rl.setDynamicLimit({ limit: 10 });
    const rem = await rl.getRemaining(id);
    assert.deepEqual([rem.remaining, rem.limit], [6, 10]); // 4 used so far

    await rl.setDynamicLimit({ limit: false });
    assert.deepEqual(await rl.getDynamicLimit(), { dynamicLimit: null });
    assert.equal(await redis.exists(`${prefix}:dynamic:global`), 0);
    r = await rl.limit(id);
    assert.deepEqual([r.success, r.limit, r.remaining], [true, 5, 0]);
    r = await rl.limit(id);
    assert.deepEqual([r.success, r.limit, r.remaining], [false, 5, 0]);

    // Without dynamicLimits the setter refuses (client-side check).
    const plain = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(5, DAY), prefix, analytics: false });
    await assert.rejects(plain.setDynamicLimit({ limit: 1 }), /dynamicLimits must be enabled/);
  });

  for (const [name, make] of [
    ["fixedWindow", () => Ratelimit.fixedWindow(5, DAY)],
    ["slidingWindow", () => Ratelimit.slidingWindow(5, DAY)],
    ["tokenBucket", () => Ratelimit.tokenBucket(1, DAY, 5)],
  ]) {
    test(`dynamic limits: ${name} obeys a dynamic limit set before the first request`, async () => {
      const rl = new Ratelimit({ redis, limiter: make(), prefix: unique(`dyn-${name}`), analytics: false, dynamicLimits: true });
      await rl.setDynamicLimit({ limit: 2 });
      const id = unique("u");
      const out = [];
      for (let i = 0; i < 3; i++) {
        const r = await rl.limit(id);
        out.push([r.success, r.limit, r.remaining]);
      }
      assert.deepEqual(out, [
        [true, 2, 1],
        [true, 2, 0],
        [false, 2, 0],
      ]);
      const rem = await rl.getRemaining(id);
      assert.deepEqual([rem.remaining, rem.limit], [0, 2]);
    });

    test(`getRemaining / resetUsedTokens: ${name} exact counts`, async () => {
      const rl = new Ratelimit({ redis, limiter: make(), prefix: unique(`rem-${name}`), analytics: false });
      const id = unique("u");
      const t0 = Date.now();
      const fresh = await rl.getRemaining(id);
      assert.deepEqual([fresh.remaining, fresh.limit], [5, 5]);
      assert.deepEqual((await hammer(rl, id, 3)).map(([ok]) => ok), [true, true, true]);
      const t1 = Date.now();
      const rem = await rl.getRemaining(id);
      assert.deepEqual([rem.remaining, rem.limit], [2, 5]);
      if (name === "tokenBucket") {
        // reset = refilledAt (the first limit() call's clock) + interval
        assert.ok(rem.reset >= t0 + DAY_MS && rem.reset <= t1 + DAY_MS, `reset ${rem.reset}`);
      } else {
        assert.equal(rem.reset, (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS);
      }
      // getRemaining does not consume.
      assert.equal((await rl.getRemaining(id)).remaining, 2);
      assert.deepEqual(await hammer(rl, id, 3), [
        [true, 1],
        [true, 0],
        [false, 0],
      ]);
      assert.equal((await rl.getRemaining(id)).remaining, 0);

      await rl.resetUsedTokens(id);
      assert.equal((await rl.getRemaining(id)).remaining, 5);
      assert.deepEqual((await hammer(rl, id, 6)).map(([ok, r]) => `${ok}:${r}`), [
        "true:4",
        "true:3",
        "true:2",
        "true:1",
        "true:0",
        "false:0",
      ]);
    });
  }

  test("resetUsedTokens only clears the given identifier", async () => {
    const rl = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(3, DAY), prefix: unique("reset"), analytics: false });
    const a = unique("a");
    const b = unique("b");
    await hammer(rl, a, 2);
    await hammer(rl, b, 2);
    await rl.resetUsedTokens(a);
    assert.equal((await rl.getRemaining(a)).remaining, 3);
    assert.equal((await rl.getRemaining(b)).remaining, 1);
  });

  test("timeout: a limiter with a timeout still counts exactly against a live server", async () => {
    const rl = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(3, DAY),
      prefix: unique("to"),
      analytics: false,
      timeout: 1000,
      ephemeralCache: false, // every call goes to the server
    });
    const id = unique("u");
    const out = [];
    for (let i = 0; i < 5; i++) {
      const r = await rl.limit(id);
      out.push([r.success, r.remaining, r.limit, r.reason]);
    }
    assert.deepEqual(out, [
      [true, 2, 3, undefined],
      [true, 1, 3, undefined],
      [true, 0, 3, undefined],
      [false, 0, 3, undefined],
      [false, 0, 3, undefined],
    ]);
  });

  test("timeout: an unreachable Redis fails open with reason 'timeout'", async () => {
    const port = await closedPort();
    const deadUrl = `http://127.0.0.1:${port}`;
    // Connection refused is immediate; the SDK retries after 1 s, so the 500 ms timeout wins.
    const retrying = new Redis({ url: deadUrl, token: "x", retry: { retries: 1, backoff: () => 1000 }, enableTelemetry: false });
    const rl = new Ratelimit({ redis: retrying, limiter: Ratelimit.fixedWindow(1, DAY), prefix: unique("dead"), analytics: false, timeout: 500 });
    const started = Date.now();
    const r = await rl.limit("u");
    const took = Date.now() - started;
    assert.ok(took >= 450 && took < 1000, `limit() took ${took} ms`);
    const { pending, ...rest } = r;
    assert.deepEqual(rest, { success: true, limit: 0, remaining: 0, reset: 0, reason: "timeout" });
    await pending;
    // Without retries the refused connection rejects before the timeout: limit() throws.
    const noRetry = new Redis({ url: deadUrl, token: "x", retry: false, enableTelemetry: false });
    const strict = new Ratelimit({ redis: noRetry, limiter: Ratelimit.fixedWindow(1, DAY), prefix: unique("dead"), analytics: false, timeout: 500 });
    await assert.rejects(strict.limit("u"), (e) => /fetch failed|ECONNREFUSED/.test(`${e} ${e?.cause}`));
  });

  test("timeout: a server that never answers fails open with reason 'timeout'", async () => {
    const sockets = new Set();
    const hole = net.createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
    });
    await new Promise((r) => hole.listen(0, "127.0.0.1", r));
    try {
      const silent = new Redis({ url: `http://127.0.0.1:${hole.address().port}`, token: "x", retry: false, enableTelemetry: false });
      const rl = new Ratelimit({ redis: silent, limiter: Ratelimit.fixedWindow(1, DAY), prefix: unique("hole"), analytics: false, timeout: 300 });
      const started = Date.now();
      const r = await rl.limit("u");
      assert.ok(Date.now() - started >= 250, "resolved before the timeout");
      const { pending, ...rest } = r;
      assert.deepEqual(rest, { success: true, limit: 0, remaining: 0, reset: 0, reason: "timeout" });
      await pending;
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hole.close(r));
    }
  });
});

/** A 127.0.0.1 port nothing listens on (bound, then released). */
function closedPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

describe("@upstash/ratelimit MultiRegionRatelimit (3 stashd instances)", () => {
  let extra = [];
  let regions;

  before(async () => {
    extra = await Promise.all([startStashd(), startStashd()]);
    regions = [redis, ...extra.map(clientFor)];
  });

  after(async () => {
    await Promise.all(extra.map((s) => s.stop()));
  });

  /** The single window key the limiter wrote under `prefix:id:` in each region, with its fields. */
  async function regionState(prefix, id) {
    return Promise.all(
      regions.map(async (r) => {
        const keys = await r.keys(`${prefix}:${id}:*`);
        assert.equal(keys.length, 1, `keys ${JSON.stringify(keys)}`);
        return (await r.hkeys(keys[0])).map(String).sort();
      }),
    );
  }

  test("fixedWindow: exactly 5 allowed, then denied; every region holds every request", async () => {
    const prefix = unique("mr-fw");
    const rl = new MultiRegionRatelimit({ redis: regions, limiter: MultiRegionRatelimit.fixedWindow(5, DAY), prefix, analytics: false });
    const id = unique("u");
    const out = [];
    for (let i = 0; i < 7; i++) {
      const r = await rl.limit(id);
      await r.pending; // the cross-region sync
      out.push([r.success, r.limit, r.remaining, r.reason]);
    }
    assert.deepEqual(
      out.map(([ok]) => ok),
      [true, true, true, true, true, false, false],
    );
    // MultiRegionRatelimit always has an ephemeral cache (its constructor drops
    // ephemeralCache: false): the 7th call is denied locally and never reaches a region.
    assert.deepEqual(
      out.map(([, , , reason]) => reason),
      [undefined, undefined, undefined, undefined, undefined, undefined, "cacheBlock"],
    );
    assert.deepEqual(
      out.slice(0, 5).map(([, limit, rem]) => [limit, rem]),
      [
        [5, 4],
        [5, 3],
        [5, 2],
        [5, 1],
        [5, 0],
      ],
    );
    // The fixed-window script records the denied 6th request too: 6 request ids in each region.
    const state = await regionState(prefix, id);
    assert.equal(state[0].length, 6);
    assert.deepEqual(state[1], state[0]);
    assert.deepEqual(state[2], state[0]);
    assert.deepEqual(await rl.getRemaining(id), { remaining: 0, reset: (Math.floor(Date.now() / DAY_MS) + 1) * DAY_MS, limit: 5 });
  });

  test("fixedWindow: pending copies requests a region missed to the other regions", async () => {
    const prefix = unique("mr-sync");
    const id = unique("u");
    const limiter = () => MultiRegionRatelimit.fixedWindow(5, DAY);
    // Three requests seen by region 0 only.
    const onlyFirst = new MultiRegionRatelimit({ redis: [regions[0]], limiter: limiter(), prefix, analytics: false });
    for (let i = 0; i < 3; i++) {
      const r = await onlyFirst.limit(id);
      await r.pending;
      assert.equal(r.remaining, 4 - i);
    }
    const onlyLast = new MultiRegionRatelimit({ redis: [regions[2]], limiter: limiter(), prefix, analytics: false });
    assert.equal((await onlyLast.getRemaining(id)).remaining, 5);

    const all = new MultiRegionRatelimit({ redis: regions, limiter: limiter(), prefix, analytics: false });
    let r = await all.limit(id);
    assert.equal(r.success, true); // remaining depends on which region answered first
    await r.pending;
    const state = await regionState(prefix, id);
    assert.equal(state[0].length, 4);
    assert.deepEqual(state[1], state[0]);
    assert.deepEqual(state[2], state[0]);
    assert.equal((await onlyLast.getRemaining(id)).remaining, 1);

    r = await all.limit(id);
    await r.pending;
    assert.deepEqual([r.success, r.remaining], [true, 0]);
    r = await all.limit(id);
    await r.pending;
    assert.equal(r.success, false);
  });

  test("slidingWindow: exactly 5 allowed, then denied; denied requests are not recorded", async () => {
    const prefix = unique("mr-sw");
    const rl = new MultiRegionRatelimit({ redis: regions, limiter: MultiRegionRatelimit.slidingWindow(5, DAY), prefix, analytics: false });
    const id = unique("u");
    const out = [];
    for (let i = 0; i < 7; i++) {
      const r = await rl.limit(id);
      await r.pending;
      out.push([r.success, r.remaining, r.reason]);
    }
    assert.deepEqual(out, [
      [true, 4, undefined],
      [true, 3, undefined],
      [true, 2, undefined],
      [true, 1, undefined],
      [true, 0, undefined],
      [false, 0, undefined],
      [false, 0, "cacheBlock"],
    ]);
    const state = await regionState(prefix, id);
    assert.equal(state[0].length, 5);
    assert.deepEqual(state[1], state[0]);
    assert.deepEqual(state[2], state[0]);
    assert.equal((await rl.getRemaining(id)).remaining, 0);
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

describe("@upstash/redis functions (FUNCTION LOAD/LIST/STATS/DELETE/FLUSH, FCALL, FCALL_RO)", () => {
  const libCode = (lib, step = "args[1]") =>
    `#!lua name=${lib}\n` +
    `redis.register_function('incr_by', function(keys, args) return redis.call('INCRBY', keys[1], ${step}) end)\n` +
    `redis.register_function('echo', function(keys, args) return {#keys, #args, keys[1], args[1]} end)\n` +
    `redis.register_function{function_name='get_ro', callback=function(keys, args) return redis.call('GET', keys[1]) end, flags={'no-writes'}, description='reads'}\n` +
    `redis.register_function{function_name='set_ro', callback=function(keys, args) return redis.call('SET', keys[1], args[1]) end, flags={'no-writes'}}\n` +
    `redis.register_function('set_rw', function(keys, args) return redis.call('SET', keys[1], args[1]) end)\n`;

  test("load, call with keys/args, callRo, list, stats, replace, delete, flush", async () => {
    assert.equal(await redis.functions.flush(), "OK");
    assert.deepEqual(await redis.functions.list(), []);
    const lib = `mylib_${process.pid}_${++seq}`;
    const code = libCode(lib);
    assert.equal(await redis.functions.load({ code }), lib);
    await assert.rejects(redis.functions.load({ code }), new RegExp(`ERR Library '${lib}' already exists`));

    const key = unique("fk");
    assert.equal(await redis.functions.call("incr_by", [key], ["5"]), 5);
    assert.equal(await redis.functions.call("incr_by", [key], [7]), 12);
    assert.deepEqual(await redis.functions.call("echo", [key, "k2"], ["x", "y", "z"]), [2, 3, key, "x"]);
    // No keys/args (numkeys 0); Lua-to-Redis conversion stops at the first nil.
    assert.deepEqual(await redis.functions.call("echo"), [0, 0]);
    assert.equal(await redis.functions.callRo("get_ro", [key]), 12);

    // A no-writes function that writes fails when it runs, under FCALL and FCALL_RO alike.
    await assert.rejects(redis.functions.callRo("set_ro", [key], ["v"]), /ERR Write commands are not allowed from read-only scripts/);
    await assert.rejects(redis.functions.call("set_ro", [key], ["v"]), /ERR Write commands are not allowed from read-only scripts/);
    // A writing function through FCALL_RO: refused (Redis 7 refuses before running; the hosted
    // service lets it run and fails the write); either way nothing is written.
    await assert.rejects(
      redis.functions.callRo("set_rw", [key], ["v"]),
      /ERR Write commands are not allowed from read-only scripts|ERR Can not execute a script with write flag using \*_ro command/,
    );
    assert.equal(await redis.get(key), 12);
    assert.equal(await redis.functions.call("set_rw", [key], ["v"]), "OK");
    assert.equal(await redis.get(key), "v");
    await assert.rejects(redis.functions.call("nosuch", [], []), /ERR Function not found/);

    // Pipelined.
    const p = redis.pipeline();
    p.set(key, 1);
    p.functions.call("incr_by", [key], ["2"]);
    p.functions.callRo("get_ro", [key]);
    assert.deepEqual(await p.exec(), ["OK", 3, 3]);

    const listed = await redis.functions.list({ libraryName: lib, withCode: true });
    assert.equal(listed.length, 1);
    const [entry] = listed;
    assert.equal(entry.libraryName, lib);
    assert.equal(entry.engine, "LUA");
    assert.equal(entry.libraryCode, code);
    assert.deepEqual(
      [...entry.functions].sort((x, y) => x.name.localeCompare(y.name)),
      [
        { name: "echo", description: undefined, flags: [] },
        { name: "get_ro", description: "reads", flags: ["no-writes"] },
        { name: "incr_by", description: undefined, flags: [] },
        { name: "set_ro", description: undefined, flags: ["no-writes"] },
        { name: "set_rw", description: undefined, flags: [] },
      ],
    );
    const [noCode] = await redis.functions.list({ libraryName: lib });
    assert.equal(noCode.libraryCode, undefined);
    assert.deepEqual(await redis.functions.list({ libraryName: "no_such_lib*" }), []);
    assert.deepEqual(await redis.functions.stats(), { engines: { LUA: { librariesCount: 1, functionsCount: 5 } } });

    // REPLACE swaps the code in place.
    assert.equal(await redis.functions.load({ code: libCode(lib, "args[1] * 10"), replace: true }), lib);
    await redis.set(key, 0);
    assert.equal(await redis.functions.call("incr_by", [key], ["2"]), 20);

    // A second library; a clashing function name is refused and changes nothing.
    const lib2 = `other_${process.pid}_${++seq}`;
    assert.equal(await redis.functions.load({ code: `#!lua name=${lib2}\nredis.register_function('two', function() return 2 end)` }), lib2);
    await assert.rejects(
      redis.functions.load({ code: `#!lua name=clash_${seq}\nredis.register_function('two', function() return 3 end)` }),
      /ERR Function two already exists/,
    );
    assert.equal(await redis.functions.call("two"), 2);
    assert.deepEqual(await redis.functions.stats(), { engines: { LUA: { librariesCount: 2, functionsCount: 6 } } });

    assert.equal(await redis.functions.delete(lib), "OK");
    await assert.rejects(redis.functions.delete(lib), /ERR Library not found/);
    await assert.rejects(redis.functions.call("incr_by", [key], ["1"]), /ERR Function not found/);
    assert.deepEqual(
      (await redis.functions.list()).map((l) => l.libraryName),
      [lib2],
    );

    assert.equal(await redis.functions.flush(), "OK");
    assert.deepEqual(await redis.functions.list(), []);
    assert.deepEqual(await redis.functions.stats(), { engines: { LUA: { librariesCount: 0, functionsCount: 0 } } });
    await assert.rejects(redis.functions.call("two"), /ERR Function not found/);
  });
});
