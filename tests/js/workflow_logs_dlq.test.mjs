// The workflow logs and DLQ through the real @upstash/workflow SDK against stashd:
// `client.logs()` (runs newest first, steps grouped), `client.dlq.list` (the failed runs with
// their workflow fields), `resume` (a new run keeping the steps that succeeded), `restart` (a new
// run from the initial payload), `retryFailureFunction` and `delete`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { deferred, useWorkflow, waitUntil } from "./workflow_harness.mjs";

const ctx = useWorkflow();

test("client.logs shows a finished run with its steps grouped, newest run first, filtered and paged", async () => {
  const wf = ctx.serve(async (context) => {
    const a = await context.run("first", async () => "A");
    const [b, c] = await Promise.all([context.run("left", async () => `${a}-L`), context.run("right", async () => `${a}-R`)]);
    return `${b}+${c}`;
  });
  const older = await ctx.trigger({ url: wf.url, body: { n: 1 }, label: "logs-test" });
  await ctx.waitForEnd(older);
  const newer = await ctx.trigger({ url: wf.url, body: { n: 2 }, label: "logs-test" });
  await ctx.waitForEnd(newer);
  const { runs } = await ctx.client.logs({ workflowRunId: older });
  assert.equal(runs.length, 1);
  const run = runs[0];
  assert.equal(run.workflowRunId, older);
  assert.equal(run.workflowUrl, wf.url);
  assert.equal(run.workflowState, "RUN_SUCCESS");
  assert.equal(JSON.parse(run.workflowRunResponse), "A-L+A-R");
  assert.equal(run.label, "logs-test");
  assert.ok(run.workflowRunCompletedAt >= run.workflowRunCreatedAt);
  assert.deepEqual(
    run.steps.map((g) => g.type),
    ["sequential", "sequential", "parallel"],
  );
  assert.equal(run.steps[0].steps[0].stepType, "Initial");
  assert.deepEqual(JSON.parse(run.steps[0].steps[0].out), { n: 1 });
  assert.equal(run.steps[1].steps[0].stepName, "first");
  assert.deepEqual(run.steps[2].steps.map((s) => s.stepName).sort(), ["left", "right"]);
  // Newest first, paged by a cursor; the last page has no cursor.
  const page1 = await ctx.client.logs({ filter: { label: "logs-test" }, count: 1 });
  assert.equal(page1.runs[0].workflowRunId, newer);
  assert.ok(page1.cursor);
  const page2 = await ctx.client.logs({ filter: { label: "logs-test" }, count: 1, cursor: page1.cursor });
  assert.equal(page2.runs[0].workflowRunId, older);
  assert.equal(page2.cursor, undefined, "no cursor on the last page");
  const failedOnly = await ctx.client.logs({ filter: { state: "RUN_FAILED", label: "logs-test" } });
  assert.equal(failedOnly.runs.length, 0);
});

/** A workflow whose second step fails while `fail.on` is true; counts its attempts per step. */
function flaky() {
  const fail = { on: true };
  const ran = [];
  const failure = deferred("the failure function");
  const wf = ctx.serve(
    async (context) => {
      const a = await context.run("ok", async () => {
        ran.push("ok");
        return "fine";
      });
      await context.run("flaky", async () => {
        ran.push("flaky");
        if (fail.on) throw new Error("not yet");
        return `${a}!`;
      });
      return "done";
    },
    { failureFunction: async ({ failStatus }) => failure.resolve({ failStatus }) },
  );
  return { wf, fail, ran, failure };
}

async function failedRun(f, body) {
  const runId = await ctx.trigger({ url: f.wf.url, body, retries: 0, label: "dlq-test" });
  await f.failure.wait();
  await ctx.waitForEnd(runId);
  const dlq = await waitUntil(
    async () => {
      const { messages } = await ctx.client.dlq.list({ filter: { workflowRunId: runId } });
      return messages.length ? messages : null;
    },
    { what: `the DLQ entry of ${runId}` },
  );
  return { runId, entry: dlq[0] };
}

test("dlq.list shows the failed run; resume keeps the steps that succeeded; logs show RUN_FAILED with its failure function", async () => {
  const f = flaky();
  const { runId, entry } = await failedRun(f, { order: 7 });
  assert.equal(entry.workflowRunId, runId);
  assert.equal(entry.workflowUrl, f.wf.url);
  assert.equal(typeof entry.workflowCreatedAt, "number");
  assert.equal(entry.responseStatus, 500);
  assert.ok(entry.dlqId);
  const { runs } = await ctx.client.logs({ workflowRunId: runId });
  assert.equal(runs[0].workflowState, "RUN_FAILED");
  assert.equal(runs[0].dlqId, entry.dlqId);
  await waitUntil(async () => (await ctx.client.logs({ workflowRunId: runId })).runs[0].failureFunction?.state === "CALLBACK_SUCCESS", {
    what: "the failure function's state",
  });
  assert.deepEqual(f.ran, ["ok", "flaky"]);
  f.fail.on = false;
  const resumed = await ctx.client.dlq.resume({ dlqId: entry.dlqId });
  assert.ok(resumed.workflowRunId && resumed.workflowRunId !== runId, "a new run");
  await ctx.waitForEnd(resumed.workflowRunId);
  assert.deepEqual(f.ran, ["ok", "flaky", "flaky"], "the step that succeeded is not run again");
  const after = await ctx.client.logs({ workflowRunId: resumed.workflowRunId });
  assert.equal(after.runs[0].workflowState, "RUN_SUCCESS");
  const { messages } = await ctx.client.dlq.list({ filter: { workflowRunId: runId } });
  assert.equal(messages.length, 0, "the resumed entry left the DLQ");
});

test("restart runs from the initial payload; retryFailureFunction calls the failure function again; delete removes entries", async () => {
  const f = flaky();
  const { entry } = await failedRun(f, { order: 8 });
  f.fail.on = false;
  const restarted = await ctx.client.dlq.restart({ dlqId: entry.dlqId });
  await ctx.waitForEnd(restarted.workflowRunId);
  assert.deepEqual(f.ran, ["ok", "flaky", "ok", "flaky"], "restart runs every step again");

  const g = flaky();
  const second = await failedRun(g, { order: 9 });
  const again = deferred("the failure function, called again");
  g.failure.resolve = (v) => again.resolve(v);
  await ctx.client.dlq.retryFailureFunction({ dlqId: second.entry.dlqId });
  assert.equal((await again.wait()).failStatus, 500);
  const del = await ctx.client.dlq.delete(second.entry.dlqId);
  assert.equal(del.deleted, 1);
  const { messages } = await ctx.client.dlq.list({ filter: { workflowRunId: second.runId } });
  assert.equal(messages.length, 0);
});
