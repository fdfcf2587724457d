// @upstash/realtime against stashd: events go into a stream (XADD with MAXLEN, EXPIRE in a
// pipeline) and out over pub/sub (PUBLISH, SSE /subscribe); history and reconnects read the
// stream back with XRANGE, including exclusive starts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Realtime, handle } from "@upstash/realtime";
import * as z from "zod";
import { sdkClient, startStashd } from "./harness.mjs";

let server;
let redis;
let seq = 0;
const unique = (name) => `${name}-${process.pid}-${++seq}`;

// @upstash/realtime 1.1.0 starts a 60 s ping interval per subscription and stops it on an
// "unsubscribe" event that @upstash/redis's Subscriber never emits, so the interval outlives the
// subscription and would keep this test process alive. Unref'd timers do not.
const setIntervalOriginal = globalThis.setInterval;
globalThis.setInterval = (...args) => {
  const timer = setIntervalOriginal(...args);
  timer.unref?.();
  return timer;
};

const schema = { chat: { message: z.object({ text: z.string() }) }, presence: { join: z.string() } };

before(async () => {
  server = await startStashd();
  redis = sdkClient(server);
});

after(async () => {
  await server?.stop();
});

/** Resolves once `received` holds `n` items, or rejects after `ms`. */
async function waitFor(received, n, ms = 5000) {
  const deadline = Date.now() + ms;
  while (received.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${received.length} of ${n} events arrived`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("@upstash/realtime", () => {
  test("emit reaches a live subscriber; the stream is trimmed and expires as configured", async () => {
    const rt = new Realtime({ schema, redis, history: { maxLength: 3, expireAfterSecs: 120 } });
    const name = unique("room");
    const channel = rt.channel(name);
    const received = [];
    const unsubscribe = await channel.subscribe({ events: ["chat.message"], onData: (m) => received.push(m) });
    try {
      for (let i = 1; i <= 5; i++) await channel.emit("chat.message", { text: `hi ${i}` });
      await channel.emit("presence.join", "ann"); // not subscribed to this event
      await waitFor(received, 5);
      assert.deepEqual(
        received.map((m) => m.data.text),
        ["hi 1", "hi 2", "hi 3", "hi 4", "hi 5"],
      );
      for (const m of received) {
        assert.equal(m.event, "chat.message");
        assert.equal(m.channel, name);
        assert.match(m.id, /^\d+-\d+$/);
        assert.equal(m.cursor, m.id);
      }
      // MAXLEN = 3 keeps the last three entries (the presence event among them).
      assert.equal(await redis.xlen(name), 3);
      const ttl = await redis.ttl(name);
      assert.ok(ttl > 100 && ttl <= 120, `ttl ${ttl}`);
      const history = await channel.history({ limit: 10 });
      assert.deepEqual(
        history.map((h) => [h.event, h.data]),
        [
          ["chat.message", { text: "hi 4" }],
          ["chat.message", { text: "hi 5" }],
          ["presence.join", "ann"],
        ],
      );
    } finally {
      await unsubscribe();
    }
  });

  test("subscribe with history replays the stream, then goes on live without duplicates", async () => {
    const rt = new Realtime({ schema, redis });
    const name = unique("hist");
    const channel = rt.channel(name);
    await channel.emit("chat.message", { text: "old 1" });
    await channel.emit("chat.message", { text: "old 2" });
    const received = [];
    const unsubscribe = await channel.subscribe({ events: ["chat.message"], history: true, onData: (m) => received.push(m) });
    try {
      await channel.emit("chat.message", { text: "new" });
      await waitFor(received, 3);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(
        received.map((m) => m.data.text),
        ["old 1", "old 2", "new"],
      );
    } finally {
      await unsubscribe();
    }
  });

  test("subscribe after a cursor resumes right after it", async () => {
    const rt = new Realtime({ schema, redis });
    const name = unique("cursor");
    const channel = rt.channel(name);
    await channel.emit("chat.message", { text: "a" });
    const [first] = await channel.history();
    await channel.emit("chat.message", { text: "b" });
    await channel.emit("chat.message", { text: "c" });
    const received = [];
    const unsubscribe = await channel.subscribe({ events: ["chat.message"], after: first.id, onData: (m) => received.push(m) });
    try {
      await waitFor(received, 2);
      assert.deepEqual(
        received.map((m) => m.data.text),
        ["b", "c"],
      );
    } finally {
      await unsubscribe();
    }
  });

  test("the SSE route handler sends connected, missed events after last_ack (exclusive), then live ones", async () => {
    const rt = new Realtime({ schema, redis });
    const name = unique("route");
    const channel = rt.channel(name);
    await channel.emit("chat.message", { text: "seen" });
    const [seen] = await channel.history();
    await channel.emit("chat.message", { text: "missed" });
    const abort = new AbortController();
    const url = `http://app.local/api/realtime?channel=${name}&last_ack_${name}=${seen.id}`;
    const response = await handle({ realtime: rt })(new Request(url, { signal: abort.signal }));
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const events = [];
    let text = "";
    const readUntil = async (n) => {
      const deadline = Date.now() + 5000;
      while (events.length < n && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = text.indexOf("\n\n")) >= 0) {
          const line = text.slice(0, cut);
          text = text.slice(cut + 2);
          if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)));
        }
      }
    };
    try {
      await readUntil(2);
      assert.deepEqual(events[0], { type: "connected", channel: name });
      assert.equal(events[1].data.text, "missed");
      await channel.emit("chat.message", { text: "live" });
      await readUntil(3);
      assert.equal(events[2].data.text, "live");
      assert.equal(events.length, 3);
    } finally {
      abort.abort();
      await reader.cancel().catch(() => {});
    }
  });
});
