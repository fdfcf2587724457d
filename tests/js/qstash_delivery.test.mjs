// Delivery semantics through @upstash/qstash against the real server, with the server clock
// moved instead of sleeping: retries with the default backoff, Upstash-Retry-Delay, Retry-After,
// the per-attempt timeout, permanent failure into the DLQ with its failure callback, the DLQ API
// (listMessages with filters and paging, delete, deleteMany, retry), and the logs/events API
// (filters, cursor paging; no cursor on the last page).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { QstashError } from "@upstash/qstash";
import { HANG, rejectsWith, useQstash } from "./qstash_harness.mjs";

const ctx = useQstash();

/** The events of one message, oldest first. */
async function history(messageId) {
  const { logs } = await ctx.client.logs({ filter: { messageId } });
  return logs.slice().reverse();
}

/**
 * Resolves once the message has `count` events in `state` (oldest first); polls in real time,
 * briefly: the worker records an outcome right after the attempt ends.
 */
async function waitForState(messageId, state, { count = 1, timeout = 5_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const h = await history(messageId);
    const hit = h.filter((e) => e.state === state);
    if (hit.length >= count) return { hit, all: h };
    if (Date.now() > deadline) throw new Error(`fewer than ${count} ${state} events for ${messageId}: ${h.map((e) => e.state).join(",")}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("retries", () => {
  test("failed attempts are retried with the default backoff (12 s, then 148 s) until one succeeds", async () => {
    let calls = 0;
    const r = await ctx.receiver({ handler: () => (++calls <= 2 ? { status: 500, body: `fail ${calls}` } : { status: 200 }) });
    const { messageId } = await ctx.client.publish({ url: r.url("/flaky"), body: "payload", retries: 3 });
    await r.waitFor(1);
    const { hit: [retry1] } = await waitForState(messageId, "RETRY");
    assert.equal(retry1.nextDeliveryTime - retry1.time, 12_000);
    const m = await ctx.client.messages.get(messageId);
    assert.equal(m.notBefore, retry1.nextDeliveryTime);
    await r.quiet(300);
    await ctx.q.jumpClock(11_000);
    await r.quiet(200);
    await ctx.q.jumpClock(2_000);
    await r.waitFor(2);
    const { hit: [, retry2] } = await waitForState(messageId, "RETRY", { count: 2 });
    assert.equal(retry2.nextDeliveryTime - retry2.time, 148_000);
    await ctx.q.jumpClock(147_000);
    await r.quiet(200);
    await ctx.q.jumpClock(2_000);
    const got = await r.waitFor(3);
    assert.deepEqual(got.map((d) => d.headers["upstash-retried"]), ["0", "1", "2"]);
    assert.ok(got.every((d) => d.body === "payload" && d.headers["upstash-message-id"] === messageId));
    await waitForState(messageId, "DELIVERED");
    const states = (await history(messageId)).map((e) => e.state);
    assert.deepEqual(states, ["CREATED", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "DELIVERED"]);
    const errors = (await history(messageId)).filter((e) => e.state === "ERROR");
    assert.equal(errors[0].responseStatus, 500);
    assert.equal(errors[0].responseBody, "fail 1");
    await rejectsWith(ctx.client.messages.get(messageId), 404);
  });

  test("retryDelay sets the time between attempts (retried is 0 on the first retry)", async () => {
    const r = await ctx.receiver({ handler: () => ({ status: 503 }) });
    const { messageId } = await ctx.client.publish({ url: r.url("/retry-delay"), body: "x", retries: 2, retryDelay: "3000 + retried * 1000" });
    await r.waitFor(1);
    const { hit: [first] } = await waitForState(messageId, "RETRY");
    assert.equal(first.nextDeliveryTime - first.time, 3_000);
    assert.equal(first.retryDelayExpression, "3000 + retried * 1000");
    await ctx.q.jumpClock(3_000);
    await r.waitFor(2);
    const { hit: [, second] } = await waitForState(messageId, "RETRY", { count: 2 });
    assert.equal(second.nextDeliveryTime - second.time, 4_000);
    assert.deepEqual(await ctx.client.messages.cancel(messageId), { cancelled: 1 });
  });

  test("a Retry-After answer sets the next attempt's time", async () => {
    let calls = 0;
    const r = await ctx.receiver({ handler: () => (++calls === 1 ? { status: 429, headers: { "Retry-After": "7" } } : { status: 200 }) });
    const { messageId } = await ctx.client.publish({ url: r.url("/retry-after"), body: "x" });
    await r.waitFor(1);
    const { hit: [retry] } = await waitForState(messageId, "RETRY");
    assert.equal(retry.nextDeliveryTime - retry.time, 7_000);
    await ctx.q.jumpClock(7_000);
    await r.waitFor(2);
    await waitForState(messageId, "DELIVERED");
  });

  test("a destination that hangs is cut off by timeout and retried", async () => {
    let calls = 0;
    const r = await ctx.receiver({ handler: () => (++calls === 1 ? HANG : { status: 200, body: "finally" }) });
    const started = Date.now();
    const { messageId } = await ctx.client.publish({ url: r.url("/hang"), body: "x", timeout: 1, retries: 1 });
    await r.waitFor(1);
    const { hit: [err] } = await waitForState(messageId, "ERROR", { timeout: 10_000 });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 8_000, `the hung attempt was cut off after ${elapsed} ms`);
    assert.equal(typeof err.error, "string");
    assert.ok(err.error.length > 0);
    await waitForState(messageId, "RETRY");
    await ctx.q.jumpClock(13_000);
    const got = await r.waitFor(2);
    assert.equal(got[1].headers["upstash-retried"], "1");
    await waitForState(messageId, "DELIVERED");
  });
});

describe("dead-letter queue", () => {
  test("permanent failure: DLQ entry, failure callback, then a DLQ retry succeeds", async () => {
    let fail = true;
    const r = await ctx.receiver({ handler: () => (fail ? { status: 500, body: "nope", headers: { "X-Why": "broken" } } : { status: 200 }) });
    const cb = await ctx.receiver();
    const { messageId } = await ctx.client.publishJSON({
      url: r.url("/always-fails?q=1"),
      body: { order: 7 },
      retries: 1,
      callback: cb.url("/each-attempt"),
      failureCallback: cb.url("/failed"),
      headers: { "X-Src": "s", "Upstash-Failure-Callback-Forward-Fc-Token": "fct" },
      label: "dlq-label",
    });
    await r.waitFor(1);
    await waitForState(messageId, "RETRY");
    await ctx.q.jumpClock(13_000);
    await r.waitFor(2);
    const { hit: [failed] } = await waitForState(messageId, "FAILED");
    assert.equal(failed.responseStatus, 500);

    const [fcb] = await cb.waitFor(1, { pred: (d) => d.path === "/failed" });
    assert.equal(fcb.headers["fc-token"], "fct");
    const payload = JSON.parse(fcb.body);
    assert.equal(payload.status, 500);
    assert.equal(Buffer.from(payload.body, "base64").toString(), "nope");
    assert.deepEqual(payload.header["X-Why"], ["broken"]);
    assert.equal(payload.sourceMessageId, messageId);
    assert.equal(payload.url, r.url("/always-fails?q=1"));
    assert.equal(payload.retried, 1);
    assert.equal(payload.maxRetries, 1);
    assert.deepEqual(JSON.parse(Buffer.from(payload.sourceBody, "base64").toString()), { order: 7 });
    assert.deepEqual(payload.sourceHeader["X-Src"], ["s"]);
    assert.equal(typeof payload.dlqId, "string");
    const callbacks = await cb.waitFor(2, { pred: (d) => d.path === "/each-attempt" });
    assert.deepEqual(callbacks.map((d) => JSON.parse(d.body).retried), [0, 1]);

    const { messages, cursor } = await ctx.client.dlq.listMessages({ filter: { url: r.url("/always-fails?q=1") } });
    assert.equal(cursor, undefined);
    assert.equal(messages.length, 1);
    const entry = messages[0];
    assert.equal(entry.dlqId, payload.dlqId);
    assert.equal(entry.messageId, messageId);
    assert.equal(entry.responseStatus, 500);
    assert.equal(entry.responseBody, "nope");
    assert.deepEqual(entry.responseHeader["X-Why"], ["broken"]);
    assert.equal(entry.body, '{"order":7}');
    assert.equal(entry.maxRetries, 1);
    assert.equal(entry.label, "dlq-label");
    assert.equal(entry.failureCallback, cb.url("/failed"));

    fail = false;
    const retried = await ctx.client.dlq.retry(entry.dlqId);
    assert.equal(retried.responses.length, 1);
    assert.match(retried.responses[0].messageId, /^msg_/);
    assert.equal(retried.cursor, undefined);
    const delivered = await r.waitFor(3);
    assert.equal(delivered[2].headers["upstash-message-id"], retried.responses[0].messageId);
    assert.deepEqual(JSON.parse(delivered[2].body), { order: 7 });
    assert.equal((await ctx.client.dlq.listMessages({ filter: { url: r.url("/always-fails?q=1") } })).messages.length, 0);
  });

  test("489 with Upstash-NonRetryable-Error goes to the DLQ at once", async () => {
    const r = await ctx.receiver({ handler: () => ({ status: 489, headers: { "Upstash-NonRetryable-Error": "true" }, body: "stop" }) });
    const { messageId } = await ctx.client.publish({ url: r.url("/non-retryable"), body: "x", retries: 5 });
    await r.waitFor(1);
    await waitForState(messageId, "FAILED");
    const states = (await history(messageId)).map((e) => e.state);
    assert.ok(!states.includes("RETRY"), states.join(","));
    const { messages } = await ctx.client.dlq.listMessages({ filter: { responseStatus: 489 } });
    assert.deepEqual(messages.map((m) => m.messageId), [messageId]);
    await ctx.client.dlq.delete(messages[0].dlqId);
  });

  test("listMessages filters and pages; delete, deleteMany and retry by ids, filter and all", async () => {
    const r = await ctx.receiver({ handler: (d) => (d.path.startsWith("/ok") ? { status: 200 } : { status: 500 }) });
    const ids = [];
    for (const [i, label] of ["red", "green", "red", "blue", "green"].entries()) {
      const { messageId } = await ctx.client.publish({ url: r.url(`/dead/${i}`), body: `b${i}`, retries: 0, label });
      ids.push(messageId);
    }
    for (const id of ids) await waitForState(id, "FAILED");
    const dlq = ctx.client.dlq;

    // Paging: newest first, a cursor on every page but the last.
    const page1 = await dlq.listMessages({ count: 2 });
    assert.equal(page1.messages.length, 2);
    assert.equal(typeof page1.cursor, "string");
    const page2 = await dlq.listMessages({ count: 2, cursor: page1.cursor });
    assert.equal(page2.messages.length, 2);
    const page3 = await dlq.listMessages({ count: 2, cursor: page2.cursor });
    assert.equal(page3.messages.length, 1);
    assert.equal(page3.cursor, undefined, "no cursor on the last page");
    const paged = [...page1.messages, ...page2.messages, ...page3.messages].map((m) => m.messageId);
    assert.deepEqual(paged.slice().sort(), ids.slice().sort(), "every entry once over the pages");
    assert.deepEqual(paged, (await dlq.listMessages()).messages.map((m) => m.messageId), "pages follow the list order");
    const failedAt = {};
    for (const id of ids) failedAt[id] = (await waitForState(id, "FAILED")).hit[0].time;
    const times = paged.map((id) => failedAt[id]);
    assert.deepEqual(times, times.slice().sort((a, b) => b - a), "newest first");

    // Filters: OR within a key, AND across keys.
    const red = await dlq.listMessages({ filter: { label: "red" } });
    assert.deepEqual(red.messages.map((m) => m.messageId).sort(), [ids[0], ids[2]].sort());
    const redOrBlue = await dlq.listMessages({ filter: { label: ["red", "blue"] } });
    assert.equal(redOrBlue.messages.length, 3);
    const one = await dlq.listMessages({ filter: { url: r.url("/dead/1"), label: "green" } });
    assert.deepEqual(one.messages.map((m) => m.messageId), [ids[1]]);
    assert.equal((await dlq.listMessages({ filter: { url: r.url("/dead/1"), label: "red" } })).messages.length, 0);
    const byMessage = await dlq.listMessages({ filter: { messageId: ids[3] } });
    assert.deepEqual(byMessage.messages.map((m) => m.messageId), [ids[3]]);
    const byStatus = await dlq.listMessages({ filter: { responseStatus: 500, label: "blue" } });
    assert.deepEqual(byStatus.messages.map((m) => m.messageId), [ids[3]]);
    const all = (await dlq.listMessages()).messages;
    const dlqOf = Object.fromEntries(all.map((m) => [m.messageId, m.dlqId]));
    const byDlqIds = await dlq.listMessages({ dlqIds: [dlqOf[ids[0]], dlqOf[ids[4]]] });
    assert.deepEqual(byDlqIds.messages.map((m) => m.messageId).sort(), [ids[0], ids[4]].sort());
    const fromDate = Math.min(...all.map((m) => m.createdAt));
    assert.equal((await dlq.listMessages({ filter: { fromDate, label: "green" } })).messages.length, 2);

    // delete one; a second delete of the same id is a 404.
    assert.deepEqual(await dlq.delete(dlqOf[ids[0]]), { deleted: 1 });
    await rejectsWith(dlq.delete(dlqOf[ids[0]]), 404);
    // deleteMany (deprecated) and delete with an array.
    assert.equal((await dlq.deleteMany({ dlqIds: [dlqOf[ids[1]]] })).deleted, 1);
    assert.equal((await dlq.delete([dlqOf[ids[2]]])).deleted, 1);
    // delete by filter.
    assert.equal((await dlq.delete({ filter: { label: "blue" } })).deleted, 1);
    assert.deepEqual((await dlq.listMessages()).messages.map((m) => m.messageId), [ids[4]]);

    // retry by filter and {all: true}; then the DLQ is empty.
    r.setHandler(() => ({ status: 200 }));
    const retried = await dlq.retry({ filter: { label: "green" } });
    assert.equal(retried.responses.length, 1);
    await r.waitFor(1, { pred: (d) => d.headers["upstash-message-id"] === retried.responses[0].messageId });
    assert.deepEqual((await dlq.listMessages()).messages, []);
    assert.deepEqual(await dlq.retry([]), { responses: [] });
    r.setHandler(() => ({ status: 500 }));
    const { messageId } = await ctx.client.publish({ url: r.url("/dead/x"), body: "x", retries: 0 });
    await waitForState(messageId, "FAILED");
    r.setHandler(() => ({ status: 200 }));
    const all2 = await dlq.retry({ all: true });
    assert.equal(all2.responses.length, 1);
    assert.equal(all2.cursor, undefined);
    assert.deepEqual((await dlq.delete({ all: true })).deleted, 0);
  });
});

describe("logs", () => {
  test("logs filter by state, url, label and messageIds, page with a cursor, and omit it on the last page", async () => {
    const r = await ctx.receiver();
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const { messageId } = await ctx.client.publish({ url: r.url(`/logs/${i}`), body: `l${i}`, label: "logs-label" });
      ids.push(messageId);
    }
    await r.waitFor(3);
    for (const id of ids) await waitForState(id, "DELIVERED");

    const delivered = await ctx.client.logs({ filter: { label: "logs-label", state: "DELIVERED" } });
    assert.deepEqual(delivered.logs.map((l) => l.messageId).sort(), ids.slice().sort());
    const times = delivered.logs.map((l) => l.time);
    assert.deepEqual(times, times.slice().sort((a, b) => b - a), "newest first");
    assert.equal(delivered.cursor, undefined);
    assert.deepEqual(delivered.events, delivered.logs);
    for (const l of delivered.logs) {
      assert.equal(typeof l.time, "number");
      assert.equal(l.state, "DELIVERED");
      assert.equal(l.label, "logs-label");
      assert.equal(l.responseStatus, 200);
    }
    const byUrl = await ctx.client.logs({ filter: { url: r.url("/logs/1") } });
    assert.deepEqual([...new Set(byUrl.logs.map((l) => l.messageId))], [ids[1]]);
    assert.deepEqual(byUrl.logs.map((l) => l.state), ["DELIVERED", "ACTIVE", "CREATED"]);
    const byIds = await ctx.client.logs({ messageIds: [ids[0], ids[2]] });
    assert.deepEqual([...new Set(byIds.logs.map((l) => l.messageId))].sort(), [ids[0], ids[2]].sort());
    const inProgress = await ctx.client.logs({ filter: { label: "logs-label", state: "IN_PROGRESS" } });
    assert.ok(inProgress.logs.every((l) => ["ACTIVE", "RETRY", "ERROR"].includes(l.state)));
    assert.equal(inProgress.logs.length, 3);

    // Paging, one event per page, over the nine events of the three messages.
    const seen = [];
    let cursor;
    let pages = 0;
    do {
      const page = await ctx.client.logs({ filter: { label: "logs-label" }, count: 2, cursor });
      seen.push(...page.logs);
      cursor = page.cursor;
      pages++;
      if (cursor !== undefined) assert.equal(typeof cursor, "string");
    } while (cursor && pages < 20);
    assert.equal(seen.length, 9);
    assert.equal(pages, 5);
    assert.equal(new Set(seen.map((l) => `${l.messageId}/${l.state}`)).size, 9, "no event twice over the pages");

    // The SDK's documented loop starts from a millisecond timestamp as the cursor.
    const fromNow = await ctx.client.logs({ filter: { label: "logs-label" }, cursor: Date.now() + ctx.q.jumpedMs + 60_000 });
    assert.equal(fromNow.logs.length, 9);

    // The deprecated alias and both wire forms: /v2/events -> events, /v2/logs -> logs; no cursor key on the last page.
    const ev = await ctx.client.events({ filter: { label: "logs-label" }, count: 100 });
    assert.equal(ev.logs.length, 9);
    const rawEvents = await ctx.q.api("GET", "/v2/events?label=logs-label");
    assert.equal(rawEvents.status, 200);
    assert.equal(rawEvents.json.events.length, 9);
    assert.ok(!("cursor" in rawEvents.json), "no cursor key on the last page");
    const rawLogs = await ctx.q.api("GET", "/v2/logs?label=logs-label&count=4");
    assert.equal(rawLogs.json.logs.length, 4);
    assert.equal(typeof rawLogs.json.cursor, "string");
  });
});
