// Workflow runs through the real @upstash/workflow SDK (serve() + Client) against stashd:
// sequential `context.run`, the run-level configuration captured at trigger and re-applied to
// every later step, parallel steps (with a sleep; with a wait and a call), `sleep`/`sleepUntil`
// on the server clock, `context.call` to a local endpoint (one callback, retries on the
// third-party side), a direct POST as first invocation, and `client.trigger` options (batch,
// delay, notBefore, own run id).
import assert from "node:assert/strict";
import { test } from "node:test";
import { deferred, deliveredSteps, unique, useWorkflow } from "./workflow_harness.mjs";

const ctx = useWorkflow();

const isCallback = (r) => r.headers["upstash-workflow-callback"] === "true";

test("sequential context.run: steps + 1 calls, outputs memoized in order, the run ends", async () => {
  const seen = [];
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const input = context.requestPayload;
    const a = await context.run("a", async () => {
      seen.push("a");
      return `a(${input.x})`;
    });
    const b = await context.run("b", async () => {
      seen.push("b");
      return { prev: a, n: 2 };
    });
    const c = await context.run("c", async () => {
      seen.push("c");
      return `${b.prev}+${b.n}`;
    });
    done.resolve({ a, b, c, runId: context.workflowRunId, createdAt: context.workflowRunCreatedAt });
    return { final: c };
  });
  const runId = await ctx.trigger({ url: wf.url, body: { x: 7 } });
  assert.match(runId, /^wfr_/);
  const out = await done.wait();
  assert.deepEqual({ a: out.a, b: out.b, c: out.c }, { a: "a(7)", b: { prev: "a(7)", n: 2 }, c: "a(7)+2" });
  assert.equal(out.runId, runId);
  await ctx.waitForEnd(runId);
  // Each step function ran once; the route was called once per step plus once to finish.
  assert.deepEqual(seen, ["a", "b", "c"]);
  const calls = wf.answered();
  assert.equal(calls.length, 4, `calls: ${calls.map((c) => c.body).join("\n")}`);
  for (const c of calls) {
    assert.equal(c.status, 200, c.responseBody);
    assert.equal(c.headers["upstash-workflow-runid"], runId);
    assert.equal(c.headers["upstash-workflow-sdk-version"], "1", "every delivery continues the run");
    const created = Number(c.headers["upstash-workflow-createdat"]);
    assert.ok(created > 0 && created === out.createdAt, `Upstash-Workflow-CreatedAt ${c.headers["upstash-workflow-createdat"]}`);
  }
  // Delivery k carries the log up to and including its own step.
  const logs = calls.map(deliveredSteps);
  assert.deepEqual(logs.map((l) => l.length), [1, 2, 3, 4]);
  assert.deepEqual(JSON.parse(logs[0][0].initial), { x: 7 });
  assert.deepEqual(logs[3].slice(1).map((s) => [s.stepId, s.stepName, s.stepType, JSON.parse(s.out)]), [
    [1, "a", "Run", "a(7)"],
    [2, "b", "Run", { prev: "a(7)", n: 2 }],
    [3, "c", "Run", "a(7)+2"],
  ]);
  // The return value ({final}) went with the final DELETE; that the server keeps it and hands it
  // on is checked through context.invoke (workflow_runs.test.mjs), as the workflow logs API is not served yet.
  // The ended run takes no more steps (the SDK's late publish would get 400).
  const late = await ctx.qstash.publish({
    url: wf.url,
    body: JSON.stringify({ stepId: 4, stepName: "late", stepType: "Run", out: "1", concurrent: 1 }),
    headers: { "Upstash-Workflow-RunId": runId, "Upstash-Workflow-Init": "false", "Upstash-Workflow-Url": wf.url },
  }).then(() => undefined, (e) => e);
  assert.ok(late, "a publish into a finished run must fail");
  assert.match(String(late.message), /can not append|cancelled workflow|ended/i);
  assert.equal(late.status, 400);
});

test("the run's configuration (user headers, label, retries, retry delay, failure URL) is captured at trigger and re-applied", async () => {
  const label = unique("label");
  let attempts = 0;
  const wf = ctx.serve(async (context) => {
    const first = await context.run("first", async () => ({ label: context.label, header: context.headers.get("x-run-header") }));
    await context.run("second", async () => "second");
    await context.run("flaky", async () => {
      attempts += 1;
      throw new Error(`flaky attempt ${attempts}`);
    });
    return first;
  });
  const failureSink = ctx.app.route(`/failure-sink/${unique("f")}`);
  const runId = await ctx.trigger({
    url: wf.url,
    body: "payload-text",
    headers: { "x-run-header": "from-trigger" },
    retries: 2,
    retryDelay: "7000",
    failureUrl: failureSink.url,
    label,
  });
  // Calls 1 and 2 run "first" and "second"; call 3 runs "flaky", which throws: 500.
  const [, , firstFail] = await wf.waitFor(3);
  assert.equal(firstFail.status, 500);
  assert.equal(firstFail.responseHeaders["upstash-error-step-name"], "flaky");
  // Retried after the run's retry delay (7 s), well before the default backoff (12 s).
  await ctx.retriesScheduled(wf.url, 1);
  await wf.quiet(300);
  assert.equal(wf.calls.length, 3);
  await ctx.jumpClock(8_000);
  await wf.waitFor(4);
  await ctx.retriesScheduled(wf.url, 2);
  await ctx.jumpClock(8_000);
  await wf.waitFor(5);
  // retries: 2 → 3 attempts of the failing step, then the run fails: no more calls.
  await ctx.jumpClock(200_000);
  await wf.quiet(400);
  const calls = wf.answered();
  assert.equal(calls.length, 5, `calls: ${calls.map((c) => `${c.status} ${c.headers["upstash-retried"]}`).join(", ")}`);
  assert.deepEqual(calls.slice(2).map((c) => [c.status, c.headers["upstash-retried"]]), [
    [500, "0"],
    [500, "1"],
    [500, "2"],
  ]);
  assert.equal(attempts, 3);
  // Every call carried the user header and the label, though later steps were published without them.
  for (const [i, c] of calls.entries()) {
    assert.equal(c.headers["x-run-header"], "from-trigger", `call ${i}`);
    assert.equal(c.headers["upstash-label"], label, `call ${i}`);
  }
  const firstOut = deliveredSteps(calls[1]).at(-1);
  assert.deepEqual(JSON.parse(firstOut.out), { label, header: "from-trigger" });

  // The failure callback goes to the failure URL with the run's headers and its initial payload.
  const [fail] = await failureSink.waitFor(1);
  assert.equal(fail.headers["x-run-header"], "from-trigger");
  assert.equal(fail.headers["upstash-workflow-runid"], runId);
  assert.equal(fail.headers["upstash-workflow-is-failure"], "true");
  assert.equal(fail.headers["upstash-label"], label);
  const payload = JSON.parse(fail.body);
  assert.equal(payload.status, 500);
  assert.equal(payload.workflowRunId, runId);
  assert.equal(Buffer.from(payload.sourceBody, "base64").toString(), "payload-text");
  assert.match(Buffer.from(payload.body, "base64").toString(), /flaky attempt 3/);
  assert.equal(failureSink.calls.length, 1);
  await ctx.waitForEnd(runId);
});

test("the trigger's flow control applies to every later step of the run", async () => {
  const fcKey = unique("fc");
  const wf = ctx.serve(async (context) => {
    await context.run("one", async () => 1);
    await context.run("two", async () => 2);
  });
  // One delivery per minute.
  const runId = await ctx.trigger({ url: wf.url, body: "x", flowControl: { key: fcKey, rate: 1, period: "1m" } });
  assert.ok(await ctx.running(runId), "the trigger created the run");
  await wf.waitFor(1);
  await wf.quiet(400);
  assert.equal(wf.calls.length, 1, "the step published by call 1 waits for the next rate window");
  await ctx.jumpClock(61_000);
  await wf.waitFor(2);
  await wf.quiet(400);
  assert.equal(wf.calls.length, 2);
  await ctx.jumpClock(61_000);
  await wf.waitFor(3);
  await ctx.waitForEnd(runId);
  const info = await ctx.qstash.flowControl.get(fcKey);
  assert.equal(info.flowControlKey, fcKey);
  assert.equal(info.rateMax, 1);
});

test("Promise.all of two runs and a sleep, then sleep and sleepUntil, all on the server clock", async () => {
  const done = deferred();
  const reached = [];
  const wf = ctx.serve(async (context) => {
    const [a, b, slept] = await Promise.all([
      context.run("pa", async () => "A"),
      context.run("pb", async () => "B"),
      context.sleep("nap", 30),
    ]);
    await context.run("after-parallel", async () => reached.push("after-parallel"));
    await context.sleep("long-nap", "2h");
    const until = await context.run("when", async () => Math.floor(ctx.s.serverNow() / 1000) + 3600);
    await context.run("after-sleep", async () => reached.push("after-sleep"));
    await context.sleepUntil("until", until);
    await context.run("end", async () => {
      reached.push("end");
      done.resolve({ a, b, slept });
    });
  });
  const runId = await ctx.trigger({ url: wf.url, body: {} });
  // Initial call, the plan calls of the two runs (the sleep's plan waits 30 s), their results
  // (discarded: the block is not complete).
  await wf.waitFor(5);
  await wf.quiet(400);
  assert.deepEqual(reached, []);
  const lastSteps = () => wf.calls.slice(1).map((c) => deliveredSteps(c).at(-1));
  const plans = () => lastSteps().filter((st) => st.stepId === 0).map((p) => [p.targetStep, p.concurrent, p.stepType]);
  assert.deepEqual(plans().sort(), [[1, 3, "Run"], [2, 3, "Run"]]);
  await ctx.jumpClock(31_000);
  // The sleep's plan, its result (the block is complete: "after-parallel" runs), the next call
  // (which publishes the 2 h sleep).
  await wf.waitFor(8);
  await wf.quiet(300);
  assert.deepEqual(plans().sort(), [[1, 3, "Run"], [2, 3, "Run"], [3, 3, "SleepFor"]]);
  assert.deepEqual(reached, ["after-parallel"]);
  await ctx.jumpClock(2 * 3600_000 + 1_000);
  // The sleep's end ("when" runs), "after-sleep" runs, the call that publishes the sleepUntil.
  await wf.waitFor(11);
  await wf.quiet(300);
  assert.deepEqual(reached, ["after-parallel", "after-sleep"]);
  await ctx.jumpClock(3600_000 + 1_000);
  const out = await done.wait();
  assert.deepEqual(out, { a: "A", b: "B", slept: undefined });
  await ctx.waitForEnd(runId);
  const calls = wf.answered();
  // ... then the sleepUntil's end ("end" runs) and the call that finishes the run.
  assert.equal(calls.length, 13);
  assert.ok(calls.every((c) => c.status === 200), calls.map((c) => c.status).join(","));
  const last = deliveredSteps(calls.at(-1));
  const types = last.slice(1).map((s) => `${s.stepName}:${s.stepType}`);
  for (const t of ["nap:SleepFor", "long-nap:SleepFor", "until:SleepUntil", "end:Run"]) assert.ok(types.includes(t), `${t} in ${types}`);
});

test("Promise.all of a waitForEvent, a run and a context.call", async () => {
  const eventId = unique("ev-par");
  const ext = ctx.app.route(`/par-ext/${unique("e")}`, () => ({ body: "from ext" }));
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const [ev, r, c] = await Promise.all([
      context.waitForEvent("wait", eventId, { timeout: "1h" }),
      context.run("run", async () => "R"),
      context.call("call", { url: ext.url, method: "POST", body: "b" }),
    ]);
    await context.run("end", async () => done.resolve({ ev, r, status: c.status, body: c.body }));
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  await ctx.waitForWaiters(eventId);
  await ext.waitFor(1);
  await ctx.client.notify({ eventId, eventData: "E" });
  assert.deepEqual(await done.wait(), { ev: { eventData: "E", timeout: false }, r: "R", status: 200, body: "from ext" });
  await ctx.waitForEnd(runId);
  assert.equal(ext.calls.length, 1);
  assert.equal(wf.calls.filter(isCallback).length, 1);
});

test("context.call: the server makes the request with its retries, and calls back exactly once", async () => {
  let extCalls = 0;
  const ext = ctx.app.route(`/ext/${unique("e")}`, (rec) => {
    extCalls += 1;
    if (extCalls < 3) return { status: 503, body: `busy ${extCalls}` };
    return { status: 200, headers: { "x-ext": "yes" }, body: `ext-ok:${rec.method}:${rec.body}` };
  });
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const res = await context.call("ext", {
      url: ext.url,
      method: "PUT",
      body: "hello",
      headers: { "x-call-header": "c1" },
      retries: 2,
      retryDelay: "1000",
    });
    await context.run("after", async () => done.resolve(res));
  });
  const runId = await ctx.trigger({ url: wf.url, body: "go", headers: { "x-run-header": "r" } });
  await ext.waitFor(1);
  await ctx.retriesScheduled(ext.url, 1);
  await ctx.jumpClock(1_500);
  await ext.waitFor(2);
  await ctx.retriesScheduled(ext.url, 2);
  await ctx.jumpClock(1_500);
  await ext.waitFor(3);
  const res = await done.wait();
  assert.equal(res.status, 200);
  assert.equal(res.body, "ext-ok:PUT:hello");
  assert.equal(res.header["X-Ext"]?.[0] ?? res.header["x-ext"]?.[0], "yes");
  await ctx.waitForEnd(runId);
  // The third party got the user's method, body and headers.
  for (const r of ext.calls) {
    assert.equal(r.method, "PUT");
    assert.equal(r.body, "hello");
    assert.equal(r.headers["x-call-header"], "c1");
    // The run's own forwarded headers are for the workflow endpoint, not for third parties.
    assert.equal(r.headers["x-run-header"], undefined);
  }
  // One callback only, despite the two failed attempts; it carries the run's headers.
  const callbacks = wf.calls.filter(isCallback);
  assert.equal(callbacks.length, 1, `callbacks: ${callbacks.map((c) => c.body).join("\n")}`);
  assert.equal(callbacks[0].headers["x-run-header"], "r");
  assert.equal(callbacks[0].headers["upstash-workflow-sdk-version"], undefined, "a callback must take the first-invocation parse path");
  // initial, callback, the Call result step, "after" (which finishes the run)
  assert.equal(wf.calls.length, 4, wf.calls.map((c) => c.body.slice(0, 120)).join("\n"));
});

test("context.call whose attempts all fail: one callback with the last answer, the run goes on", async () => {
  const ext = ctx.app.route(`/ext-down/${unique("e")}`, () => ({ status: 502, body: "down" }));
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const res = await context.call("ext", { url: ext.url, method: "POST", body: "ping", retries: 1, retryDelay: "500" });
    await context.run("after", async () => done.resolve({ status: res.status, body: res.body }));
    return "survived";
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  await ext.waitFor(1);
  await ctx.retriesScheduled(ext.url, 1);
  await ctx.jumpClock(1_000);
  await ext.waitFor(2);
  assert.deepEqual(await done.wait(), { status: 502, body: "down" });
  await ctx.waitForEnd(runId);
  assert.equal(ext.calls.length, 2);
  assert.equal(wf.calls.filter(isCallback).length, 1);
  // The failed call neither failed the run nor sent a failure call to the workflow.
  assert.ok(wf.calls.every((c) => c.status === 200 && c.headers["upstash-workflow-is-failure"] === undefined));
});

test("a direct POST to the endpoint starts a run (first invocation): its body and headers become the run's", async () => {
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const first = await context.run("first", async () => context.requestPayload);
    await context.run("second", async () => done.resolve({ first, header: context.headers.get("x-direct"), runId: context.workflowRunId }));
  }, { receiver: undefined }); // the direct call is not signed
  const res = await fetch(wf.url, { method: "POST", headers: { "content-type": "application/json", "x-direct": "d1" }, body: '{"direct":true}' });
  assert.equal(res.status, 200);
  const { workflowRunId } = await res.json();
  assert.match(workflowRunId, /^wfr_/);
  const out = await done.wait();
  assert.deepEqual(out, { first: { direct: true }, header: "d1", runId: workflowRunId });
  await ctx.waitForEnd(workflowRunId);
  // The direct call, then the three deliveries of the run (first, second, finish).
  assert.equal(wf.calls.length, 4);
  assert.ok(wf.calls.slice(1).every((c) => c.headers["x-direct"] === "d1"));
});

test("client.trigger: a batch of runs, delay and notBefore on the server clock, a chosen run id that exists is not started twice", async () => {
  const seen = [];
  const wf = ctx.serve(async (context) => {
    await context.run("only", async () => seen.push(context.requestPayload));
  });
  const own = unique("mine");
  const ids = await ctx.client.trigger([
    { url: wf.url, body: "now" },
    { url: wf.url, body: "delayed", delay: "10m" },
    { url: wf.url, body: "not-before", notBefore: Math.floor(ctx.s.serverNow() / 1000) + 3600 },
    { url: wf.url, body: "own id", workflowRunId: own },
  ]);
  assert.equal(ids.length, 4);
  assert.equal(ids[3].workflowRunId, `wfr_${own}`);
  await ctx.waitForEnd(ids[0].workflowRunId);
  await ctx.waitForEnd(ids[3].workflowRunId);
  assert.deepEqual(seen.sort(), ["now", "own id"]);
  // The same run id again: deduplicated, nothing new runs.
  const again = await ctx.trigger({ url: wf.url, body: "own id again", workflowRunId: own });
  assert.equal(again, `wfr_${own}`);
  await wf.quiet(300);
  assert.deepEqual(seen.sort(), ["now", "own id"]);
  await ctx.jumpClock(601_000);
  await ctx.waitForEnd(ids[1].workflowRunId);
  assert.deepEqual(seen.sort(), ["delayed", "now", "own id"]);
  await ctx.jumpClock(3_000_000);
  await ctx.waitForEnd(ids[2].workflowRunId);
  assert.deepEqual(seen.sort(), ["delayed", "not-before", "now", "own id"]);
});
