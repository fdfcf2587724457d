// The platform's central use case through the real SDKs against one stashd: an agent run that
// plans, executes each planned step and reflects, with one progress event per step written to
// stashd's own Redis (a stream, through @upstash/redis) from inside the step — so replays of the
// route (every delivery re-runs it from the top) must not repeat any event. Plus the failure paths
// the issue lists beside it: a route that returns before any step, and a failureUrl reached after
// a non-retryable error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WorkflowNonRetryableError } from "@upstash/workflow";
import { sdkClient } from "./harness.mjs";
import { deferred, unique, useWorkflow } from "./workflow_harness.mjs";

const ctx = useWorkflow();

test("an agent run: plan, one step per planned item, reflect; one progress event per step, in order", async () => {
  const redis = sdkClient(ctx.s);
  const done = deferred("the agent's result");
  const wf = ctx.serve(async (context) => {
    const { goal } = context.requestPayload;
    const stream = `progress:${context.workflowRunId}`;
    const progress = (event) => redis.xadd(stream, "*", event);
    const plan = await context.run("plan", async () => {
      await progress({ step: "plan", goal });
      return ["research", "draft", "review"].map((task, i) => ({ i, task }));
    });
    const results = [];
    for (const item of plan) {
      results.push(
        await context.run(`do-${item.task}`, async () => {
          await progress({ step: item.task, n: String(item.i) });
          return `${item.task} of ${goal}`;
        }),
      );
    }
    const reflection = await context.run("reflect", async () => {
      await progress({ step: "reflect", count: String(results.length) });
      return { ok: results.length === plan.length, summary: results.join("; ") };
    });
    done.resolve({ runId: context.workflowRunId, reflection });
    return reflection;
  });
  const runId = await ctx.trigger({ url: wf.url, body: { goal: "a launch post" } });
  const r = await done.wait(15_000);
  await ctx.waitForEnd(runId);
  assert.equal(r.runId, runId);
  assert.deepEqual(r.reflection, { ok: true, summary: "research of a launch post; draft of a launch post; review of a launch post" });
  // 5 steps (plan, 3 tasks, reflect): 6 calls, and exactly one event per step despite the replays.
  assert.equal(wf.calls.length, 6);
  const events = await redis.xrange(`progress:${runId}`, "-", "+");
  assert.deepEqual(
    Object.values(events).map((e) => e.step),
    ["plan", "research", "draft", "review", "reflect"],
  );
  const { runs } = await ctx.client.logs({ workflowRunId: runId });
  assert.equal(runs[0].workflowState, "RUN_SUCCESS");
  assert.deepEqual(JSON.parse(runs[0].workflowRunResponse).ok, true);
});

test("a route that returns before any step: the run fails and its failure URL gets status 400", async () => {
  // (The SDK itself refuses to run a failureFunction for a route that never reaches a step — it
  // re-runs the route to authorize the failure call — so the failure goes to a failureUrl.)
  const sink = ctx.app.route(`/failure-url/${unique("early")}`);
  const wf = ctx.serve(async () => {
    // Returns without running a step (e.g. an early guard): the SDK answers 400.
  });
  const runId = await ctx.trigger({ url: wf.url, body: { early: true }, retries: 0, failureUrl: sink.url });
  const [hit] = await sink.waitFor(1);
  const body = JSON.parse(hit.body);
  assert.equal(body.status, 400);
  assert.match(Buffer.from(body.body, "base64").toString(), /Failed to authenticate Workflow request/);
  assert.deepEqual(JSON.parse(Buffer.from(body.sourceBody, "base64").toString()), { early: true });
  await ctx.waitForEnd(runId);
  const { runs } = await ctx.client.logs({ workflowRunId: runId });
  assert.equal(runs[0].workflowState, "RUN_FAILED");
});

test("failureUrl after a non-retryable error: one attempt, then the failure URL gets the run's initial payload", async () => {
  const sink = ctx.app.route(`/failure-url/${unique("f")}`);
  let attempts = 0;
  const wf = ctx.serve(async (context) => {
    await context.run("fatal", async () => {
      attempts += 1;
      throw new WorkflowNonRetryableError("cannot continue");
    });
  });
  const runId = await ctx.trigger({ url: wf.url, body: { item: 3 }, retries: 5, failureUrl: sink.url });
  const [hit] = await sink.waitFor(1);
  assert.equal(attempts, 1, "no retries after a non-retryable error");
  const body = JSON.parse(hit.body);
  assert.equal(body.status, 489);
  assert.equal(body.workflowRunId, runId);
  assert.deepEqual(JSON.parse(Buffer.from(body.sourceBody, "base64").toString()), { item: 3 });
  await ctx.waitForEnd(runId);
});
