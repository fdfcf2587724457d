// Publishing through @upstash/qstash against the real server: publish / publishJSON with every
// option, batch / batchJSON, deduplication, URL groups, messages (get, cancel, delete, bulk),
// the deprecated LLM entry points, and signature verification (positive on every delivery,
// negative on tampering).
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { QstashError, Receiver, upstash } from "@upstash/qstash";
import { rejectsWith, useQstash, waitForLogs } from "./qstash_harness.mjs";

const ctx = useQstash();
const serverNow = () => Date.now() + ctx.q.jumpedMs;
const redacted = (v) => `REDACTED:${createHash("sha256").update(v).digest("hex")}`;

describe("publish", () => {
  test("publish delivers the raw body, signed, with forwarded headers and no QStash-only headers", async () => {
    const r = await ctx.receiver();
    const client = ctx.q.client({ headers: { "X-Global": "from-client" } });
    const body = "raw body ✓ with unicode";
    const res = await client.publish({
      url: r.url("/publish/raw?x=1&y=a%20b"),
      body,
      method: "PUT",
      headers: { "X-Custom": "custom value", "Content-Type": "text/x-custom", Authorization: "Bearer for-the-destination" },
    });
    assert.match(res.messageId, /^msg_/);
    assert.equal(res.deduplicated, undefined);
    const [d] = await r.waitFor(1);
    assert.equal(d.verified, true);
    assert.equal(d.method, "PUT");
    assert.equal(d.path, "/publish/raw?x=1&y=a%20b");
    assert.equal(d.body, body);
    assert.equal(d.headers["content-type"], "text/x-custom");
    assert.equal(d.headers["x-custom"], "custom value");
    assert.equal(d.headers["x-global"], "from-client");
    assert.equal(d.headers.authorization, "Bearer for-the-destination", "Upstash-Forward-Authorization reaches the destination");
    assert.equal(d.headers["upstash-message-id"], res.messageId);
    assert.equal(d.headers["upstash-retried"], "0");
    assert.equal(d.headers["user-agent"], "Upstash-QStash");
    assert.equal(d.headers["upstash-caller-ip"], "127.0.0.1");
    for (const name of Object.keys(d.headers)) {
      assert.ok(!name.startsWith("upstash-telemetry"), `telemetry header forwarded: ${name}`);
      assert.ok(!name.startsWith("upstash-forward"), `prefixed header forwarded: ${name}`);
      assert.notEqual(name, "upstash-method");
    }
    assert.ok(!d.headers.authorization.includes(ctx.q.qstashToken), "the QStash token must not reach the destination");
  });

  test("the destination's path and query arrive unnormalised", async () => {
    const r = await ctx.receiver();
    // (The SDK's own URL parsing already drops `.` segments and fragments; `//` and the raw query survive it.)
    await ctx.client.publish({ url: r.url("//double//slash/x?q=%2F&empty=&q=2&a+b=c%20d"), body: "p" });
    const [d] = await r.waitFor(1);
    assert.equal(d.path, "//double//slash/x?q=%2F&empty=&q=2&a+b=c%20d");
  });

  test("a binary body is stored and delivered byte-exact, and signed over its bytes", async () => {
    const r = await ctx.receiver({ verify: false }); // Receiver.verify takes text; checked by hand below
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x41]);
    const res = await ctx.client.publish({ url: r.url("/binary"), body: bytes, headers: { "Content-Type": "application/octet-stream" }, delay: 5 });
    const m = await ctx.client.messages.get(res.messageId);
    assert.equal(m.bodyBase64, bytes.toString("base64"));
    assert.equal(m.body, undefined);
    await ctx.q.jumpClock(6_000);
    const [d] = await r.waitFor(1);
    assert.deepEqual(d.raw, bytes);
    const [h, p, sig] = d.headers["upstash-signature"].split(".");
    assert.equal(createHmac("sha256", ctx.q.currentSigningKey).update(`${h}.${p}`).digest("base64url"), sig);
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    assert.equal(claims.body.replace(/=+$/, ""), createHash("sha256").update(bytes).digest("base64url"));
    assert.equal(claims.sub, d.url);
  });

  test("publishJSON sends JSON with Content-Type application/json and the default method POST", async () => {
    const r = await ctx.receiver();
    const res = await ctx.client.publishJSON({ url: r.url("/json"), body: { hello: "world", n: [1, 2] } });
    assert.match(res.messageId, /^msg_/);
    const [d] = await r.waitFor(1);
    assert.equal(d.method, "POST");
    assert.equal(d.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(d.body), { hello: "world", n: [1, 2] });
  });

  test("every publish option reads back through messages.get", async () => {
    const r = await ctx.receiver();
    const cb = await ctx.receiver();
    const res = await ctx.client.publishJSON({
      url: r.url("/options"),
      body: { a: 1 },
      method: "PATCH",
      delay: "1h",
      retries: 5,
      retryDelay: "pow(2, retried) * 1000",
      timeout: 10,
      callback: cb.url("/callback"),
      failureCallback: cb.url("/failure"),
      headers: { "X-Visible": "shown", Secret: "s3cret", "Upstash-Callback-Forward-Cb-Token": "cbt" },
      flowControl: { key: "publish-options-key", parallelism: 2, rate: 10, period: "1m" },
      label: ["first", "second"],
      redact: { header: ["Secret"] },
    });
    const m = await ctx.client.messages.get(res.messageId);
    assert.equal(m.messageId, res.messageId);
    assert.equal(m.url, r.url("/options"));
    assert.equal(m.method, "PATCH");
    assert.equal(m.maxRetries, 5);
    assert.equal(m.retryDelayExpression, "pow(2, retried) * 1000");
    assert.equal(m.notBefore - m.createdAt, 3_600_000);
    assert.ok(Math.abs(m.createdAt - serverNow()) < 10_000, `createdAt ${m.createdAt} is ms near now`);
    assert.equal(m.callback, cb.url("/callback"));
    assert.equal(m.failureCallback, cb.url("/failure"));
    assert.deepEqual(m.header["Content-Type"], ["application/json"]);
    assert.deepEqual(m.header["X-Visible"], ["shown"]);
    assert.deepEqual(m.header.Secret, [redacted("s3cret")]);
    assert.equal(m.body, '{"a":1}');
    assert.equal(m.flowControlKey, "publish-options-key");
    assert.equal(m.parallelism, 2);
    assert.equal(m.rate, 10);
    assert.equal(m.ratePerSecond, 10);
    assert.equal(m.period, 60);
    assert.equal(m.label, "first");
    assert.deepEqual(m.labels, ["first", "second"]);
    assert.equal(m.callerIp, "127.0.0.1");
    assert.equal(m.urlGroup, undefined);
    const upstashKeys = Object.keys(m.header).filter((k) => k.toLowerCase().startsWith("upstash-"));
    assert.deepEqual(upstashKeys, [], "settings and telemetry headers are not stored as message headers");
    await ctx.client.messages.cancel(res.messageId);
    await rejectsWith(ctx.client.messages.get(res.messageId), 404);
  });

  test("delay and notBefore hold the message until the clock reaches them", async () => {
    const r = await ctx.receiver();
    const delayed = await ctx.client.publish({ url: r.url("/delay"), body: "d", delay: 30 });
    const notBefore = Math.floor(serverNow() / 1000) + 90;
    const scheduled = await ctx.client.publish({ url: r.url("/not-before"), body: "n", notBefore, delay: 5 });
    const m = await ctx.client.messages.get(scheduled.messageId);
    assert.equal(m.notBefore, notBefore * 1000, "Upstash-Not-Before beats Upstash-Delay");
    const long = await ctx.client.publish({ url: r.url("/long"), body: "l", delay: "1d10h30m" });
    const lm = await ctx.client.messages.get(long.messageId);
    assert.equal(lm.notBefore - lm.createdAt, ((24 + 10) * 60 + 30) * 60_000);
    await ctx.client.messages.cancel(long.messageId);
    await r.quiet(300);
    await ctx.q.jumpClock(31_000);
    const [d] = await r.waitFor(1);
    assert.equal(d.path, "/delay");
    assert.equal(d.headers["upstash-message-id"], delayed.messageId);
    await r.quiet(200);
    await ctx.q.jumpClock(60_000);
    const both = await r.waitFor(2);
    assert.equal(both[1].path, "/not-before");
    assert.equal(both[1].body, "n");
  });

  test("redact hides the body and headers in the API but delivers the real values", async () => {
    const r = await ctx.receiver();
    const res = await ctx.client.publish({
      url: r.url("/redact"),
      body: "secret body",
      headers: { "X-Token": "tok" },
      delay: 10,
      redact: { body: true, header: true },
    });
    const m = await ctx.client.messages.get(res.messageId);
    assert.equal(m.body, redacted("secret body"));
    assert.deepEqual(m.header["X-Token"], [redacted("tok")]);
    await ctx.q.jumpClock(11_000);
    const [d] = await r.waitFor(1);
    assert.equal(d.body, "secret body");
    assert.equal(d.headers["x-token"], "tok");
    const logs = await waitForLogs(ctx.client, { messageId: res.messageId, state: "DELIVERED" });
    for (const l of logs) {
      assert.notEqual(l.body, Buffer.from("secret body").toString("base64"), "an event shows the redacted body");
      assert.notDeepEqual(l.header?.["X-Token"], ["tok"], "an event shows a redacted header");
    }
  });

  test("a callback gets every attempt's outcome, with its own forwarded headers", async () => {
    const r = await ctx.receiver({ handler: () => ({ status: 201, body: "created!", headers: { "X-Answer": "42" } }) });
    const cb = await ctx.receiver();
    const res = await ctx.client.publish({
      url: r.url("/with-callback"),
      body: "source body",
      callback: cb.url("/cb?k=v"),
      headers: { "Upstash-Callback-Forward-Cb-Token": "cbt", "X-Source": "src" },
    });
    await r.waitFor(1);
    const [c] = await cb.waitFor(1);
    assert.equal(c.path, "/cb?k=v");
    assert.equal(c.method, "POST");
    assert.equal(c.headers["cb-token"], "cbt");
    const payload = JSON.parse(c.body);
    assert.equal(payload.status, 201);
    assert.equal(Buffer.from(payload.body, "base64").toString(), "created!");
    assert.deepEqual(payload.header["X-Answer"], ["42"]);
    assert.equal(payload.sourceMessageId, res.messageId);
    assert.equal(payload.url, r.url("/with-callback"));
    assert.equal(payload.method, "POST");
    assert.equal(Buffer.from(payload.sourceBody, "base64").toString(), "source body");
    assert.deepEqual(payload.sourceHeader["X-Source"], ["src"]);
    assert.equal(payload.retried, 0);
    assert.equal(payload.maxRetries, 3);
  });

  test("an unknown option header, a bad URL and a bad token are refused with {error}", async () => {
    await rejectsWith(ctx.client.publish({ url: "ftp://example.com/x", body: "x" }), 400, /invalid/);
    await rejectsWith(ctx.client.publish({ url: "http://127.0.0.1:1/x", body: "x", headers: { "Upstash-Bogus": "1" } }), 400, /Upstash-Bogus/i);
    await rejectsWith(ctx.client.publish({ url: "http://127.0.0.1:1/x", body: "x", retryDelay: "pow(2," }), 400);
    const bad = ctx.q.client({ token: "wrong-token" });
    await rejectsWith(bad.publish({ url: "http://127.0.0.1:1/x", body: "x" }), 401);
    await rejectsWith(ctx.client.publish({ urlGroup: "no-such-group", body: "x" }), 404);
  });
});

describe("deduplication", () => {
  test("the same deduplicationId answers 202 with the first message id and delivers once", async () => {
    const r = await ctx.receiver();
    const first = await ctx.client.publish({ url: r.url("/dedup"), body: "one", deduplicationId: "dedup-1", delay: 5 });
    assert.equal(first.deduplicated, undefined);
    const second = await ctx.client.publish({ url: r.url("/dedup"), body: "two", deduplicationId: "dedup-1" });
    assert.equal(second.messageId, first.messageId);
    assert.equal(second.deduplicated, true);
    const raw = await ctx.q.api("POST", `/v2/publish/${r.url("/dedup")}`, { body: "three", headers: { "Upstash-Deduplication-Id": "dedup-1" } });
    assert.equal(raw.status, 202);
    assert.deepEqual(raw.json, { messageId: first.messageId, deduplicated: true });
    await ctx.q.jumpClock(6_000);
    const [d] = await r.waitFor(1);
    assert.equal(d.body, "one");
    await r.quiet(300);
    // The window is 10 minutes.
    await ctx.q.jumpClock(10 * 60_000);
    const later = await ctx.client.publish({ url: r.url("/dedup"), body: "four", deduplicationId: "dedup-1" });
    assert.notEqual(later.messageId, first.messageId);
    assert.equal(later.deduplicated, undefined);
    const [, d2] = await r.waitFor(2);
    assert.equal(d2.body, "four");
  });

  test("contentBasedDeduplication keys on destination, body and headers", async () => {
    const r = await ctx.receiver();
    const a = await ctx.client.publishJSON({ url: r.url("/content"), body: { v: 1 }, contentBasedDeduplication: true, delay: 5 });
    const b = await ctx.client.publishJSON({ url: r.url("/content"), body: { v: 1 }, contentBasedDeduplication: true, delay: 5 });
    const c = await ctx.client.publishJSON({ url: r.url("/content"), body: { v: 2 }, contentBasedDeduplication: true, delay: 5 });
    const d = await ctx.client.publishJSON({ url: r.url("/content"), body: { v: 1 }, headers: { "X-H": "1" }, contentBasedDeduplication: true, delay: 5 });
    assert.equal(b.messageId, a.messageId);
    assert.equal(b.deduplicated, true);
    assert.notEqual(c.messageId, a.messageId);
    assert.notEqual(d.messageId, a.messageId);
    await ctx.q.jumpClock(6_000);
    await r.waitFor(3);
    await r.quiet(300);
    assert.equal(r.requests.length, 3);
  });
});

describe("URL groups", () => {
  test("addEndpoints, get, list, publish to the group, removeEndpoints, delete", async () => {
    const r1 = await ctx.receiver();
    const r2 = await ctx.receiver();
    const urlGroups = ctx.client.urlGroups;
    await urlGroups.addEndpoints({ name: "group-a", endpoints: [{ name: "one", url: r1.url("/g1") }, { url: r2.url("/g2") }] });
    const g = await urlGroups.get("group-a");
    assert.equal(g.name, "group-a");
    assert.equal(typeof g.createdAt, "number");
    assert.equal(typeof g.updatedAt, "number");
    assert.deepEqual(g.endpoints, [{ name: "one", url: r1.url("/g1") }, { url: r2.url("/g2") }]);
    const all = await urlGroups.list();
    assert.ok(all.some((x) => x.name === "group-a"));
    // The deprecated alias is the same API.
    assert.deepEqual((await ctx.client.topics.get("group-a")).endpoints, g.endpoints);

    const res = await ctx.client.publishJSON({ urlGroup: "group-a", body: { fan: "out" } });
    assert.ok(Array.isArray(res), "publishing to a URL group answers an array");
    assert.deepEqual(res.map((x) => x.url).sort(), [r1.url("/g1"), r2.url("/g2")].sort());
    for (const x of res) assert.match(x.messageId, /^msg_/);
    const [d1] = await r1.waitFor(1);
    const [d2] = await r2.waitFor(1);
    for (const d of [d1, d2]) {
      assert.equal(d.headers["upstash-topic-name"], "group-a");
      assert.deepEqual(JSON.parse(d.body), { fan: "out" });
    }
    assert.equal(d1.headers["upstash-message-id"], res.find((x) => x.url === r1.url("/g1")).messageId);
    const logs = await waitForLogs(ctx.client, { urlGroup: "group-a", state: "DELIVERED" }, 2);
    assert.equal(logs.length, 2);
    for (const l of logs) assert.equal(l.urlGroup, "group-a");
    assert.deepEqual(logs.map((l) => l.endpointName ?? null).sort(), [null, "one"].sort());

    await urlGroups.removeEndpoints({ name: "group-a", endpoints: [{ name: "one" }] });
    assert.deepEqual((await urlGroups.get("group-a")).endpoints, [{ url: r2.url("/g2") }]);
    await urlGroups.delete("group-a");
    await rejectsWith(urlGroups.get("group-a"), 404);
    await rejectsWith(urlGroups.delete("group-a"), 404);
  });

  test("removing the last endpoint deletes the group", async () => {
    const r = await ctx.receiver();
    await ctx.client.urlGroups.addEndpoints({ name: "group-b", endpoints: [{ url: r.url("/b") }] });
    await ctx.client.urlGroups.removeEndpoints({ name: "group-b", endpoints: [{ url: r.url("/b") }] });
    await rejectsWith(ctx.client.urlGroups.get("group-b"), 404);
    assert.ok(!(await ctx.client.urlGroups.list()).some((x) => x.name === "group-b"));
  });
});

describe("batch", () => {
  test("batch mixes URL, URL-group and queue items; URL-group items answer nested arrays", async () => {
    const r = await ctx.receiver();
    await ctx.client.urlGroups.addEndpoints({ name: "batch-group", endpoints: [{ url: r.url("/bg1") }, { url: r.url("/bg2") }] });
    const res = await ctx.client.batch([
      { url: r.url("/b-url"), body: "to url", headers: { "X-Item": "1" } },
      { urlGroup: "batch-group", body: "to group" },
      { url: r.url("/b-queue"), body: "to queue", queueName: "batch-queue" },
      { url: r.url("/b-delayed"), body: "later", delay: 20, method: "PUT" },
    ]);
    assert.equal(res.length, 4);
    assert.match(res[0].messageId, /^msg_/);
    assert.ok(Array.isArray(res[1]), "the URL-group item answers a nested array");
    assert.equal(res[1].length, 2);
    assert.deepEqual(res[1].map((x) => x.url).sort(), [r.url("/bg1"), r.url("/bg2")]);
    assert.match(res[2].messageId, /^msg_/);
    const delayed = await ctx.client.messages.get(res[3].messageId);
    assert.equal(delayed.method, "PUT");
    await r.waitFor(4);
    await r.quiet(200);
    await ctx.q.jumpClock(21_000);
    const got = await r.waitFor(5);
    const byPath = Object.fromEntries(got.map((d) => [d.path, d]));
    assert.equal(byPath["/b-url"].body, "to url");
    assert.equal(byPath["/b-url"].headers["x-item"], "1");
    assert.equal(byPath["/bg1"].headers["upstash-topic-name"], "batch-group");
    assert.equal(byPath["/b-queue"].body, "to queue");
    assert.equal(byPath["/b-delayed"].method, "PUT");
    const logs = await waitForLogs(ctx.client, { queueName: "batch-queue", state: "DELIVERED" });
    assert.equal(logs.length, 1);
    assert.equal(logs[0].messageId, res[2].messageId);
    assert.equal((await ctx.client.queue({ queueName: "batch-queue" }).get()).name, "batch-queue");
  });

  test("batchJSON serialises each body and sets Content-Type", async () => {
    const r = await ctx.receiver();
    const res = await ctx.client.batchJSON([
      { url: r.url("/j1"), body: { i: 1 } },
      { url: r.url("/j2"), body: { i: 2 }, headers: { "X-J": "j" } },
    ]);
    assert.equal(res.length, 2);
    const got = await r.waitFor(2);
    for (const d of got) assert.equal(d.headers["content-type"], "application/json");
    assert.deepEqual(got.map((d) => JSON.parse(d.body).i).sort(), [1, 2]);
    assert.equal(got.find((d) => d.path === "/j2").headers["x-j"], "j");
  });
});

describe("messages", () => {
  test("cancel by id stops a delayed message; delete, deleteMany, deleteAll and filters cancel in bulk", async () => {
    const r = await ctx.receiver();
    const messages = ctx.client.messages;
    const publishDelayed = (p, extra = {}) => ctx.client.publish({ url: r.url(p), body: p, delay: 300, ...extra });

    const one = await publishDelayed("/c1");
    assert.deepEqual(await messages.cancel(one.messageId), { cancelled: 1 });
    await rejectsWith(messages.get(one.messageId), 404);
    await rejectsWith(messages.cancel(one.messageId), 404);

    const two = await publishDelayed("/c2");
    assert.equal(await messages.delete(two.messageId), undefined);
    await rejectsWith(messages.get(two.messageId), 404);

    const many = [await publishDelayed("/c3"), await publishDelayed("/c4"), await publishDelayed("/c5")];
    assert.equal(await messages.deleteMany([many[0].messageId, many[1].messageId]), 2);
    assert.deepEqual(await messages.cancel([many[2].messageId]), { cancelled: 1 });

    await publishDelayed("/c6", { label: "cancel-me" });
    await publishDelayed("/c7", { label: "keep-me" });
    assert.deepEqual(await messages.cancel({ filter: { label: "cancel-me" } }), { cancelled: 1 });
    const kept = await publishDelayed("/c8");
    assert.deepEqual(await messages.cancel({ filter: { url: r.url("/c8") } }), { cancelled: 1 });
    await rejectsWith(messages.get(kept.messageId), 404);

    assert.equal(await messages.deleteAll(), 1, "only the keep-me message is left");
    await publishDelayed("/c9");
    assert.deepEqual(await messages.cancel({ all: true }), { cancelled: 1 });

    const { logs } = await ctx.client.logs({ filter: { state: "CANCELED" } });
    assert.ok(logs.some((l) => l.messageId === one.messageId), "CANCELED (one L) events are logged");
    await ctx.q.jumpClock(301_000);
    await r.quiet(500);
    assert.equal(r.requests.length, 0, "no canceled message is delivered");
  });
});

describe("cancel in flight", () => {
  test("cancelling a message during an attempt ends it as CANCELED without a retry", async () => {
    let release;
    const r = await ctx.receiver({ handler: () => new Promise((res) => (release = () => res({ status: 500 }))) });
    const { messageId } = await ctx.client.publish({ url: r.url("/in-flight"), body: "x", retries: 3 });
    await r.waitFor(1);
    assert.deepEqual(await ctx.client.messages.cancel(messageId), { cancelled: 1 });
    release();
    const logs = await waitForLogs(ctx.client, { messageId, state: "CANCELED" });
    assert.equal(logs.length, 1);
    const states = (await ctx.client.logs({ filter: { messageId } })).logs.map((l) => l.state).reverse();
    assert.deepEqual(states, ["CREATED", "ACTIVE", "CANCEL_REQUESTED", "CANCELED"]);
    await ctx.q.jumpClock(13_000);
    await r.quiet(300);
    assert.equal(r.requests.length, 1);
  });
});

describe("deprecated LLM entry points", () => {
  test("publishing to api/llm is refused with a clear error", async () => {
    const r = await ctx.receiver();
    await rejectsWith(
      ctx.client.publishJSON({ api: { name: "llm" }, body: { model: "x", messages: [] }, callback: r.url("/llm-cb") }),
      400,
      /LLM API/,
    );
    // A batch of one answers its item's refusal as the request's (the workflow SDKs ignore error
    // slots); in a longer batch it is the item's slot (qstash_publish's batch tests).
    const [item] = await ctx.client.batchJSON([{ api: { name: "llm" }, body: {}, callback: r.url("/llm-cb") }]).then(
      () => [undefined],
      (e) => [e],
    );
    assert.ok(item instanceof QstashError && item.status === 400 && /LLM API/.test(item.message), String(item));
  });

  test(
    "chat().create and chat().prompt are refused with an error that names the LLM API",
    async () => {
      const chat = ctx.client.chat();
      for (const call of [
        // The upstash() provider posts to {QSTASH_URL}/llm/v1/chat/completions: this server only.
        () => chat.create({ provider: upstash(), model: "m", messages: [{ role: "user", content: "hi" }] }),
        () => chat.prompt({ provider: upstash(), model: "m", system: "s", user: "u" }),
      ]) {
        await assert.rejects(call(), (e) => {
          assert.ok(e instanceof QstashError, `expected a QstashError, got ${e}`);
          assert.ok([400, 404, 405, 501].includes(e.status), `status ${e.status}: ${e.message}`);
          assert.match(JSON.parse(e.message).error, /llm/i);
          return true;
        });
      }
    },
  );
});

describe("deprecated workflow client", () => {
  test("workflow.cancel of an unknown run answers 404 with {error}", async () => {
    await rejectsWith(ctx.client.workflow.cancel("wfr_does_not_exist"), 404);
  });
});

describe("signatures", () => {
  test("Receiver.verify rejects a tampered body, another URL, wrong keys and a forged token", async () => {
    const r = await ctx.receiver();
    await ctx.client.publish({ url: r.url("/sig"), body: "genuine" });
    const [d] = await r.waitFor(1);
    const signature = d.headers["upstash-signature"];
    const receiver = ctx.q.sdkReceiver();
    const clockTolerance = ctx.q.tolerance();
    assert.equal(await receiver.verify({ signature, body: "genuine", url: d.url, clockTolerance }), true);
    assert.equal(await receiver.verify({ signature, body: "genuine", clockTolerance }), true, "url is optional");
    await assert.rejects(receiver.verify({ signature, body: "genuine!", url: d.url, clockTolerance }), /body hash does not match/);
    await assert.rejects(receiver.verify({ signature, body: "genuine", url: r.url("/other"), clockTolerance }), /invalid subject/);
    const strangers = new Receiver({ currentSigningKey: "sig_wrong1", nextSigningKey: "sig_wrong2" });
    await assert.rejects(strangers.verify({ signature, body: "genuine", url: d.url, clockTolerance }));
    const nextOnly = new Receiver({ currentSigningKey: "sig_wrong1", nextSigningKey: ctx.q.currentSigningKey });
    assert.equal(await nextOnly.verify({ signature, body: "genuine", url: d.url, clockTolerance }), true, "falls back to the next key");
    const [h, p] = signature.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    assert.equal(claims.iss, "Upstash");
    assert.equal(claims.sub, d.url);
    assert.equal(typeof claims.jti, "string");
    assert.equal(claims.exp - claims.iat, 300);
    assert.equal(claims.nbf, claims.iat);
    assert.ok(!claims.aud, "no audience claim");
    assert.deepEqual(JSON.parse(Buffer.from(h, "base64url").toString()), { alg: "HS256", typ: "JWT" });
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: r.url("/evil") })).toString("base64url")}.${signature.split(".")[2]}`;
    await assert.rejects(receiver.verify({ signature: forged, body: "genuine", url: r.url("/evil"), clockTolerance }));
  });

  test("GET /v2/keys and POST /v2/keys/rotate; deliveries after a rotation verify with the old pair's next key", async () => {
    const keys = await ctx.q.api("GET", "/v2/keys");
    assert.equal(keys.status, 200);
    assert.deepEqual(keys.json, { current: ctx.q.currentSigningKey, next: ctx.q.nextSigningKey });
    const rotated = await ctx.q.api("POST", "/v2/keys/rotate");
    assert.equal(rotated.status, 200);
    assert.equal(rotated.json.current, ctx.q.nextSigningKey);
    assert.match(rotated.json.next, /^sig_/);
    assert.notEqual(rotated.json.next, ctx.q.nextSigningKey);
    assert.deepEqual((await ctx.q.api("GET", "/v2/keys")).json, rotated.json);

    // A receiver still configured with the old pair keeps working (it falls back to `next`)...
    const r = await ctx.receiver();
    await ctx.client.publish({ url: r.url("/after-rotation"), body: "rotated" });
    const [d] = await r.waitFor(1);
    assert.equal(d.verified, true);
    // ...and so does one with the new pair; one with only the retired key does not.
    const newPair = new Receiver({ currentSigningKey: rotated.json.current, nextSigningKey: rotated.json.next });
    const clockTolerance = ctx.q.tolerance();
    assert.equal(await newPair.verify({ signature: d.headers["upstash-signature"], body: "rotated", url: d.url, clockTolerance }), true);
    const retired = new Receiver({ currentSigningKey: ctx.q.currentSigningKey, nextSigningKey: ctx.q.currentSigningKey });
    await assert.rejects(retired.verify({ signature: d.headers["upstash-signature"], body: "rotated", url: d.url, clockTolerance }));
    ctx.q.currentSigningKey = rotated.json.current;
    ctx.q.nextSigningKey = rotated.json.next;
  });
});
