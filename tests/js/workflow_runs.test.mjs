// Runs that call runs and runs that end early, through the real @upstash/workflow SDK against
// stashd: `context.invoke` of a second workflow (served with the SDK's own `serveMany` +
// `createWorkflow`; the child's result, failure or cancellation is delivered to the parent as the
// Invoke step), `context.cancel`, `client.cancel` by ids and by filters, and publishes into a
// finished or cancelled run (400, which the SDK swallows).
import assert from "node:assert/strict";
import { test } from "node:test";
import { createWorkflow, serveMany } from "@upstash/workflow/cloudflare";
import { deferred, deliveredSteps, sleep, unique, useWorkflow } from "./workflow_harness.mjs";

const ctx = useWorkflow();

/** Mounts `serveMany(workflows)` under `/many/<unique>/`; returns { url(name), endpoint }. */
function mountMany(workflows) {
  const base = `/many/${unique("m")}/`;
  const { fetch: handler } = serveMany(workflows, { qstashClient: ctx.qstash, receiver: ctx.receiver() });
  // The cloudflare adapter takes (request, env); the env is unused since the client and receiver are given.
  const endpoint = ctx.app.mount(base, (request) => handler(request, {}));
  return { url: (name) => ctx.app.url(`${base}${name}`), endpoint, calls: (name) => endpoint.calls.filter((c) => c.path.endsWith(`/${name}`)) };
}

test("context.invoke: the child runs with its own payload, headers and label; its return value reaches the parent", async () => {
  const done = deferred();
  const childLabel = unique("child-label");
  const childRunId = unique("child");
  const child = createWorkflow(async (context) => {
    const n = context.requestPayload.n;
    const doubled = await context.run("double", async () => n * 2);
    return { doubled, header: context.headers.get("x-child") };
  });
  const parent = createWorkflow(async (context) => {
    const before = await context.run("before", async () => "p");
    const res = await context.invoke("call-child", {
      workflow: child,
      body: { n: 21 },
      headers: { "x-child": "c1" },
      label: childLabel,
      workflowRunId: childRunId,
    });
    await context.run("after", async () => done.resolve({ before, res, header: context.headers.get("x-parent") }));
  });
  const many = mountMany({ parent, child });
  const runId = await ctx.trigger({ url: many.url("parent"), body: "go", headers: { "x-parent": "p1" } });
  const out = await done.wait();
  assert.equal(out.before, "p");
  assert.equal(out.header, "p1", "the invoke result is delivered with the parent's headers");
  assert.deepEqual(out.res, { body: { doubled: 42, header: "c1" }, isFailed: false, isCanceled: false });
  await ctx.waitForEnd(runId);
  // The child: the initial call runs "double", the next one finishes; every call carries the
  // invoke depth and the headers the invoke gave.
  const childCalls = many.calls("child");
  assert.equal(childCalls.length, 2);
  for (const c of childCalls) {
    assert.equal(c.headers["upstash-workflow-invoke-count"], "1");
    assert.equal(c.headers["x-child"], "c1");
    assert.equal(c.headers["upstash-label"], childLabel);
    assert.equal(c.headers["upstash-workflow-runid"], `wfr_${childRunId}`);
  }
  assert.deepEqual(JSON.parse(deliveredSteps(childCalls[0])[0].initial), { n: 21 });
  // The parent: initial, "before" done → invoke published, the Invoke result, "after" → finish.
  const parentCalls = many.calls("parent");
  assert.equal(parentCalls.length, 4);
  const invokeStep = deliveredSteps(parentCalls[2]).at(-1);
  assert.equal(invokeStep.stepType, "Invoke");
  assert.equal(invokeStep.stepName, "call-child");
});

test("context.invoke: a failed child is reported with isFailed; a cancelled one with isCanceled", async () => {
  const results = new Map();
  const failing = createWorkflow(async (context) => {
    await context.run("boom", async () => {
      throw new Error("child failed");
    });
  });
  const cancelling = createWorkflow(async (context) => {
    await context.run("first", async () => 1);
    await context.cancel();
    await context.run("never", async () => {
      throw new Error("a cancelled run went on");
    });
  });
  const parent = createWorkflow(async (context) => {
    const target = context.requestPayload.target === "failing" ? failing : cancelling;
    const res = await context.invoke("call-child", { workflow: target, body: "x", retries: 0 });
    await context.run("after", async () => results.get(context.requestPayload.target).resolve(res));
  });
  const many = mountMany({ parent, failing, cancelling });

  results.set("failing", deferred());
  const failedRun = await ctx.trigger({ url: many.url("parent"), body: { target: "failing" } });
  const failed = await results.get("failing").wait();
  assert.equal(failed.isFailed, true, JSON.stringify(failed));
  assert.equal(failed.isCanceled, false);
  await ctx.waitForEnd(failedRun);
  // retries: 0 → one attempt of the child's failing step.
  assert.equal(many.calls("failing").filter((c) => c.status === 500).length, 1);

  results.set("cancelling", deferred());
  const cancelledRun = await ctx.trigger({ url: many.url("parent"), body: { target: "cancelling" } });
  const cancelled = await results.get("cancelling").wait();
  assert.equal(cancelled.isCanceled, true, JSON.stringify(cancelled));
  assert.equal(cancelled.isFailed, false);
  assert.equal(cancelled.body ?? null, null, "a cancelled child has no result");
  await ctx.waitForEnd(cancelledRun);
  assert.ok(many.calls("cancelling").every((c) => c.status === 200));
});

test("context.cancel ends the run: nothing after it runs, later publishes into the run get 400", async () => {
  const ran = [];
  const cancelled = deferred();
  const wf = ctx.serve(async (context) => {
    await context.run("first", async () => ran.push("first"));
    await context.run("second", async () => ran.push("second"));
    cancelled.resolve();
    await context.cancel();
    await context.run("never", async () => ran.push("never"));
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  await cancelled.wait();
  await ctx.waitForEnd(runId);
  await wf.quiet(300);
  assert.deepEqual(ran, ["first", "second"]);
  assert.equal(wf.calls.length, 3);
  assert.ok(wf.calls.every((c) => c.status === 200));
  // What the SDK would publish next: refused with 400.
  const res = await ctx.api("POST", "/v2/batch", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify([
      {
        destination: wf.url,
        headers: { "Upstash-Workflow-RunId": runId, "Upstash-Workflow-Init": "false", "Upstash-Workflow-Url": wf.url },
        body: JSON.stringify({ stepId: 3, stepName: "never", stepType: "Run", out: "1", concurrent: 1 }),
      },
    ]),
  });
  const slot = res.json?.[0];
  assert.ok(res.status === 400 || slot?.error, `a publish into a cancelled run: ${res.status} ${res.text}`);
  assert.match(res.text, /can not append|cancelled workflow/i);
  const pub = await ctx.api("POST", `/v2/publish/${wf.url}`, {
    headers: { "Upstash-Workflow-RunId": runId, "Upstash-Workflow-Init": "false", "Upstash-Workflow-Url": wf.url },
    body: "{}",
  });
  assert.equal(pub.status, 400, pub.text);
  // Cancelling or finishing it again is refused too; the bulk form counts nothing.
  assert.deepEqual(await ctx.client.cancel(runId), { cancelled: 0 });
});

test("a step finishing after the run was cancelled: its publish is refused, the SDK answers 200, nothing more is delivered", async () => {
  const inside = deferred();
  const release = deferred();
  const wf = ctx.serve(async (context) => {
    await context.run("slow", async () => {
      inside.resolve();
      await release.promise;
      return "late result";
    });
    await context.run("never", async () => "never");
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  await inside.wait();
  assert.deepEqual(await ctx.client.cancel([runId]), { cancelled: 1 });
  release.resolve();
  const [call] = await wf.waitFor(1);
  assert.equal(call.status, 200, `the SDK answers 200 though its publish was refused: ${call.responseBody}`);
  await ctx.jumpClock(60_000);
  await wf.quiet(400);
  assert.equal(wf.calls.length, 1);
  assert.equal(await ctx.running(runId), false);
});

test("a run cancelled while its context.call is in flight: the third party's late answer goes nowhere", async () => {
  const release = deferred();
  const ext = ctx.app.route(`/slow/${unique("s")}`, async () => {
    await release.promise;
    return { body: "late" };
  });
  const wf = ctx.serve(async (context) => {
    await context.call("slow", { url: ext.url, method: "POST", body: "x" });
    await context.run("never", async () => {
      throw new Error("a cancelled run went on");
    });
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  await wf.waitFor(1);
  await waitUntilCalled(ext);
  assert.deepEqual(await ctx.client.cancel(runId), { cancelled: 1 });
  release.resolve();
  await ext.waitFor(1);
  await ctx.jumpClock(3_600_000);
  await wf.quiet(500);
  assert.equal(wf.calls.length, 1, "no callback reaches the workflow of a cancelled run");
});

async function waitUntilCalled(endpoint) {
  const deadline = Date.now() + 5_000;
  while (endpoint.calls.length === 0) {
    if (Date.now() > deadline) throw new Error(`${endpoint.path} was never called`);
    await sleep(20);
  }
}

test("client.cancel by ids: waiting and sleeping runs stop; their waiters and sleeps are dropped", async () => {
  const eventId = unique("ev-cancel");
  const woke = [];
  const wf = ctx.serve(async (context) => {
    if (context.requestPayload === "wait") {
      await context.waitForEvent("wait", eventId, { timeout: "1h" });
    } else {
      await context.sleep("nap", "10m");
    }
    await context.run("woke", async () => woke.push(context.workflowRunId));
  });
  const waiting = await ctx.trigger({ url: wf.url, body: "wait" });
  const sleeping = await ctx.trigger({ url: wf.url, body: "sleep" });
  const sleeping2 = await ctx.trigger({ url: wf.url, body: "sleep" });
  await ctx.waitForWaiters(eventId);
  await wf.waitFor(3);
  assert.deepEqual(await ctx.client.cancel([waiting, sleeping]), { cancelled: 2 });
  assert.deepEqual(await ctx.client.cancel(sleeping2), { cancelled: 1 });
  assert.deepEqual(await ctx.client.getWaiters({ eventId }), []);
  assert.deepEqual(await ctx.client.notify({ eventId, eventData: "x" }), []);
  await ctx.jumpClock(3_600_000);
  await wf.quiet(400);
  assert.deepEqual(woke, []);
  assert.equal(wf.calls.length, 3);
  for (const id of [waiting, sleeping, sleeping2]) assert.equal(await ctx.running(id), false);
  // Unknown and already-cancelled ids count nothing.
  assert.deepEqual(await ctx.client.cancel(["wfr_unknown", waiting]), { cancelled: 0 });
});

test("client.cancel by filters: exact URL, URL prefix, label, creation dates, host/path, all", async () => {
  const area = `/area/${unique("a")}`;
  const routeFn = async (context) => {
    await context.sleep("nap", "1h");
    await context.run("woke", async () => "woke");
  };
  const a1 = ctx.serve(routeFn, {}, `${area}/one`);
  const a2 = ctx.serve(routeFn, {}, `${area}/two`);
  const other = ctx.serve(routeFn, {}, `/elsewhere/${unique("b")}`);
  // Triggers a run and waits until its first call was answered (its sleep is then published).
  const start = async (endpoint, opts = {}) => {
    const id = await ctx.trigger({ url: endpoint.url, body: "x", ...opts });
    await endpoint.waitFor(1, { pred: (c) => c.headers["upstash-workflow-runid"] === id });
    return id;
  };

  // Exact URL: only that endpoint's runs.
  const r1 = await start(a1);
  const r2 = await start(a2);
  const r3 = await start(other);
  assert.deepEqual(await ctx.client.cancel({ filter: { workflowUrl: a1.url } }), { cancelled: 1 });
  assert.equal(await ctx.running(r1), false);
  assert.equal(await ctx.running(r2), true);
  // Exact match means the prefix of a URL matches nothing.
  assert.deepEqual(await ctx.client.cancel({ filter: { workflowUrl: ctx.app.url(area) } }), { cancelled: 0 });
  // Prefix.
  const r4 = await start(a1);
  assert.deepEqual(await ctx.client.cancel({ filter: { workflowUrlStartingWith: ctx.app.url(area) } }), { cancelled: 2 });
  for (const id of [r2, r4]) assert.equal(await ctx.running(id), false);
  assert.equal(await ctx.running(r3), true);
  // The legacy form.
  const r5 = await start(a2);
  assert.deepEqual(await ctx.client.cancel({ urlStartingWith: ctx.app.url(area) }), { cancelled: 1 });
  assert.equal(await ctx.running(r5), false);

  // Label (any of several).
  const l1 = unique("l");
  const l2 = unique("l");
  const r6 = await start(a1, { label: l1 });
  const r7 = await start(a2, { label: l2 });
  const r8 = await start(a2, { label: unique("l") });
  assert.deepEqual(await ctx.client.cancel({ filter: { label: [l1, l2] } }), { cancelled: 2 });
  for (const id of [r6, r7]) assert.equal(await ctx.running(id), false);
  assert.equal(await ctx.running(r8), true);

  // Creation dates (server clock).
  await ctx.jumpClock(10_000);
  const cut = new Date(ctx.s.serverNow() - 2_000);
  const r9 = await start(a1);
  assert.deepEqual(await ctx.client.cancel({ filter: { fromDate: cut, workflowUrlStartingWith: ctx.app.url(area) } }), { cancelled: 1 });
  assert.equal(await ctx.running(r9), false);
  assert.equal(await ctx.running(r8), true);
  assert.deepEqual(await ctx.client.cancel({ filter: { toDate: cut, workflowUrl: a2.url } }), { cancelled: 1 });
  assert.equal(await ctx.running(r8), false);

  // Host and path of the workflow URL.
  const r10 = await start(a1);
  const r11 = await start(a2);
  assert.deepEqual(await ctx.client.cancel({ filter: { host: "example.invalid" } }), { cancelled: 0 }, "a host filter that matches no run cancels nothing");
  assert.deepEqual(await ctx.client.cancel({ filter: { path: `${area}/one` } }), { cancelled: 1 });
  assert.equal(await ctx.running(r10), false);
  assert.equal(await ctx.running(r11), true);
  assert.deepEqual(await ctx.client.cancel({ filter: { host: new URL(ctx.app.base).host, path: `${area}/two` } }), { cancelled: 1 });
  assert.equal(await ctx.running(r11), false);

  // All of them.
  const r12 = await start(a1);
  assert.deepEqual(await ctx.client.cancel({ all: true }), { cancelled: 2 });
  for (const id of [r3, r12]) assert.equal(await ctx.running(id), false);
  // Nothing woke up.
  await ctx.jumpClock(2 * 3_600_000);
  await sleep(300);
  for (const ep of [a1, a2, other]) assert.ok(ep.calls.every((c) => !deliveredSteps(c).some((s) => s.stepName === "woke")));
});
