// QSTASH_DEV=true against `stashd dev`: the workflow `Client` and `serve()` are made with no
// token, URL or signing keys at all; @upstash/qstash's dev mode finds `stashd dev` on
// QSTASH_DEV_PORT (GET /v2/keys with the development token) and uses it, and `serve()`'s
// dev-mode Receiver verifies every delivery with the development keys. createWebhook decodes
// the development token's UserID ("defaultUser").
//
// As in qstash_dev.test.mjs, downloading or spawning a dev server is blocked, so a failed health
// check fails the test instead of fetching anything.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { guardDevServerDownloads } from "./dev_guard.mjs";
import { startStashdDev } from "./qstash_harness.mjs";

const blocked = guardDevServerDownloads("workflow_dev.test.mjs");
const { Client, serve } = await import("@upstash/workflow");
const { deferred, startApp, waitUntil } = await import("./workflow_harness.mjs");

let dev;
let app;
before(async () => {
  for (const k of ["QSTASH_URL", "QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY", "QSTASH_REGION", "UPSTASH_WORKFLOW_URL", "NODE_ENV"]) {
    delete process.env[k];
  }
  dev = await startStashdDev();
  process.env.QSTASH_DEV = "true";
  process.env.QSTASH_DEV_PORT = String(dev.port);
  app = await startApp();
});
after(async () => {
  delete process.env.QSTASH_DEV;
  delete process.env.QSTASH_DEV_PORT;
  await app?.close();
  await dev?.stop();
});

test("QSTASH_DEV=true: Client and serve() without credentials run a workflow on `stashd dev`, signatures verified", async () => {
  const done = deferred();
  const eventId = `dev-ev-${Date.now()}`;
  const { handler } = serve(async (context) => {
    const a = await context.run("a", async () => `a:${context.requestPayload.n}`);
    const hook = await context.createWebhook("hook");
    const ev = await context.waitForEvent("wait", eventId, { timeout: "1h" });
    await context.run("end", async () => done.resolve({ a, hook, ev, header: context.headers.get("x-dev") }));
    return "dev done";
  });
  const wf = app.mount("/dev-wf", handler);
  const client = new Client();
  const { workflowRunId } = await client.trigger({ url: wf.url, body: { n: 1 }, headers: { "x-dev": "yes" } });
  await waitUntil(async () => (await client.getWaiters({ eventId })).length === 1, { what: "the waiter" });
  const res = await client.notify({ eventId, eventData: { from: "dev" } });
  assert.equal(res.length, 1);
  const out = await done.wait();
  assert.equal(out.a, "a:1");
  assert.equal(out.header, "yes");
  assert.deepEqual(out.ev, { eventData: { from: "dev" }, timeout: false });
  assert.ok(
    out.hook.webhookUrl.startsWith(`http://127.0.0.1:${dev.port}/v2/workflows/hooks/defaultUser/${workflowRunId}/`),
    out.hook.webhookUrl,
  );
  // Every call passed the dev-mode signature check (a failed check answers 500).
  await waitUntil(() => wf.calls.length >= 5 && wf.calls.every((c) => c.status !== undefined), { what: "all calls answered" });
  for (const c of wf.calls) {
    assert.equal(c.status, 200, `${c.status} ${c.responseBody}`);
    assert.ok(c.headers["upstash-signature"], "signed");
  }
  // ...and the check is on: an unsigned request is refused.
  const forged = await fetch(wf.url, {
    method: "POST",
    headers: { "upstash-workflow-runid": workflowRunId, "upstash-workflow-sdk-version": "1", "content-type": "application/json" },
    body: "[]",
  });
  assert.equal(forged.status, 500);
  assert.match(await forged.text(), /Failed to verify/);
  assert.deepEqual(await client.cancel(workflowRunId), { cancelled: 0 }, "the run has finished");
  assert.deepEqual(blocked, [], "no download or spawn was attempted");
});
