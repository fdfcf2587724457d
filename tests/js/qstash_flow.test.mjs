// Flow control through @upstash/qstash against the real server: the parallelism cap (a receiver
// that holds requests), the rate cap, flowControl.get / pause / resume / pin / unpin /
// resetRate / getGlobalParallelism, and the key list (GET /v2/flowControl, which the 2.12 SDK has
// no method for).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { QstashError } from "@upstash/qstash";
import { holdingReceiver, rejectsWith, sleep, useQstash } from "./qstash_harness.mjs";

const ctx = useQstash();

/** Polls flowControl.get(key) until `pred` holds (real time, briefly). */
async function waitForFlow(key, pred, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const info = await ctx.client.flowControl.get(key);
    if (pred(info)) return info;
    if (Date.now() > deadline) throw new Error(`flow control ${key} never reached the expected state: ${JSON.stringify(info)}`);
    await sleep(25);
  }
}

describe("flow control", () => {
  test("parallelism caps the deliveries in flight for a key", async () => {
    const r = await holdingReceiver(ctx);
    const flowControl = { key: "fc-par", parallelism: 2 };
    for (let i = 0; i < 5; i++) await ctx.client.publish({ url: r.url(`/fc/${i}`), body: `${i}`, flowControl });
    await r.waitFor(2);
    await r.quiet(300);
    assert.equal(r.inFlight(), 2);
    const info = await waitForFlow("fc-par", (i) => i.waitListSize === 3);
    assert.equal(info.flowControlKey, "fc-par");
    assert.equal(info.parallelismMax, 2);
    assert.equal(info.parallelismCount, 2);
    assert.equal(info.isPaused, false);
    assert.equal(info.isPinnedParallelism, false);
    assert.equal(info.isPinnedRate, false);
    const global = await ctx.client.flowControl.getGlobalParallelism();
    assert.ok(global.parallelismMax > 0);
    assert.ok(global.parallelismCount >= 2, JSON.stringify(global));

    r.releaseOne();
    await r.waitFor(3);
    await r.quiet(200);
    assert.equal(r.inFlight(), 2);
    r.releaseAll();
    await r.waitFor(5);
    r.releaseAll();
    assert.equal(r.maxInFlight(), 2);
    await waitForFlow("fc-par", (i) => i.waitListSize === 0 && i.parallelismCount === 0);
    const after = await ctx.client.flowControl.getGlobalParallelism();
    assert.deepEqual(Object.keys(after).sort(), ["parallelismCount", "parallelismMax"]);
  });

  test("rate caps the starts per period; resetRate starts a new period", async () => {
    const r = await ctx.receiver();
    const flowControl = { key: "fc-rate", rate: 1, period: "1h" };
    await ctx.client.publish({ url: r.url("/rate/0"), body: "0", flowControl });
    await ctx.client.publish({ url: r.url("/rate/1"), body: "1", flowControl });
    await r.waitFor(1);
    await r.quiet(300);
    const info = await waitForFlow("fc-rate", (i) => i.waitListSize === 1);
    assert.equal(info.rateMax, 1);
    assert.equal(info.rateCount, 1);
    assert.equal(info.ratePeriod, 3600);
    assert.equal(typeof info.ratePeriodStart, "number");
    assert.ok(info.ratePeriodStart < 1e11, "ratePeriodStart is in seconds");
    await ctx.client.flowControl.resetRate("fc-rate");
    await r.waitFor(2);
    await ctx.client.publish({ url: r.url("/rate/2"), body: "2", flowControl });
    await r.quiet(300);
    await ctx.q.jumpClock(3_600_000);
    await r.waitFor(3);
  });

  test("pause holds a key's messages in the wait list; resume lets them go", async () => {
    const r = await ctx.receiver();
    const flowControl = { key: "fc-pause", parallelism: 5 };
    await ctx.client.publish({ url: r.url("/pause/0"), body: "0", flowControl });
    await r.waitFor(1);
    await ctx.client.flowControl.pause("fc-pause");
    assert.equal((await ctx.client.flowControl.get("fc-pause")).isPaused, true);
    await ctx.client.publish({ url: r.url("/pause/1"), body: "1", flowControl });
    await ctx.client.publish({ url: r.url("/pause/2"), body: "2", flowControl });
    await r.quiet(300);
    await waitForFlow("fc-pause", (i) => i.waitListSize === 2);
    await ctx.client.flowControl.resume("fc-pause");
    assert.equal((await ctx.client.flowControl.get("fc-pause")).isPaused, false);
    await r.waitFor(3);
  });

  test("pin fixes the configuration over the messages' own; unpin releases it", async () => {
    const r = await ctx.receiver();
    await ctx.client.publish({ url: r.url("/pin"), body: "x", flowControl: { key: "fc-pin", parallelism: 1, rate: 5, period: 10 } });
    await r.waitFor(1);
    await ctx.client.flowControl.pin("fc-pin", { parallelism: 3, rate: 20, period: 120 });
    let info = await ctx.client.flowControl.get("fc-pin");
    assert.equal(info.parallelismMax, 3);
    assert.equal(info.rateMax, 20);
    assert.equal(info.ratePeriod, 120);
    assert.equal(info.isPinnedParallelism, true);
    assert.equal(info.isPinnedRate, true);
    assert.equal(info.rateCount, 0, "pinning resets the rate count");
    // A message with its own settings does not change a pinned key.
    await ctx.client.publish({ url: r.url("/pin"), body: "y", flowControl: { key: "fc-pin", parallelism: 7 } });
    await r.waitFor(2);
    info = await ctx.client.flowControl.get("fc-pin");
    assert.equal(info.parallelismMax, 3);
    await ctx.client.flowControl.unpin("fc-pin", { parallelism: true, rate: true });
    info = await ctx.client.flowControl.get("fc-pin");
    assert.equal(info.isPinnedParallelism, false);
    assert.equal(info.isPinnedRate, false);
    assert.equal(info.parallelismMax, 3, "the last configuration stays until a message brings a new one");
    await ctx.client.publish({ url: r.url("/pin"), body: "z", flowControl: { key: "fc-pin", parallelism: 7 } });
    await r.waitFor(3);
    assert.equal((await ctx.client.flowControl.get("fc-pin")).parallelismMax, 7);
  });

  test("the legacy ratePerSecond means rate (per second)", async () => {
    const r = await ctx.receiver();
    const { messageId } = await ctx.client.publish({ url: r.url("/rps"), body: "x", delay: 60, flowControl: { key: "fc-rps", ratePerSecond: 5 } });
    const m = await ctx.client.messages.get(messageId);
    assert.equal(m.flowControlKey, "fc-rps");
    assert.equal(m.rate, 5);
    assert.equal(m.period, 1);
    const info = await ctx.client.flowControl.get("fc-rps");
    assert.equal(info.rateMax, 5);
    assert.equal(info.ratePeriod, 1);
    await ctx.client.messages.cancel(messageId);
  });

  test("the key list (GET /v2/flowControl), search, and 404 for an unknown key", async () => {
    const r = await ctx.receiver();
    await ctx.client.publish({ url: r.url("/list"), body: "x", flowControl: { key: "fc-list-me", parallelism: 1 } });
    await r.waitFor(1);
    const all = await ctx.q.api("GET", "/v2/flowControl");
    assert.equal(all.status, 200);
    assert.ok(Array.isArray(all.json));
    const mine = all.json.find((k) => k.flowControlKey === "fc-list-me");
    assert.ok(mine, JSON.stringify(all.json));
    assert.deepEqual(Object.keys(mine).sort(), [
      "flowControlKey", "isPaused", "isPinnedParallelism", "isPinnedRate", "parallelismCount", "parallelismMax",
      "rateCount", "rateMax", "ratePeriod", "ratePeriodStart", "waitListSize",
    ].sort());
    const searched = await ctx.q.api("GET", "/v2/flowControl?search=list-me");
    assert.deepEqual(searched.json.map((k) => k.flowControlKey), ["fc-list-me"]);
    await rejectsWith(ctx.client.flowControl.get("fc-unknown"), 404);
    await rejectsWith(ctx.client.flowControl.pause("fc-unknown"), 404);
    await rejectsWith(ctx.client.flowControl.resetRate("fc-unknown"), 404);
  });
});
