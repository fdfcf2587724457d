// FIFO queues through @upstash/qstash against the real server: queue().upsert / get / list /
// delete / pause / resume / enqueue / enqueueJSON, strict ordering with parallelism 1, the cap of
// a higher parallelism, pausing, auto-creation on first enqueue.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { QstashError } from "@upstash/qstash";
import { holdingReceiver, rejectsWith, sleep, useQstash, waitForLogs } from "./qstash_harness.mjs";

const ctx = useQstash();

describe("queues", () => {
  test("upsert, get, list, pause, resume and delete", async () => {
    const queue = ctx.client.queue({ queueName: "q-admin" });
    await queue.upsert({ parallelism: 2 });
    const got = await queue.get();
    assert.equal(got.name, "q-admin");
    assert.equal(got.parallelism, 2);
    assert.equal(got.paused, false);
    assert.equal(got.lag, 0);
    assert.equal(typeof got.createdAt, "number");
    assert.equal(typeof got.updatedAt, "number");
    assert.deepEqual(Object.keys(got).sort(), ["createdAt", "lag", "name", "parallelism", "paused", "updatedAt"]);

    await queue.upsert({ parallelism: 3, paused: true });
    const updated = await queue.get();
    assert.equal(updated.parallelism, 3);
    assert.equal(updated.paused, true);
    assert.equal(updated.createdAt, got.createdAt);
    await queue.resume();
    assert.equal((await queue.get()).paused, false);
    await queue.pause();
    await queue.pause(); // idempotent
    assert.equal((await queue.get()).paused, true);
    await queue.resume();
    await queue.resume();
    assert.equal((await queue.get()).paused, false);

    const list = await ctx.client.queue().list();
    assert.ok(list.some((q) => q.name === "q-admin" && q.parallelism === 3));

    await queue.delete();
    await rejectsWith(queue.get(), 404);
    assert.ok(!(await ctx.client.queue().list()).some((q) => q.name === "q-admin"));
    await rejectsWith(ctx.client.queue({ queueName: "bad name!" }).upsert({}), 400);
  });

  test("parallelism 1 delivers strictly in order, one at a time", async () => {
    const r = await holdingReceiver(ctx);
    const queue = ctx.client.queue({ queueName: "q-fifo" });
    await queue.upsert({ parallelism: 1 });
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const res = i % 2 === 0 ? await queue.enqueue({ url: r.url(`/fifo/${i}`), body: `m${i}` }) : await queue.enqueueJSON({ url: r.url(`/fifo/${i}`), body: { i } });
      assert.match(res.messageId, /^msg_/);
      ids.push(res.messageId);
    }
    for (let i = 0; i < 5; i++) {
      await r.waitFor(i + 1);
      await r.quiet(150);
      assert.equal(r.inFlight(), 1);
      if (i === 0) assert.equal((await queue.get()).lag, 4);
      r.releaseOne();
    }
    await sleep(50);
    assert.deepEqual(r.requests.map((d) => d.path), [0, 1, 2, 3, 4].map((i) => `/fifo/${i}`));
    assert.deepEqual(r.requests.map((d) => d.headers["upstash-message-id"]), ids);
    assert.equal(r.maxInFlight(), 1);
    assert.equal(r.requests[1].headers["content-type"], "application/json");
    const logs = await waitForLogs(ctx.client, { queueName: "q-fifo", state: "DELIVERED" }, 5);
    assert.equal(logs.length, 5);
    for (const l of logs) assert.equal(l.queueName, "q-fifo");
  });

  test("a failing message holds the queue until its retries are done", async () => {
    let failFirst = true;
    const r = await ctx.receiver({ handler: (d) => (d.path === "/hold/0" && failFirst ? { status: 500 } : { status: 200 }) });
    const queue = ctx.client.queue({ queueName: "q-hold" });
    await queue.enqueue({ url: r.url("/hold/0"), body: "0", retries: 1 });
    await queue.enqueue({ url: r.url("/hold/1"), body: "1" });
    await r.waitFor(1);
    await r.quiet(300);
    assert.deepEqual(r.requests.map((d) => d.path), ["/hold/0"]);
    failFirst = false;
    await ctx.q.jumpClock(13_000);
    await r.waitFor(3);
    assert.deepEqual(r.requests.map((d) => d.path), ["/hold/0", "/hold/0", "/hold/1"]);
  });

  test("the next message also waits for the current one's callback (reference §2.2)", async () => {
    const r = await ctx.receiver();
    const cb = await holdingReceiver(ctx);
    const queue = ctx.client.queue({ queueName: "q-callback" });
    await queue.enqueue({ url: r.url("/cbq/0"), body: "0", callback: cb.url("/cb") });
    await queue.enqueue({ url: r.url("/cbq/1"), body: "1" });
    await r.waitFor(1);
    await cb.waitFor(1);
    await r.quiet(300);
    assert.deepEqual(r.requests.map((d) => d.path), ["/cbq/0"], "the second message started while the first one's callback was in flight");
    cb.releaseAll();
    await r.waitFor(2);
  });

  test("parallelism 2 lets two messages run at once, never three", async () => {
    const r = await holdingReceiver(ctx);
    const queue = ctx.client.queue({ queueName: "q-par2" });
    await queue.upsert({ parallelism: 2 });
    for (let i = 0; i < 4; i++) await queue.enqueue({ url: r.url(`/par/${i}`), body: `${i}` });
    await r.waitFor(2);
    await r.quiet(300);
    assert.equal(r.inFlight(), 2);
    r.releaseOne();
    await r.waitFor(3);
    r.releaseAll();
    await r.waitFor(4);
    r.releaseAll();
    assert.equal(r.maxInFlight(), 2);
  });

  test("a paused queue accepts enqueues but delivers only after resume", async () => {
    const r = await ctx.receiver();
    const queue = ctx.client.queue({ queueName: "q-paused" });
    await queue.upsert({ parallelism: 1, paused: true });
    await queue.enqueue({ url: r.url("/paused/0"), body: "0" });
    await queue.enqueueJSON({ url: r.url("/paused/1"), body: { n: 1 }, delay: 5 });
    await r.quiet(300);
    const q = await queue.get();
    assert.equal(q.paused, true);
    assert.equal(q.lag, 2);
    await queue.resume();
    await r.waitFor(1);
    await r.quiet(200);
    await ctx.q.jumpClock(6_000);
    const got = await r.waitFor(2);
    assert.deepEqual(got.map((d) => d.path), ["/paused/0", "/paused/1"]);
  });

  test("enqueueing into a queue that does not exist creates it with parallelism 1", async () => {
    const r = await ctx.receiver();
    const queue = ctx.client.queue({ queueName: "q-auto" });
    await rejectsWith(queue.get(), 404);
    const res = await queue.enqueueJSON({ url: r.url("/auto"), body: { auto: true }, headers: { "X-Q": "q" } });
    const [d] = await r.waitFor(1);
    assert.equal(d.headers["upstash-message-id"], res.messageId);
    assert.equal(d.headers["x-q"], "q");
    const q = await queue.get();
    assert.equal(q.parallelism, 1);
    assert.equal(q.paused, false);
  });

  test("deleting a queue cancels its waiting messages", async () => {
    const r = await ctx.receiver();
    const queue = ctx.client.queue({ queueName: "q-delete" });
    await queue.upsert({ paused: true });
    const { messageId } = await queue.enqueue({ url: r.url("/deleted"), body: "x" });
    await queue.delete();
    await rejectsWith(ctx.client.messages.get(messageId), 404);
    await r.quiet(300);
    assert.equal(r.requests.length, 0);
  });
});
