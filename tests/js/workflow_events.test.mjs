// Events through the real @upstash/workflow SDK against stashd: `waitForEvent` resumed by
// `client.notify` (the unsafe form, which reaches only registered waiters) and by the run-scoped
// notify with lookback (an event that arrives before its wait is kept for it), a wait's timeout on
// the server clock, `client.getWaiters`, and webhooks (`createWebhook` / `waitForWebhook`, whose
// URL the SDK computes from QSTASH_URL and the token's UserID and which anyone may call without
// the token).
import assert from "node:assert/strict";
import { test } from "node:test";
import { deferred, deliveredSteps, unique, useWorkflow } from "./workflow_harness.mjs";

const ctx = useWorkflow();

test("waitForEvent + client.notify: the waiter is listed, notified with the event data, then gone", async () => {
  const eventId = unique("ev");
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const before = await context.run("before", async () => "b");
    const ev = await context.waitForEvent("wait", eventId, { timeout: "10m" });
    await context.run("after", async () => done.resolve({ before, ev }));
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x", headers: { "x-run-header": "w" } });
  const [waiter] = await ctx.waitForWaiters(eventId);
  assert.equal(waiter.url, wf.url);
  assert.equal(waiter.timeoutUrl, wf.url);
  // The deadline is in seconds, 10 minutes from now (server clock).
  const expected = Math.floor(ctx.s.serverNow() / 1000) + 600;
  assert.ok(Math.abs(waiter.deadline - expected) <= 5, `deadline ${waiter.deadline} vs ${expected}`);
  assert.equal(typeof waiter.headers, "object");

  const res = await ctx.client.notify({ eventId, eventData: { hello: "world", n: 1 } });
  assert.ok(Array.isArray(res), JSON.stringify(res));
  assert.equal(res.length, 1);
  assert.match(res[0].messageId, /^msg_/);
  assert.equal(res[0].waiter.url, wf.url);
  assert.equal(res[0].error, "");

  const out = await done.wait();
  assert.deepEqual(out, { before: "b", ev: { eventData: { hello: "world", n: 1 }, timeout: false } });
  assert.deepEqual(await ctx.client.getWaiters({ eventId }), []);
  await ctx.waitForEnd(runId);
  // The event's step delivery carried the run's headers too.
  const eventCall = wf.calls.find((c) => deliveredSteps(c)?.at(-1)?.stepType === "Wait");
  assert.ok(eventCall, "a delivery ends with the Wait step");
  assert.equal(eventCall.headers["x-run-header"], "w");
  assert.equal(eventCall.headers["upstash-workflow-runid"], runId);
  // A second notify finds nobody.
  assert.deepEqual(await ctx.client.notify({ eventId, eventData: "late" }), []);
});

test("one notify resumes every run waiting for the event", async () => {
  const eventId = unique("ev-many");
  const got = new Map();
  const all = deferred();
  const wf = ctx.serve(async (context) => {
    const { eventData } = await context.waitForEvent("wait", eventId, { timeout: "1h" });
    await context.run("record", async () => {
      got.set(context.workflowRunId, eventData);
      if (got.size === 2) all.resolve();
    });
  });
  const a = await ctx.trigger({ url: wf.url, body: "a" });
  const b = await ctx.trigger({ url: wf.url, body: "b" });
  await ctx.waitForWaiters(eventId, 2);
  const res = await ctx.client.notify({ eventId, eventData: "for-all" });
  assert.equal(res.length, 2);
  assert.deepEqual(res.map((r) => r.workflowRunId).sort(), [a, b].sort());
  await all.wait();
  assert.deepEqual(Object.fromEntries(got), { [a]: "for-all", [b]: "for-all" });
});

test("context.notify: one workflow's step resumes another's waitForEvent", async () => {
  const eventId = unique("ev-ctx");
  const waited = deferred("the waiting run");
  const notified = deferred("the notifying run");
  const waiter = ctx.serve(async (context) => {
    const ev = await context.waitForEvent("wait", eventId, { timeout: "10m" });
    await context.run("after", async () => waited.resolve(ev));
  });
  const notifier = ctx.serve(async (context) => {
    const res = await context.notify("tell", eventId, { from: "notifier" });
    await context.run("after", async () => notified.resolve(res));
  });
  const waitingRun = await ctx.trigger({ url: waiter.url, body: "w" });
  await ctx.waitForWaiters(eventId);
  const notifierRun = await ctx.trigger({ url: notifier.url, body: "n" });
  const res = await notified.wait();
  assert.equal(res.eventId, eventId);
  assert.deepEqual(res.eventData, { from: "notifier" });
  assert.equal(res.notifyResponse.length, 1, JSON.stringify(res));
  assert.equal(res.notifyResponse[0].workflowRunId, waitingRun);
  assert.deepEqual(await waited.wait(), { eventData: { from: "notifier" }, timeout: false });
  await ctx.waitForEnd(waitingRun);
  await ctx.waitForEnd(notifierRun);
});

test("run-scoped notify before the wait registers is kept (lookback); the unscoped one is lost", async () => {
  const eventId = unique("ev-lookback");
  const hold = deferred();
  const holding = deferred();
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    await context.run("gate", async () => {
      holding.resolve();
      await hold.promise;
      return "open";
    });
    const ev = await context.waitForEvent("wait", eventId, { timeout: "10m" });
    await context.run("after", async () => done.resolve(ev));
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  await holding.wait();
  // No waiter yet: the unsafe form reaches nobody, the run-scoped form is kept.
  assert.deepEqual(await ctx.client.getWaiters({ eventId }), []);
  assert.deepEqual(await ctx.client.notify({ eventId, eventData: "lost" }), []);
  const kept = await ctx.client.notify({ eventId, eventData: { early: true }, workflowRunId: runId });
  assert.equal(kept.workflowRunId, runId, JSON.stringify(kept));
  hold.resolve();
  const ev = await done.wait();
  assert.deepEqual(ev, { eventData: { early: true }, timeout: false });
  await ctx.waitForEnd(runId);
  // A run-scoped notify for a run that ended is refused.
  await assert.rejects(ctx.client.notify({ eventId, eventData: "x", workflowRunId: runId }), (e) => {
    assert.ok(e.status >= 400 && e.status < 500, `status ${e.status}`);
    return true;
  });
});

test("a wait times out on the server clock: timeout true, no event data, the waiter is gone", async () => {
  const eventId = unique("ev-timeout");
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const ev = await context.waitForEvent("wait", eventId, { timeout: "30s" });
    await context.run("after", async () => done.resolve(ev));
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  await ctx.waitForWaiters(eventId);
  await wf.quiet(300);
  const callsBefore = wf.calls.length;
  await ctx.jumpClock(31_000);
  const ev = await done.wait();
  assert.deepEqual(ev, { eventData: undefined, timeout: true });
  assert.ok(wf.calls.length > callsBefore);
  assert.deepEqual(await ctx.client.getWaiters({ eventId }), []);
  assert.deepEqual(await ctx.client.notify({ eventId, eventData: "too late" }), []);
  await ctx.waitForEnd(runId);
  const timeoutStep = deliveredSteps(wf.calls.at(-1)).find((st) => st.stepType === "Wait");
  assert.equal(timeoutStep.waitTimeout, true);
  assert.equal(timeoutStep.out, undefined);
});

test("webhooks: the hook URL (QSTASH_URL, UserID, run, event) takes an unauthenticated request, before or after the wait", async () => {
  // The wait here is a waitForEvent on the hook's event id, which reads the request the server
  // describes as it stored it ({method, header, body (base64), proto, host, url}); the next test
  // reads the same through waitForWebhook.
  const hookUrls = new Map();
  const hooked = new Map();
  const hold = deferred();
  const wf = ctx.serve(async (context) => {
    const webhook = await context.createWebhook("hook");
    await context.run("publish-hook", async () => {
      hookUrls.set(context.workflowRunId, webhook);
      if (context.requestPayload === "early") await hold.promise;
      return webhook.webhookUrl;
    });
    const { eventData, timeout } = await context.waitForEvent("wait-hook", webhook.eventId, { timeout: "10m" });
    await context.run("read", async () => {
      hooked.get(context.workflowRunId).resolve({ eventData, timeout });
    });
  });

  // After the wait registered.
  const lateRun = await ctx.trigger({ url: wf.url, body: "late" });
  hooked.set(lateRun, deferred());
  const hook = await waitForHook(hookUrls, lateRun);
  const prefix = `${ctx.s.qstashUrl}/v2/workflows/hooks/${ctx.s.userId}/${lateRun}/`;
  assert.ok(hook.webhookUrl.startsWith(prefix), `${hook.webhookUrl} starts with ${prefix}`);
  assert.equal(hook.webhookUrl, `${prefix}${hook.eventId}`);
  await ctx.waitForWaiters(hook.eventId);
  const res = await fetch(`${hook.webhookUrl}?source=test`, { method: "POST", headers: { "x-hook": "h1", "content-type": "text/plain" }, body: "hook-body" });
  assert.ok(res.ok, `webhook call: ${res.status} ${await res.clone().text()}`);
  const { eventData: d, timeout } = await hooked.get(lateRun).wait();
  assert.equal(timeout, false);
  assert.equal(d.method, "POST");
  assert.deepEqual(d.header["X-Hook"] ?? d.header["x-hook"], ["h1"]);
  assert.equal(Buffer.from(d.body, "base64").toString(), "hook-body");
  assert.equal(d.host, new URL(ctx.s.qstashUrl).host);
  assert.equal(d.url, `/v2/workflows/hooks/${ctx.s.userId}/${lateRun}/${hook.eventId}?source=test`);
  await ctx.waitForEnd(lateRun);

  // Before the wait registered (lookback), with a GET.
  const earlyRun = await ctx.trigger({ url: wf.url, body: "early" });
  hooked.set(earlyRun, deferred());
  const early = await waitForHook(hookUrls, earlyRun);
  const res2 = await fetch(early.webhookUrl, { headers: { "x-hook": "h2" } });
  assert.ok(res2.ok, `webhook call: ${res2.status} ${await res2.clone().text()}`);
  hold.resolve();
  const got2 = await hooked.get(earlyRun).wait();
  assert.equal(got2.timeout, false);
  assert.equal(got2.eventData.method, "GET");
  assert.deepEqual(got2.eventData.header["X-Hook"] ?? got2.eventData.header["x-hook"], ["h2"]);
  await ctx.waitForEnd(earlyRun);

  // The run has ended: its hook takes nothing more.
  const res3 = await fetch(early.webhookUrl, { method: "POST", body: "after the end" });
  assert.ok(res3.status >= 400 && res3.status < 500, `hook of an ended run: ${res3.status}`);
});

test("createWebhook + waitForWebhook: the SDK rebuilds the caller's request (url = the webhook URL)", async () => {
  const hookUrls = new Map();
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const webhook = await context.createWebhook("hook");
    await context.run("publish-hook", async () => hookUrls.set(context.workflowRunId, webhook) && webhook.webhookUrl);
    const { request, timeout } = await context.waitForWebhook("wait-hook", webhook, "10m");
    await context.run("read", async () => {
      done.resolve({
        timeout,
        method: request.method,
        url: request.url,
        header: request.headers.get("x-hook"),
        body: await request.text(),
      });
    });
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  const hook = await waitForHook(hookUrls, runId);
  await ctx.waitForWaiters(hook.eventId);
  const res = await fetch(hook.webhookUrl, { method: "POST", headers: { "x-hook": "h1", "content-type": "application/json" }, body: '{"a":1}' });
  assert.ok(res.ok, `webhook call: ${res.status}`);
  const got = await done.wait(4_000);
  assert.deepEqual(got, { timeout: false, method: "POST", url: hook.webhookUrl, header: "h1", body: '{"a":1}' });
  await ctx.waitForEnd(runId);
});

test("waitForWebhook times out on the server clock", async () => {
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const webhook = await context.createWebhook("hook");
    const res = await context.waitForWebhook("wait-hook", webhook, "1m");
    await context.run("read", async () => done.resolve(res));
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  await wf.waitFor(2);
  await wf.quiet(300);
  await ctx.jumpClock(61_000);
  assert.deepEqual(await done.wait(), { timeout: true, request: undefined });
  await ctx.waitForEnd(runId);
});

async function waitForHook(map, runId) {
  const deadline = Date.now() + 5_000;
  while (!map.has(runId)) {
    if (Date.now() > deadline) throw new Error(`no webhook for ${runId}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return map.get(runId);
}
