// Failing runs through the real @upstash/workflow SDK against stashd: a step that throws is
// retried per the run's policy, then the run fails and `failureFunction` gets the initial
// payload and the failure status; `WorkflowNonRetryableError` (489) fails the run at once;
// `WorkflowRetryAfterError` (429 + Retry-After) is retried after its delay.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkflowNonRetryableError, WorkflowRetryAfterError } from "@upstash/workflow";
import { deferred, useWorkflow } from "./workflow_harness.mjs";

const ctx = useWorkflow();

test("a throwing step is retried per policy, then the run fails and failureFunction gets the initial payload", async () => {
  let attempts = 0;
  const failure = deferred("the failure function");
  const wf = ctx.serve(
    async (context) => {
      await context.run("ok", async () => "fine");
      await context.run("broken", async () => {
        attempts += 1;
        throw new Error(`broken step, attempt ${attempts}`);
      });
    },
    {
      failureFunction: async ({ context, failStatus, failResponse, failHeaders }) => {
        failure.resolve({
          payload: context.requestPayload,
          runId: context.workflowRunId,
          header: context.headers.get("x-run-header"),
          failStatus,
          failResponse,
          failHeaders,
        });
        return "failure handled";
      },
    },
  );
  const runId = await ctx.trigger({ url: wf.url, body: { order: 42 }, retries: 2, headers: { "x-run-header": "f" } });
  await wf.waitFor(1, { pred: (c) => c.status === 500 });
  // Default backoff: 12 s before the first retry, 148 s before the second.
  await ctx.retriesScheduled(wf.url, 1);
  await ctx.jumpClock(13_000);
  await wf.waitFor(2, { pred: (c) => c.status === 500 });
  await ctx.retriesScheduled(wf.url, 2);
  await ctx.jumpClock(149_000);
  const f = await failure.wait();
  assert.equal(attempts, 3);
  assert.deepEqual(f.payload, { order: 42 }, "context.requestPayload is the run's initial payload");
  assert.equal(f.runId, runId);
  assert.equal(f.header, "f");
  assert.equal(f.failStatus, 500);
  assert.match(f.failResponse, /broken step, attempt 3/);
  assert.equal(typeof f.failHeaders, "object");
  await ctx.waitForEnd(runId);
  // The failure call is the last call: marked as such, answered 200 by the SDK.
  const last = wf.calls.at(-1);
  assert.equal(last.headers["upstash-workflow-is-failure"], "true");
  assert.equal(last.headers["upstash-workflow-failure-callback"], "true");
  assert.equal(last.status, 200, last.responseBody);
  assert.deepEqual(JSON.parse(last.responseBody), { result: "failure handled" });
  assert.deepEqual(
    wf.calls.map((c) => c.status),
    [200, 500, 500, 500, 200],
  );
  await ctx.jumpClock(3_600_000);
  await wf.quiet(300);
  assert.equal(wf.calls.length, 5);
});

test("a failure callback to a workflow without failureFunction is answered 200 (no failure function) and not retried", async () => {
  const wf = ctx.serve(async (context) => {
    await context.run("broken", async () => {
      throw new Error("no failure function here");
    });
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x", retries: 0 });
  const calls = await wf.waitFor(2);
  assert.equal(calls[0].status, 500);
  assert.equal(calls[1].headers["upstash-workflow-is-failure"], "true");
  assert.equal(calls[1].status, 200);
  assert.equal(calls[1].responseHeaders["upstash-workflow-failure-callback-notfound"], "true");
  await ctx.waitForEnd(runId);
  await ctx.jumpClock(600_000);
  await wf.quiet(300);
  assert.equal(wf.calls.length, 2);
});

test("WorkflowNonRetryableError: 489, no retries, the run fails at once with failStatus 489", async () => {
  const failure = deferred("the failure function");
  let attempts = 0;
  const wf = ctx.serve(
    async (context) => {
      await context.run("first", async () => 1);
      await context.run("fatal", async () => {
        attempts += 1;
        throw new WorkflowNonRetryableError("this cannot work");
      });
    },
    {
      failureFunction: async ({ context, failStatus, failResponse }) => {
        failure.resolve({ payload: context.requestPayload, failStatus, failResponse });
      },
    },
  );
  const runId = await ctx.trigger({ url: wf.url, body: "non-retryable payload", retries: 5 });
  const f = await failure.wait();
  assert.deepEqual(f, { payload: "non-retryable payload", failStatus: 489, failResponse: "this cannot work" });
  assert.equal(attempts, 1);
  const fatal = wf.calls.find((c) => c.status === 489);
  assert.ok(fatal, "the SDK answered 489");
  assert.equal(fatal.responseHeaders["upstash-nonretryable-error"], "true");
  await ctx.waitForEnd(runId);
  await ctx.jumpClock(3_600_000);
  await wf.quiet(300);
  assert.equal(attempts, 1, "retries: 5 did not apply");
  assert.deepEqual(
    wf.calls.map((c) => c.status),
    [200, 489, 200],
  );
});

test("WorkflowRetryAfterError: 429 + Retry-After, retried after that delay (not the default backoff)", async () => {
  let attempts = 0;
  const done = deferred();
  const wf = ctx.serve(async (context) => {
    const v = await context.run("rate-limited", async () => {
      attempts += 1;
      if (attempts === 1) throw new WorkflowRetryAfterError("slow down", 300);
      return `ok after ${attempts}`;
    });
    await context.run("after", async () => done.resolve({ v, retried: context.retried }));
  });
  const runId = await ctx.trigger({ url: wf.url, body: "x" });
  const [first] = await wf.waitFor(1);
  assert.equal(first.status, 429);
  assert.equal(first.responseHeaders["retry-after"], "300");
  await ctx.retriesScheduled(wf.url, 1);
  // The default backoff (12 s) passes: still waiting.
  await ctx.jumpClock(60_000);
  await wf.quiet(400);
  assert.equal(wf.calls.length, 1);
  await ctx.jumpClock(241_000);
  const out = await done.wait();
  assert.equal(out.v, "ok after 2");
  assert.equal(wf.calls[1].headers["upstash-retried"], "1");
  await ctx.waitForEnd(runId);
});
