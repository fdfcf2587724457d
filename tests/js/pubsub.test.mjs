// Pub/sub over HTTP (Server-Sent Events) through @upstash/redis's subscribe/psubscribe.
import assert from "node:assert/strict";
import { test } from "node:test";
import { useStashd } from "./harness.mjs";

const ctx = useStashd();

/** Resolves with the first event of `type` on `sub`, or rejects after `ms`. */
function nextEvent(sub, type, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} event within ${ms} ms`)), ms);
    sub.on(type, (data) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

async function waitFor(cond, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met in time");
}

test("subscribe: prompt ack with count 1, JSON messages, unsubscribe drops the subscription", async () => {
  const channel = `chat-${process.pid}`;
  const sub = ctx.redis.subscribe([channel]);
  assert.equal(await nextEvent(sub, "subscribe"), 1);
  const got = nextEvent(sub, "message");
  assert.equal(await ctx.redis.publish(channel, { text: "hello", n: 1 }), 1);
  assert.deepEqual(await got, { channel, message: { text: "hello", n: 1 } });
  // PUBLISH inside a pipeline (what @upstash/realtime does) reaches the subscriber too.
  const second = nextEvent(sub, `message:${channel}`);
  const p = ctx.redis.pipeline();
  p.expire(`${channel}-history`, 60);
  p.publish(channel, "two");
  await p.exec();
  assert.deepEqual(await second, { channel, message: "two" });
  await sub.unsubscribe();
  await waitFor(async () => (await ctx.redis.exec(["PUBSUB", "NUMSUB", channel]))[1] === 0);
  assert.equal(await ctx.redis.publish(channel, "nobody"), 0);
});

test("psubscribe: pattern messages carry pattern and channel", async () => {
  const pattern = `room-${process.pid}-*`;
  const sub = ctx.redis.psubscribe([pattern]);
  assert.equal(await nextEvent(sub, "psubscribe"), 1);
  const got = nextEvent(sub, "pmessage");
  const channel = `room-${process.pid}-7`;
  assert.equal(await ctx.redis.publish(channel, { x: 1 }), 1);
  assert.deepEqual(await got, { pattern, channel, message: { x: 1 } });
  await sub.unsubscribe();
});

test("each subscriber connection gets its own ack of 1", async () => {
  const channel = `multi-${process.pid}`;
  const a = ctx.redis.subscribe([channel]);
  const b = ctx.redis.subscribe([channel]);
  // Listen on both before awaiting either: the acks may arrive in any order.
  const [ackA, ackB] = [nextEvent(a, "subscribe"), nextEvent(b, "subscribe")];
  assert.equal(await ackA, 1);
  assert.equal(await ackB, 1);
  assert.equal(await ctx.redis.publish(channel, "x"), 2);
  await a.unsubscribe();
  await b.unsubscribe();
});
